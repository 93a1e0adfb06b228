"""The guards: the classic async-test bugs fail their test clearly and never damage the next.

Runs the buggy test classes of tests/cases/case_guards.py (and the interrupted
one of case_interrupt.py) under Django's runner and under pytest, on the
backend this run uses.
"""

from tests.cases import case_guards as cases
from tests.cases import case_interrupt
from tests.harness import RUNNERS, CaseModuleTests, CaseRunsTests, Cases, case_name, uses

# What a traceback of a failing test must not show.
MACHINERY = ("asgiref/", "concurrent/futures/", "django_async_testcase/", "/asyncio/")
# What Django prints when a test database cannot be dropped at the end of the run.
UNDROPPABLE = ("being accessed by other users", "Got an error destroying", "database is locked")


# The faulty tests whose next test (whichever the runner picks) must start clean.
FAULTY = [
    cases.TimeoutTests.test_a_hangs,
    cases.TimeoutTests.test_b_decorated,
    cases.TimeoutTests.test_d_budget_shared_with_teardown,
    cases.TimeoutTests.test_e_blocked_on_the_database_thread,
    cases.TimeoutInSetUpTests.test_never_runs,
    cases.FaultInAsyncSetUp.test_never,
    cases.FaultInAsyncTearDown.test_writes,
]


