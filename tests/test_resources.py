"""Closing each test's loop: leftover tasks, threads, loops and descriptors.

Runs the real test classes of tests/cases/case_resources.py under Django's
runner and under pytest, on the backend this run uses.
"""

from tests.cases import case_resources as cases
from tests.harness import CaseModuleTests, uses

LEFTOVER_TESTS = [
    f"{cls}.{method}"
    for cls in ("LeftoverTests", "TransactionLeftoverTests")
    for method in ("test_leaves_a_task", "test_leaves_a_task_again")
]


class ResourcesTests(CaseModuleTests):
    module = cases

    def test_all_pass(self):
        for run in self.each_run():
            self.assert_all_passed(run, 7)

    def test_nothing_left_behind(self):
        for run in self.each_run():
            [before] = run.event_data("before")
            [after] = run.event_data("after")
            for key in ("threads", "open_loops", "epoll_fds"):
                self.assertEqual(after[key], before[key], (run.runner, key, run.output))
            self.assertEqual(after["open_loops"], 0)

    @uses(cases.LeftoverTests, cases.TransactionLeftoverTests)
    def test_leftover_task_is_cancelled_and_served_before_the_rollback(self):
        for run in self.each_run():
            for test in LEFTOVER_TESTS:
                [cancelled] = [e for e in run.event_data("cancelled") if e["test"] == test]
                in_transaction = test.startswith("LeftoverTests")
                self.assertEqual(cancelled["state"], ["MainThread", in_transaction], cancelled)
                self.assertEqual(cancelled["rows"], 2, cancelled)
                [done] = [e for e in run.event_data("task_cancelled") if e["test"] == test]
                self.assertIs(done["cancelled"], True, done)
                [rows] = [e for e in run.event_data("rows_after") if e["test"] == test]
                self.assertEqual(rows["rows"], 0, rows)
