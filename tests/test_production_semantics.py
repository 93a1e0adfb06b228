"""Async code in a test behaves as in production and as in Django's own TestCase.

Views behind self.async_client (with and without a sync-only middleware),
AsyncRequestFactory and httpx's ASGITransport run on the test's event loop;
the loop keeps running while sync code runs; cancellation reaches the view;
nested async_to_sync and async signal receivers of a sync send() run on the
test's loop. Every check also runs on django.test.TestCase as the control.
The guards see what views do whatever the middleware, and asyncio's debug mode
reports only the user's slow code. The real test classes are in
tests/cases/case_production_semantics.py.
"""

import django

from tests.cases import case_production_semantics as cases
from tests.harness import CaseModuleTests, uses

SEMANTICS = [
    "test_view_runs_on_the_test_loop",
    "test_view_shares_an_event_with_the_test",
    "test_cancellation_reaches_the_view",
    "test_view_writes_in_the_test_transaction",
    "test_views_background_task_uses_the_orm_after_the_response",
    "test_request_factory_view_runs_on_the_test_loop",
    "test_asgi_app_through_httpx_runs_on_the_test_loop",
    "test_loop_runs_while_sync_code_waits_for_a_task",
    "test_timers_run_during_a_sync_call",
    "test_nested_async_to_sync_runs_on_the_test_loop",
    "test_async_receiver_of_a_sync_send_runs_on_the_test_loop",
]
OURS = [cases.OursTests, cases.OursSyncMiddlewareTests, cases.OursTransactionSyncMiddlewareTests]
CONTROLS = [cases.DjangoTests, cases.DjangoSyncMiddlewareTests]
SKIPPED = (
    {"test_async_receiver_of_a_sync_send_runs_on_the_test_loop"}
    if django.VERSION < (5, 0)
    else set()
)
GUARDED = [cases.GuardedTests, cases.GuardedSyncMiddlewareTests]


class ProductionSemanticsTests(CaseModuleTests):
    module = cases

    def assert_semantics(self, classes):
        for run in self.each_run():
            for cls in classes:
                for method in SEMANTICS:
                    test = f"{cls.__name__}.{method}"
                    expected = "skipped" if method in SKIPPED else "passed"
                    self.assertEqual(run.outcome(test), expected, run.why(test))

    @uses(*CONTROLS)
    def test_controls_pass_on_djangos_testcase(self):
        self.assert_semantics(CONTROLS)

    @uses(*OURS)
    def test_the_same_checks_pass_on_our_classes(self):
        self.assert_semantics(OURS)

    @uses(*OURS, *CONTROLS)
    def test_cancellation_is_prompt(self):
        for run in self.each_run():
            for event in run.event_data("cancelled"):
                self.assertLess(event["elapsed"], 1.5, event)

    @uses(*GUARDED)
    def test_a_timeout_fires_while_a_view_behind_any_middleware_waits(self):
        for run in self.each_run():
            for cls in GUARDED:
                test = f"{cls.__name__}.test_a_timeout_fires_while_a_view_waits"
                self.assertEqual(run.outcome(test), "failed", run.why(test))
                details = run.details(test)
                self.assertIn("AsyncTestTimeout: The test timed out after 0.5 s", details)
                self.assertIn("@timeout(0.5) on the test method", details)

    @uses(*GUARDED)
    def test_a_views_leftover_task_fails_the_test_behind_any_middleware(self):
        for run in self.each_run():
            for cls in GUARDED:
                test = f"{cls.__name__}.test_a_views_leftover_task_fails_the_test"
                self.assertEqual(run.outcome(test), "failed", run.why(test))
                self.assertIn("LeftoverTasks: Tasks were still pending", run.details(test))
                self.assertIn("view-leftover", run.details(test))

    @uses(*GUARDED)
    def test_a_views_foreign_thread_access_fails_the_test_behind_any_middleware(self):
        for run in self.each_run():
            for cls in GUARDED:
                test = f"{cls.__name__}.test_a_views_foreign_thread_access_fails_the_test"
                self.assertIn(run.outcome(test), ("failed", "error"), run.why(test))
                self.assertIn("ForeignThreadDatabaseAccess", run.details(test))

    @uses(*GUARDED)
    def test_failing_tests_leave_nothing_behind(self):
        for run in self.each_run():
            after = [e for e in run.event_data("rows_after") if e["test"].startswith("Guarded")]
            self.assertEqual(len(after), 3 * len(GUARDED), run.output)
            for event in after:
                self.assertEqual(event["rows"], 0, event)

    @uses(cases.DebugModeTests)
    def test_debug_mode_reports_only_the_users_slow_code(self):
        for run in self.each_run():
            for test in (
                "DebugModeTests.test_slow_sync_calls_are_not_reported",
                "DebugModeTests.test_slow_user_code_is_reported",
            ):
                self.assertEqual(run.outcome(test), "passed", run.why(test))

    @uses(cases.HungSyncCallTests)
    def test_a_hung_sync_call_fails_its_test_within_budget_and_grace(self):
        for run in self.each_run():
            test = "HungSyncCallTests.test_hung_sync_call"
            # One failure, the timeout's, which says what became of the call.
            found = [r for r in run.records if r["test"] == test and not r["subtest"]]
            self.assertEqual(len(found), 1, (run.runner, found))
            self.assertIn(run.outcome(test), ("failed", "error"), run.why(test))
            details = run.details(test)
            self.assertIn("The test timed out after 0.3 s", details)
            self.assertIn("was still running 1 s later; it was left to finish", details)
            other = "HungSyncCallTests.test_loop_run_inside_sync_code_is_refused"
            self.assertEqual(run.outcome(other), "passed", run.why(other))
            started = run.event_data("started")
            finished = run.event_data("finished")
            if started and finished and finished[0]["at"] > started[0]["at"]:
                # The timeout (0.3 s) and the grace for the call (1 s), not the call's 2.5 s.
                self.assertLess(finished[0]["at"] - started[0]["at"], 2.3)
            rows = [e["rows"] for e in run.event_data("rows_after") if "HungSync" in e["test"]]
            self.assertEqual(rows, [0, 0], run.output)
