"""Patterns found in existing Django test suites (Django's own) that our classes must keep.

Runs tests/cases/case_dropin.py under Django's runner and pytest.
"""

from django.test import SimpleTestCase

from tests.harness import RUNNERS, finish, start_cases


class DropInTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A deadlock would hang the run: give up well before the default timeout.
        started = [start_cases("tests.cases.case_dropin", runner) for runner in RUNNERS]
        cls.runs = {s[2]: finish(s, timeout=90) for s in started}

    def each_run(self):
        return [self.runs[runner] for runner in RUNNERS]

    def test_all_pass(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 0, run.output)
            self.assertEqual(len(run.records), 5, run.output)
            for record in run.records:
                self.assertEqual(record["outcome"], "passed", record)

    def test_async_test_awaits_another_async_test_method(self):
        for run in self.each_run():
            awaited = {e["test"]: e for e in run.event_data("awaited")}
            event = awaited["AwaitOtherTestMethodTests.test_create_named"]
            self.assertEqual(event["names"], ["named"])
            self.assertEqual(awaited["AwaitOtherSimpleTests.test_calls_base"]["value"], 2)
            [event] = run.event_data("sync called")
            self.assertEqual(event["names"], [])
