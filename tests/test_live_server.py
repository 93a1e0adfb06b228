"""AsyncLiveServerTestCase: async tests and hooks talk to the live server over HTTP.

Runs tests/cases/case_live_server.py under Django's runner and pytest.
"""

import os

from tests.harness import CaseModuleTests

BACKEND = os.environ.get("DJANGO_ASYNC_TESTCASE_DB", "sqlite")


class LiveServerTests(CaseModuleTests):
    module = "tests.cases.case_live_server"

    def test_all_pass_and_test_database_is_dropped(self):
        for run in self.each_run():
            self.assert_all_passed(run, 5)
            self.assertNotIn("being accessed by other users", run.output)
            self.assertNotIn("Got an error destroying", run.output)

    def test_server_sees_rows_of_async_hooks_and_test(self):
        for run in self.each_run():
            for event in run.event_data("asyncSetUp sees"):
                self.assertEqual(event["items"], ["asyncSetUp"], event)
            [seen] = run.event_data("server sees")
            self.assertEqual(seen["items"], ["asyncSetUp", "test"])
            [seen] = run.event_data("sync sees")
            self.assertEqual(seen["items"], ["asyncSetUp", "sync"])
            [url] = run.event_data("url")
            self.assertEqual((url["status"], url["items"]), (200, []))

    def test_async_code_sees_rows_written_by_the_server(self):
        for run in self.each_run():
            [seen] = run.event_data("test sees")
            self.assertEqual(seen["names"], ["asyncSetUp", "server"])
            [concurrent] = run.event_data("concurrent")
            self.assertEqual(concurrent["count"], 6)
            counts = [e["count"] for e in run.event_data("asyncTearDown")]
            self.assertEqual(counts, [7, 3, 3, 3])

    def test_rows_flushed_after_each_test(self):
        for run in self.each_run():
            counts = [e["count"] for e in run.event_data("rows_after")]
            self.assertEqual(counts, [0] * 5, run.output)

    def test_server_connections_closed_after_the_class(self):
        for run in self.each_run():
            sessions = run.event_data("other sessions")
            self.assertEqual(len(sessions), 2, run.output)
            expected = None if BACKEND == "sqlite" else 0
            for event in sessions:
                self.assertEqual(event["count"], expected, event)
