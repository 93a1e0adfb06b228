"""Tasks on their way out when a test ends are not leftovers; a verdict never depends on timing.

The leftover-task guard cancels the application of an asgiref communicator
(its owner, whatever keeps it alive), waits for tasks that are being
cancelled (and for the children they cancel in turn), runs the garbage
collector once if a task nobody asked to stop is still pending (an owner freed
then stops its tasks), and only then reports what is still pending. Channels' documented
communicator patterns pass. The control: the same tests on Django's TestCase,
which has no such guard. The real test classes are in
tests/cases/case_stopping_tasks.py.
"""

import unittest

from tests.cases import case_stopping_tasks as cases
from tests.harness import CaseModuleTests

PASSING = [
    "test_task_cancels_its_children_on_the_way_out",
    "test_owner_freed_by_the_garbage_collector_stops_its_task",
    # A communicator's application belongs to the communicator, alive or not.
    "test_communicator_alive_at_the_end",
    "test_communicator_held_by_a_handled_exception",
]
CHANNELS = [
    "test_http_communicator_on_a_plain_consumer",
    "test_websocket_communicator_without_disconnect",
    "test_websocket_communicator_in_a_reference_cycle",
]


class StoppingTasksTests(CaseModuleTests):
    module = cases

    def assert_pass_on_both(self, methods):
        """Each of ``methods`` passes on our class and on Django's, under both runners."""
        for run in self.each_run():
            for cls in ("OursTests", "DjangoTests"):
                for method in methods:
                    test = f"{cls}.{method}"
                    self.assertEqual(run.outcome(test), "passed", run.why(test))

    def test_tasks_on_their_way_out_pass(self):
        self.assert_pass_on_both(PASSING)

    @unittest.skipIf(cases.channels_missing, "Channels is not installed")
    def test_channels_communicator_patterns_pass(self):
        self.assert_pass_on_both(CHANNELS)

    def test_a_task_nobody_stops_is_still_a_leftover(self):
        for run in self.each_run():
            test = "OursTests.test_a_child_nobody_stops_is_a_leftover"
            self.assertEqual(run.outcome(test), "failed", run.why(test))
            details = run.details(test)
            self.assertIn("LeftoverTasks", details)
            self.assertIn("nobody-stops-me", details)
            self.assertNotIn("name='stopped'", details)
            control = "DjangoTests.test_a_child_nobody_stops_is_a_leftover"
            self.assertEqual(run.outcome(control), "passed", run.why(control))
