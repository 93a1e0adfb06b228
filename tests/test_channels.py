"""Channels' communicators and database_sync_to_async inside AsyncTestCase.

Runs tests/cases/case_channels.py under Django's runner and pytest. Skipped
when Channels is not installed (it is an optional dependency).
"""

import unittest

from tests.cases import case_channels as cases
from tests.harness import CaseModuleTests, uses

try:
    import channels
except ImportError:
    channels = None

TESTS = [
    "test_application_communicator",
    "test_close_old_connections",
    "test_database_sync_to_async_directly",
    "test_django_asgi_handler",
    "test_websocket_communicator",
]


class EmptyContextTaskTests(CaseModuleTests):
    """Without Channels: a task created in an empty context still uses the test's connection."""

    module = cases

    @uses(cases.EmptyContextTaskTests)
    def test_task_in_empty_context_uses_test_connection(self):
        for run in self.each_run():
            test = cases.EmptyContextTaskTests.test_task_in_empty_context
            self.assertEqual(run.outcome(test), "passed", run.why(test))
            [event] = run.event_data("empty context")
            self.assertEqual(event["count"], 1, event)
            self.assertIs(event["same_connection"], True, event)
            # A task factory set by the class's loop_factory still runs.
            self.assertIs(event["factory_called"], True, event)


@unittest.skipIf(channels is None, "Channels is not installed")
class ChannelsTests(CaseModuleTests):
    module = cases

    # The whole module.
    def test_all_pass(self):
        for run in self.each_run():
            for cls in ("ChannelsTests", "TransactionChannelsTests"):
                for method in TESTS:
                    test = f"{cls}.{method}"
                    self.assertEqual(run.outcome(test), "passed", run.why(test))
            self.assertEqual(run.returncode, 0, run.output)
            self.assertNotIn("being accessed by other users", run.output)

    @uses(cases.ChannelsTests, cases.TransactionChannelsTests)
    def test_consumer_and_application_see_the_test_rows(self):
        for run in self.each_run():
            websocket = {e["test"]: e for e in run.event_data("websocket")}
            event = websocket["ChannelsTests.test_websocket_communicator"]
            self.assertEqual(
                (event["first"], event["second"]), (["class", "setUp"], ["class", "sent", "setUp"])
            )
            event = websocket["TransactionChannelsTests.test_websocket_communicator"]
            self.assertEqual((event["first"], event["second"]), (["setUp"], ["sent", "setUp"]))
            # The application runs in an empty context (asgiref's communicator)
            # yet its database_sync_to_async calls use the test's connection.
            counts = {e["test"].split(".")[0]: e["count"] for e in run.event_data("app count")}
            self.assertEqual(counts, {"ChannelsTests": 3, "TransactionChannelsTests": 2})
            asgi = {e["test"].split(".")[0]: e for e in run.event_data("asgi")}
            self.assertEqual(asgi["ChannelsTests"]["body"], '{"items": ["class", "setUp"]}')

    @uses(cases.ChannelsTests, cases.TransactionChannelsTests)
    def test_close_old_connections_keeps_the_test_connection(self):
        for run in self.each_run():
            states = [e for e in run.event_data("connection")]
            self.assertEqual(len(states), 5, run.output)
            for event in states:
                self.assertTrue(event["same"], event)
                self.assertEqual(event["state"]["closed_in_transaction"], False, event)

    @uses(cases.ChannelsTests, cases.TransactionChannelsTests)
    def test_no_rows_or_connections_left(self):
        for run in self.each_run():
            ends = {e["cls"]: e for e in run.event_data("class end")}
            self.assertEqual(set(ends), {"ChannelsTests", "TransactionChannelsTests"})
            for event in ends.values():
                self.assertEqual(event["rows"], 0, event)
                self.assertIn(event["other_sessions"], (None, 0), event)
                self.assertIs(event["guard_left"], False, event)
            for event in run.event_data("rows_after"):
                expected = 1 if event["test"].startswith("ChannelsTests") else 0
                self.assertEqual(event["count"], expected, event)