class GuardTests(CaseModuleTests):
    module = cases

    def assertFails(self, run, test, *fragments, error=False):
        """``test`` failed (or errored, under Django's runner) with all ``fragments`` shown."""
        outcome = run.outcome(test)
        expected = "error" if error and run.runner == "unittest" else "failed"
        self.assertEqual(outcome, expected, (run.runner, case_name(test), run.details(test)))
        details = run.details(test)
        for fragment in fragments:
            self.assertIn(fragment, details, (run.runner, case_name(test)))
        return details

    def assertPasses(self, run, test):
        self.assertEqual(
            run.outcome(test), "passed", (run.runner, case_name(test), run.details(test))
        )

    def assertNoRowsLeft(self, run, cls):
        counts = run.event_data("rows_after", of=cls)
        self.assertTrue(counts, (run.runner, case_name(cls)))
        for event in counts:
            self.assertEqual(set(event["counts"].values()), {0}, (run.runner, event))

    def test_run_completes_and_databases_drop(self):  # The whole module.
        for run in self.each_run():
            self.assertNotIn("[harness] killed", run.output)
            self.assertEqual(run.returncode, 1, run.output)
            for text in UNDROPPABLE:
                self.assertNotIn(text, run.output, run.runner)

    def test_every_test_starts_clean_whatever_ran_before(self):
        # The whole module, in each runner's own order: every database test
        # starts with no rows, and the log shows which test ran after each
        # faulty one (no class or method is named to come last).
        for run in self.each_run():
            starts = run.event_data("rows_before")
            self.assertGreater(len(starts), 20, run.output)
            for event in starts:
                self.assertEqual(set(event["counts"].values()), {0}, (run.runner, event))
            tests = [e["test"] for e in run.events]
            for faulty in map(case_name, FAULTY):
                last = len(tests) - 1 - tests[::-1].index(faulty)
                later = [e["test"] for e in run.events[last + 1 :] if e["event"] == "rows_before"]
                self.assertTrue(
                    later, f"under {run.runner} no database test ran after {faulty}: {tests}"
                )

    # Database access from other threads.

    @uses(cases.ForeignThreadTests)
    def test_foreign_thread_access_fails_the_test_naming_thread_and_alias(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.ForeignThreadTests.test_a_to_thread,
                "ForeignThreadDatabaseAccess",
                "'default' from the thread 'asyncio_0'",
                "allow_foreign_thread_db_access = True",
            )
            self.assertFails(
                run,
                cases.ForeignThreadTests.test_b_sync_to_async_not_thread_sensitive,
                "used the database 'other' from the thread",
            )
            details = self.assertFails(
                run,
                cases.ForeignThreadTests.test_c_thread_swallows_error,
                "from the thread 'my-worker'",
                "did not reach the test",
            )
            self.assertEqual(details.count("used the database"), 1, details)
            self.assertFails(run, cases.ForeignThreadTests.test_e_sync_test_thread, "'pool_0'")

    @uses(cases.ForeignThreadTests)
    def test_foreign_thread_error_is_reported_once(self):
        test = cases.ForeignThreadTests.test_a_to_thread
        for run in self.each_run():
            if run.runner == "unittest":
                failures = [r for r in run.records if r["test"] == case_name(test)]
                self.assertEqual(len(failures), 1, failures)
            details = run.details(test)
            self.assertNotIn("did not reach the test", details)
            # The traceback ends at the user's call, not in Django's backend.
            self.assertNotIn("dispatcher.py", details)
            self.assertIn("return Item.objects.create(name=name).pk", details)

    @uses(cases.ForeignThreadTests)
    def test_every_attempt_from_a_reused_thread_is_refused(self):
        test = cases.ForeignThreadTests.test_d_pool_retries
        for run in self.each_run():
            attempts = [e["error"] for e in run.event_data("pool attempt", of=test)]
            self.assertEqual(attempts, ["ForeignThreadDatabaseAccess"] * 2, run.runner)
            self.assertEqual(run.details(test).count("used the database"), 2)
            [errors] = run.event_data("thread errors")
            self.assertEqual(errors["errors"], ["ForeignThreadDatabaseAccess"])

    @uses(cases.ForeignThreadTests)
    def test_foreign_threads_wrote_nothing(self):
        for run in self.each_run():
            self.assertNoRowsLeft(run, cases.ForeignThreadTests)
            [clean] = run.event_data("clean", of=cases.ForeignThreadTests)
            self.assertEqual((clean["default"], clean["other"]), (0, 0), run.runner)
            self.assertIs(clean["pool_open"], False)
            self.assertPasses(run, cases.ForeignThreadTests.test_f_clean)

    @uses(cases.ForeignThreadAllowedTests, cases.TransactionForeignThreadTests)
    def test_opt_out_allows_access_and_closes_the_connection(self):
        for run in self.each_run():
            self.assertPasses(run, cases.ForeignThreadAllowedTests.test_a_read_from_pool)
            self.assertEqual(run.event_data("allowed read")[0]["count"], 0)
            for cls in (cases.ForeignThreadAllowedTests, cases.TransactionForeignThreadTests):
                self.assertPasses(run, f"{cls.__name__}.test_b_pool_connection_closed")
                [event] = run.event_data("pool open", of=cls)
                self.assertIs(event["open"], False, (run.runner, cls))
            self.assertPasses(run, cases.TransactionForeignThreadTests.test_a_write_from_pool)
            self.assertNoRowsLeft(run, cases.TransactionForeignThreadTests)

    # Leftover tasks.

    @uses(cases.LeftoverTaskTests)
    def test_pending_task_fails_the_test_with_its_name_and_coroutine(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.LeftoverTaskTests.test_a_pending,
                "LeftoverTasks",
                "name='sleeper'",
                "coro=<sleep_forever()",
                "allow_leftover_tasks = True",
            )

    @uses(cases.LeftoverTaskTests)
    def test_background_exception_fails_the_test(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.LeftoverTaskTests.test_b_background_raised,
                "Task exception was never retrieved",
                "name='boomer'",
                "ValueError: boom in background",
            )

    @uses(cases.LeftoverTaskTests)
    def test_task_that_ignores_cancellation_does_not_hang_the_run(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.LeftoverTaskTests.test_c_refuses_cancel,
                "name='stubborn'",
                "did not stop when cancelled",
            )

    @uses(cases.LeftoverTaskTests)
    def test_tasks_are_gone_before_the_next_test(self):
        for run in self.each_run():
            self.assertPasses(run, cases.LeftoverTaskTests.test_d_task_cancelled_but_not_awaited)
            self.assertPasses(run, cases.LeftoverTaskTests.test_e_clean)
            # Whatever ran before it in this class, its loop holds its own task only.
            [clean] = run.event_data("clean", of=cases.LeftoverTaskTests)
            self.assertEqual((clean["tasks"], clean["rows"]), (1, 0))
            self.assertNoRowsLeft(run, cases.LeftoverTaskTests)

    @uses(cases.LeftoverTaskDebugTests)
    def test_debug_mode_shows_where_the_task_was_created(self):
        for run in self.each_run():
            details = self.assertFails(
                run,
                cases.LeftoverTaskDebugTests.test_pending_created_here,
                "created at (most recent call last)",
                "in test_pending_created_here",
            )
            self.assertNotIn("never awaited", details)

    @uses(cases.LeftoverTaskAllowedTests)
    def test_leftover_opt_out(self):
        for run in self.each_run():
            self.assertPasses(run, cases.LeftoverTaskAllowedTests.test_pending_allowed)
        # Django's runner shows the log on stderr.
        self.assertIn("name='allowed-boomer'", self.runs["unittest"].output)

    # Timeouts.

    @uses(cases.TimeoutTests)
    def test_timeout_fails_with_the_stack_and_tear_down_still_runs(self):
        test = cases.TimeoutTests.test_a_hangs
        for run in self.each_run():
            self.assertFails(
                run,
                test,
                "AsyncTestTimeout",
                "timed out after 0.3 s (TimeoutTests.async_timeout = 0.3)",
                "in test_a_hangs",
                "in wait_for_ever",
                "await asyncio.Event().wait()",
            )
            self.assertEqual(
                run.events_of(test),
                ["rows_before", "asyncSetUp", "asyncTearDown", "tearDown", "rows_after"],
            )
            self.assertNoRowsLeft(run, cases.TimeoutTests)

    @uses(cases.TimeoutTests, cases.TimeoutFromSettingTests)
    def test_timeout_decorator_and_setting(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.TimeoutTests.test_b_decorated,
                "timed out after 0.1 s (@timeout(0.1) on the test method)",
            )
            self.assertPasses(run, cases.TimeoutTests.test_c_no_limit)
            self.assertFails(
                run,
                cases.TimeoutFromSettingTests.test_hangs,
                "timed out after 0.2 s (settings.ASYNC_TESTCASE_TIMEOUT = 0.2)",
                "in test_hangs",
            )

    @uses(cases.TimeoutTests)
    def test_blocking_sync_call_is_reported_when_it_returns(self):
        test = cases.TimeoutTests.test_e_blocked_on_the_database_thread
        for run in self.each_run():
            self.assertFails(run, test, "timed out after 0.1 s", "sync_to_async(time.sleep)")
            self.assertNotIn("after blocking call", run.events_of(test))

    @uses(cases.TimeoutTests, cases.TimeoutInSetUpTests)
    def test_budget_covers_hooks_and_cleanups(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.TimeoutTests.test_d_budget_shared_with_teardown,
                "timed out after 0.3 s",
            )
            test = cases.TimeoutInSetUpTests.test_never_runs
            self.assertFails(run, test, "timed out after 0.2 s", "in asyncSetUp")
            self.assertEqual(run.events_of(test), ["rows_before", "cleanup", "rows_after"])
            self.assertNoRowsLeft(run, cases.TimeoutInSetUpTests)

    # Forgotten awaits.

    @uses(cases.ForgottenAwaitTests)
    def test_returning_a_value_or_coroutine_fails(self):
        for run in self.each_run():
            self.assertFails(
                run, cases.ForgottenAwaitTests.test_returns_value, "returned 42", error=True
            )
            for test in (
                cases.ForgottenAwaitTests.test_returns_coroutine,
                cases.ForgottenAwaitTests.test_sync_returns_coroutine,
            ):
                self.assertFails(
                    run,
                    test,
                    "a test method must return None (was an await forgotten?)",
                    error=True,
                )

    @uses(cases.ForgottenAwaitTests, cases.ForgottenAwaitDebugTests)
    def test_never_awaited_coroutine_fails_with_and_without_debug_mode(self):
        for run in self.each_run():
            self.assertFails(
                run,
                cases.ForgottenAwaitDebugTests.test_not_awaited,
                "NeverAwaited",
                "coroutine 'sleep' was never awaited",
                "in test_not_awaited",
            )
            self.assertPasses(run, cases.ForgottenAwaitDebugTests.test_awaited)
            # Without debug mode too (the default since issue 13).
            self.assertFails(
                run,
                cases.ForgottenAwaitTests.test_not_awaited_without_debug,
                "NeverAwaited",
                "coroutine 'sleep' was never awaited",
                "in test_not_awaited_without_debug",
            )

    # Tracebacks.

    @uses(cases.TracebackTests)
    def test_tracebacks_show_the_test_and_not_the_machinery(self):
        for run in self.each_run():
            for test, frames in [
                (cases.TracebackTests.test_assert_in_test, ["test_assert_in_test"]),
                (
                    cases.TracebackTests.test_fails_in_sync_to_async,
                    ["test_fails_in_sync_to_async", "helper"],
                ),
                (
                    cases.TracebackTests.test_fails_in_child_task,
                    ["test_fails_in_child_task", "helper"],
                ),
                (cases.TracebackTests.test_fails_in_orm, ["test_fails_in_orm", "DoesNotExist"]),
            ]:
                error = test is cases.TracebackTests.test_fails_in_orm
                details = self.assertFails(run, test, *frames, error=error)
                for machinery in MACHINERY:
                    self.assertNotIn(machinery, details, (run.runner, case_name(test)))

    # Faults.

    @uses(cases.FaultInAsyncSetUp, cases.FaultInAsyncTearDown, cases.FaultInAsyncCleanup)
    def test_faults_in_async_hooks_are_reported_and_rolled_back(self):
        for run in self.each_run():
            test = cases.FaultInAsyncSetUp.test_never
            self.assertFails(run, test, "ValueError: error in asyncSetUp", error=True)
            self.assertEqual(run.events_of(test), ["rows_before", "rows_after"])
            self.assertFails(
                run,
                cases.FaultInAsyncTearDown.test_writes,
                "ValueError: error in asyncTearDown",
                error=True,
            )
            self.assertFails(
                run,
                cases.FaultInAsyncCleanup.test_writes,
                "ValueError: error in async cleanup",
                error=True,
            )
            for cls in (cases.FaultInAsyncSetUp, cases.FaultInAsyncTearDown):
                self.assertNoRowsLeft(run, cls)
            self.assertNoRowsLeft(run, cases.FaultInAsyncCleanup)


