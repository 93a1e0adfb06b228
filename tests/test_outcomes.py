"""Async tests report every outcome exactly as the same tests written sync do.

Runs the real test classes of tests/cases/case_outcomes.py (and
case_failfast.py) under Django's runner and under pytest.
"""

from tests.cases import case_failfast
from tests.cases import case_outcomes as cases
from tests.harness import CaseModuleTests, CaseRunsTests, Cases, case_name, uses

METHODS = [
    "test_pass",
    "test_fail",
    "test_error",
    "test_skip_inside",
    "test_skip_decorator",
    "test_expected_failure",
    "test_unexpected_success",
    "test_subtests",
]

# What each runner reports for SyncOutcomes, and so must for AsyncOutcomes.
# pytest reports errors of unittest classes as failures, and an unexpected
# success as a failure; the test with failing subtests has no record of its own
# under Django's runner, and is "passed" beside its failed subtests under pytest 9.
EXPECTED = {
    "unittest": {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_error": "error",
        "test_skip_inside": "skipped",
        "test_skip_decorator": "skipped",
        "test_expected_failure": "xfail",
        "test_unexpected_success": "xpass",
        "test_subtests": None,
    },
    "pytest": {
        "test_pass": "passed",
        "test_fail": "failed",
        "test_error": "failed",
        "test_skip_inside": "skipped",
        "test_skip_decorator": "skipped",
        "test_expected_failure": "xfail",
        "test_unexpected_success": "failed",
        "test_subtests": "passed",
    },
}

# Paths that must not appear in the traceback of a failing async test.
LIBRARY_FRAMES = ("django_async_testcase", "asgiref", "concurrent/futures", "asyncio/")


def own_records(run, test):
    """(outcome, subtest) of each record of ``test``, in order."""
    return [(r["outcome"], r["subtest"]) for r in run.records if r["test"] == test]


def error_outcome(runner):
    return "error" if runner == "unittest" else "failed"


