"""The guards: the classic async-test bugs fail their test clearly and never damage the next.

Runs the buggy test classes of tests/cases/case_guards.py (and the interrupted
one of case_interrupt.py) under Django's runner and under pytest, on the
backend this run uses.
"""

from django.test import SimpleTestCase

from tests.harness import RUNNERS, CaseModuleTests, finish, start_cases

# What a traceback of a failing test must not show.
MACHINERY = ("asgiref/", "concurrent/futures/", "django_async_testcase/", "/asyncio/")
# What Django prints when a test database cannot be dropped at the end of the run.
UNDROPPABLE = ("being accessed by other users", "Got an error destroying", "database is locked")


class GuardTests(CaseModuleTests):
    module = "tests.cases.case_guards"

    def assertFails(self, run, test, *fragments, error=False):
        """``test`` failed (or errored, under Django's runner) with all ``fragments`` shown."""
        outcome = run.outcome(test)
        expected = "error" if error and run.runner == "unittest" else "failed"
        self.assertEqual(outcome, expected, (run.runner, test, run.details(test)))
        details = run.details(test)
        for fragment in fragments:
            self.assertIn(fragment, details, (run.runner, test))
        return details

    def assertPasses(self, run, test):
        self.assertEqual(run.outcome(test), "passed", (run.runner, test, run.details(test)))

    def assertNoRowsLeft(self, run, cls):
        counts = [e for e in run.event_data("rows_after") if e["test"].startswith(cls + ".")]
        self.assertTrue(counts, (run.runner, cls))
        for event in counts:
            self.assertEqual(set(event["counts"].values()), {0}, (run.runner, event))

    def test_run_completes_and_databases_drop(self):
        for run in self.each_run():
            self.assertNotIn("[harness] killed", run.output)
            self.assertEqual(run.returncode, 1, run.output)
            for text in UNDROPPABLE:
                self.assertNotIn(text, run.output, run.runner)

    # Database access from other threads.

    def test_foreign_thread_access_fails_the_test_naming_thread_and_alias(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "ForeignThreadTests.test_a_to_thread",
                "ForeignThreadDatabaseAccess",
                "'default' from the thread 'asyncio_0'",
                "allow_foreign_thread_db_access = True",
            )
            self.assertFails(
                run,
                "ForeignThreadTests.test_b_sync_to_async_not_thread_sensitive",
                "used the database 'other' from the thread",
            )
            details = self.assertFails(
                run,
                "ForeignThreadTests.test_c_thread_swallows_error",
                "from the thread 'my-worker'",
                "did not reach the test",
            )
            self.assertEqual(details.count("used the database"), 1, details)
            self.assertFails(run, "ForeignThreadTests.test_e_sync_test_thread", "'pool_0'")

    def test_foreign_thread_error_is_reported_once(self):
        for run in self.each_run():
            if run.runner == "unittest":
                failures = [
                    r for r in run.records if r["test"] == "ForeignThreadTests.test_a_to_thread"
                ]
                self.assertEqual(len(failures), 1, failures)
            details = run.details("ForeignThreadTests.test_a_to_thread")
            self.assertNotIn("did not reach the test", details)
            # The traceback ends at the user's call, not in Django's backend.
            self.assertNotIn("dispatcher.py", details)
            self.assertIn("return Item.objects.create(name=name).pk", details)

    def test_every_attempt_from_a_reused_thread_is_refused(self):
        for run in self.each_run():
            attempts = [
                e["error"]
                for e in run.event_data("pool attempt")
                if e["test"] == "ForeignThreadTests.test_d_pool_retries"
            ]
            self.assertEqual(attempts, ["ForeignThreadDatabaseAccess"] * 2, run.runner)
            self.assertEqual(
                run.details("ForeignThreadTests.test_d_pool_retries").count("used the database"),
                2,
            )
            [errors] = run.event_data("thread errors")
            self.assertEqual(errors["errors"], ["ForeignThreadDatabaseAccess"])

    def test_foreign_threads_wrote_nothing(self):
        for run in self.each_run():
            self.assertNoRowsLeft(run, "ForeignThreadTests")
            [clean] = [e for e in run.event_data("clean") if e["test"].startswith("ForeignThread")]
            self.assertEqual((clean["default"], clean["other"]), (0, 0), run.runner)
            self.assertIs(clean["pool_open"], False)
            self.assertPasses(run, "ForeignThreadTests.test_f_clean")

    def test_opt_out_allows_access_and_closes_the_connection(self):
        for run in self.each_run():
            self.assertPasses(run, "ForeignThreadAllowedTests.test_a_read_from_pool")
            self.assertEqual(run.event_data("allowed read")[0]["count"], 0)
            for cls in ("ForeignThreadAllowedTests", "TransactionForeignThreadTests"):
                self.assertPasses(run, f"{cls}.test_b_pool_connection_closed")
                [event] = [e for e in run.event_data("pool open") if e["test"].startswith(cls)]
                self.assertIs(event["open"], False, (run.runner, cls))
            self.assertPasses(run, "TransactionForeignThreadTests.test_a_write_from_pool")
            self.assertNoRowsLeft(run, "TransactionForeignThreadTests")

    # Leftover tasks.

    def test_pending_task_fails_the_test_with_its_name_and_coroutine(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "LeftoverTaskTests.test_a_pending",
                "LeftoverTasks",
                "name='sleeper'",
                "coro=<sleep_forever()",
                "allow_leftover_tasks = True",
            )

    def test_background_exception_fails_the_test(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "LeftoverTaskTests.test_b_background_raised",
                "Task exception was never retrieved",
                "name='boomer'",
                "ValueError: boom in background",
            )

    def test_task_that_ignores_cancellation_does_not_hang_the_run(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "LeftoverTaskTests.test_c_refuses_cancel",
                "name='stubborn'",
                "did not stop when cancelled",
            )

    def test_tasks_are_gone_before_the_next_test(self):
        for run in self.each_run():
            self.assertPasses(run, "LeftoverTaskTests.test_d_task_cancelled_but_not_awaited")
            self.assertPasses(run, "LeftoverTaskTests.test_e_clean")
            [clean] = [e for e in run.event_data("clean") if e["test"].startswith("LeftoverTask")]
            self.assertEqual((clean["tasks"], clean["rows"]), (1, 0))
            self.assertNoRowsLeft(run, "LeftoverTaskTests")

    def test_debug_mode_shows_where_the_task_was_created(self):
        for run in self.each_run():
            details = self.assertFails(
                run,
                "LeftoverTaskDebugTests.test_pending_created_here",
                "created at (most recent call last)",
                "in test_pending_created_here",
            )
            self.assertNotIn("never awaited", details)

    def test_leftover_opt_out(self):
        for run in self.each_run():
            self.assertPasses(run, "LeftoverTaskAllowedTests.test_pending_allowed")
        # Django's runner shows the log on stderr.
        self.assertIn("name='allowed-boomer'", self.runs["unittest"].output)

    # Timeouts.

    def test_timeout_fails_with_the_stack_and_tear_down_still_runs(self):
        for run in self.each_run():
            test = "TimeoutTests.test_a_hangs"
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
                run.events_of(test), ["asyncSetUp", "asyncTearDown", "tearDown", "rows_after"]
            )
            self.assertNoRowsLeft(run, "TimeoutTests")

    def test_timeout_decorator_and_setting(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "TimeoutTests.test_b_decorated",
                "timed out after 0.1 s (@timeout(0.1) on the test method)",
            )
            self.assertPasses(run, "TimeoutTests.test_c_no_limit")
            self.assertFails(
                run,
                "TimeoutFromSettingTests.test_hangs",
                "timed out after 0.2 s (settings.ASYNC_TESTCASE_TIMEOUT = 0.2)",
                "in test_hangs",
            )

    def test_blocking_sync_call_is_reported_when_it_returns(self):
        for run in self.each_run():
            test = "TimeoutTests.test_e_blocked_on_the_database_thread"
            self.assertFails(run, test, "timed out after 0.1 s", "sync_to_async(time.sleep)")
            self.assertNotIn("after blocking call", run.events_of(test))

    def test_budget_covers_hooks_and_cleanups(self):
        for run in self.each_run():
            self.assertFails(
                run, "TimeoutTests.test_d_budget_shared_with_teardown", "timed out after 0.3 s"
            )
            test = "TimeoutInSetUpTests.test_never_runs"
            self.assertFails(run, test, "timed out after 0.2 s", "in asyncSetUp")
            self.assertEqual(run.events_of(test), ["cleanup", "rows_after"])
            self.assertPasses(run, "TimeoutZClean.test_clean")
            [clean] = [e for e in run.event_data("clean") if e["test"].startswith("TimeoutZ")]
            self.assertEqual(clean["rows"], 0)

    # Forgotten awaits.

    def test_returning_a_value_or_coroutine_fails(self):
        for run in self.each_run():
            self.assertFails(
                run, "ForgottenAwaitTests.test_returns_value", "returned 42", error=True
            )
            for test in ("test_returns_coroutine", "test_sync_returns_coroutine"):
                self.assertFails(
                    run,
                    f"ForgottenAwaitTests.{test}",
                    "a test method must return None (was an await forgotten?)",
                    error=True,
                )

    def test_never_awaited_coroutine_fails_with_and_without_debug_mode(self):
        for run in self.each_run():
            self.assertFails(
                run,
                "ForgottenAwaitDebugTests.test_not_awaited",
                "NeverAwaited",
                "coroutine 'sleep' was never awaited",
                "in test_not_awaited",
            )
            self.assertPasses(run, "ForgottenAwaitDebugTests.test_awaited")
            # Without debug mode too (the default since issue 13).
            self.assertFails(
                run,
                "ForgottenAwaitTests.test_not_awaited_without_debug",
                "NeverAwaited",
                "coroutine 'sleep' was never awaited",
                "in test_not_awaited_without_debug",
            )

    # Tracebacks.

    def test_tracebacks_show_the_test_and_not_the_machinery(self):
        for run in self.each_run():
            for test, frames in [
                ("test_assert_in_test", ["test_assert_in_test"]),
                ("test_fails_in_sync_to_async", ["test_fails_in_sync_to_async", "helper"]),
                ("test_fails_in_child_task", ["test_fails_in_child_task", "helper"]),
                ("test_fails_in_orm", ["test_fails_in_orm", "DoesNotExist"]),
            ]:
                details = self.assertFails(
                    run, f"TracebackTests.{test}", *frames, error=test == "test_fails_in_orm"
                )
                for machinery in MACHINERY:
                    self.assertNotIn(machinery, details, (run.runner, test))

    # Faults.

    def test_faults_in_async_hooks_are_reported_and_rolled_back(self):
        for run in self.each_run():
            self.assertFails(
                run, "FaultInAsyncSetUp.test_never", "ValueError: error in asyncSetUp", error=True
            )
            self.assertEqual(run.events_of("FaultInAsyncSetUp.test_never"), ["rows_after"])
            self.assertFails(
                run,
                "FaultInAsyncTearDown.test_writes",
                "ValueError: error in asyncTearDown",
                error=True,
            )
            self.assertFails(
                run,
                "FaultInAsyncCleanup.test_writes",
                "ValueError: error in async cleanup",
                error=True,
            )
            for cls in ("FaultInAsyncSetUp", "FaultInAsyncTearDown", "FaultInAsyncCleanup"):
                self.assertNoRowsLeft(run, cls)
            self.assertPasses(run, "FaultZClean.test_clean")


class InterruptTests(SimpleTestCase):
    """KeyboardInterrupt stops the run as unittest and pytest do, after the rollback."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        started = [
            (
                where,
                start_cases("tests.cases.case_interrupt", runner, env={"INTERRUPT_WHERE": where}),
            )
            for where in ("loop", "db", "signal")
            for runner in RUNNERS
        ]
        cls.runs = [(where, finish(s, timeout=120)) for where, s in started]

    def test_interrupt_stops_the_run_after_rolling_back(self):
        for where, run in self.runs:
            label = (where, run.runner)
            self.assertNotIn("[harness] killed", run.output, label)
            self.assertEqual(
                [e["where"] for e in run.event_data("interrupting")], [where], (label, run.output)
            )
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