class InterruptTests(CaseRunsTests):
    """KeyboardInterrupt stops the run as unittest and pytest do, after the rollback."""

    @classmethod
    def case_runs(cls):
        return {
            (where, runner): Cases.of(
                case_interrupt, runner, env={"INTERRUPT_WHERE": where}, timeout=120
            )
            for where in ("loop", "db", "signal")
            for runner in RUNNERS
        }

    def test_interrupt_stops_the_run_after_rolling_back(self):
        for (where, _), run in self.runs.items():
            label = (where, run.runner)
            self.assertNotIn("[harness] killed", run.output, label)
            self.assertEqual(
                [e["where"] for e in run.event_data("interrupting")], [where], (label, run.output)
            )
            # The other test comes later in both runners' order (this checks it),
            # so that "nothing ran after the interrupt" means something.
            self.assertEqual(run.event_data("ran before the interrupt"), [], label)
            [rows] = run.event_data("rows_after")
            self.assertEqual(rows["counts"], {"default": 0}, label)
            self.assertEqual(run.event_data("ran after the interrupt"), [], label)
            for text in UNDROPPABLE:
                self.assertNotIn(text, run.output, label)
            if where == "signal" and run.runner == "unittest":
                # Django's runner lets the test finish, then stops (unittest's -c).
                self.assertTrue(run.event_data("not interrupted"), label)
                continue
            self.assertIn("KeyboardInterrupt", run.output, label)
            self.assertNotEqual(run.returncode, 0, label)
            self.assertEqual(run.event_data("not interrupted"), [], label)