class OutcomesTests(CaseModuleTests):
    module = cases

    def test_run_fails(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 1, run.output)

    @uses(cases.SyncOutcomes)
    def test_sync_outcomes_are_the_expected_ones(self):
        for run in self.each_run():
            for method, expected in EXPECTED[run.runner].items():
                with self.subTest(runner=run.runner, method=method):
                    records = [
                        r["outcome"]
                        for r in run.records
                        if r["test"] == f"SyncOutcomes.{method}" and not r["subtest"]
                    ]
                    self.assertEqual(records, [expected] if expected else [], run.output)

    @uses(cases.SyncOutcomes, cases.AsyncOutcomes)
    def test_async_outcomes_are_the_sync_ones(self):
        for run in self.each_run():
            for method in METHODS:
                with self.subTest(runner=run.runner, method=method):
                    self.assertEqual(
                        own_records(run, f"AsyncOutcomes.{method}"),
                        own_records(run, f"SyncOutcomes.{method}"),
                    )

    @uses(cases.SyncOutcomes, cases.AsyncOutcomes)
    def test_failing_subtests_reported_one_by_one(self):
        for run in self.each_run():
            for cls in ("SyncOutcomes", "AsyncOutcomes"):
                subtests = run.subtests(f"{cls}.test_subtests")
                self.assertEqual([r["outcome"] for r in subtests], ["failed", "failed"], run.output)
                self.assertIn("odd i=1", subtests[0]["details"])
                self.assertIn("odd i=3", subtests[1]["details"])

    @uses(cases.SyncOutcomes, cases.AsyncOutcomes)
    def test_skip_reasons(self):
        for run in self.each_run():
            for cls in ("SyncOutcomes", "AsyncOutcomes"):
                self.assertIn("skipped inside", run.details(f"{cls}.test_skip_inside"))
                self.assertIn("skipped by decorator", run.details(f"{cls}.test_skip_decorator"))

    @uses(cases.SkipInAsyncSetUp)
    def test_skip_in_async_set_up(self):
        for run in self.each_run():
            test = cases.SkipInAsyncSetUp.test_never
            self.assertEqual(run.outcome(test), "skipped")
            self.assertIn("skipped in asyncSetUp", run.details(test))

    @uses(cases.SkippedClass)
    def test_skipped_class(self):
        for run in self.each_run():
            test = cases.SkippedClass.test_never
            self.assertEqual(run.outcome(test), "skipped")
            self.assertIn("whole class skipped", run.details(test))

    @uses(cases.AsyncOutcomes)
    def test_async_failure_traceback_shows_only_test_code(self):
        for run in self.each_run():
            for method, message in (
                ("test_fail", "AssertionError: 1 != 2"),
                ("test_error", "ValueError: error in test"),
            ):
                details = run.details(f"AsyncOutcomes.{method}")
                self.assertIn(message, details)
                self.assertIn("case_outcomes.py", details)
                for frame in LIBRARY_FRAMES:
                    self.assertNotIn(frame, details, (run.runner, method))

    @uses(cases.FailingAsyncSetUp, cases.FailingAsyncTearDown, cases.FailingAsyncCleanup)
    def test_errors_in_async_hooks_are_errors_of_the_test(self):
        for run in self.each_run():
            for test, message in (
                (cases.FailingAsyncSetUp.test_never, "ValueError: error in asyncSetUp"),
                (
                    cases.FailingAsyncTearDown.test_passes_then_teardown_fails,
                    "ValueError: error in asyncTearDown",
                ),
                (
                    cases.FailingAsyncCleanup.test_cleanup_fails,
                    "ValueError: error in async cleanup",
                ),
            ):
                with self.subTest(runner=run.runner, test=case_name(test)):
                    self.assertEqual(run.outcome(test), error_outcome(run.runner))
                    details = run.details(test)
                    self.assertIn(message, details)
                    self.assertNotIn("never runs", details)
                    for frame in LIBRARY_FRAMES:
                        self.assertNotIn(frame, details)

    @uses(cases.AsyncOutcomes, cases.DjangoExpectedFailures)
    def test_expected_failure_right_where_djangos_own_path_is_wrong(self):
        for run in self.each_run():
            # Ours: as a sync test (see EXPECTED).
            self.assertEqual(run.outcome(cases.AsyncOutcomes.test_expected_failure), "xfail")
            unexpected = run.outcome(cases.AsyncOutcomes.test_unexpected_success)
            self.assertEqual(unexpected, EXPECTED[run.runner]["test_unexpected_success"])
            if run.runner == "pytest":
                self.assertIn(
                    "Unexpected success", run.details("AsyncOutcomes.test_unexpected_success")
                )
            # Control: async_to_sync hides the decorator's attribute from unittest,
            # so the expected failure fails and the unexpected success passes.
            control = cases.DjangoExpectedFailures
            self.assertEqual(run.outcome(control.test_expected_failure), "failed")
            self.assertEqual(run.outcome(control.test_unexpected_success), "passed")


class FailfastTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        return {
            "unittest": Cases.of(case_failfast, "unittest", "--failfast"),
            "pytest": Cases.of(case_failfast, "pytest", "-x"),
        }

    def test_stops_after_first_failing_async_test(self):
        # The order is the runners' (method names sorted): checked exactly.
        for run in self.runs.values():
            with self.subTest(runner=run.runner):
                self.assertEqual(run.returncode, 1, run.output)
                self.assertEqual(
                    [(r["test"], r["outcome"]) for r in run.records],
                    [("FailFast.test_1_passes", "passed"), ("FailFast.test_2_fails", "failed")],
                    run.output,
                )
                self.assertEqual(
                    [e["test"] for e in run.events],
                    ["FailFast.test_1_passes", "FailFast.test_2_fails"],
                )
                self.assertIn("the first failure", run.details("FailFast.test_2_fails"))
