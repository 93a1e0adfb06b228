"""Patterns found in existing Django test suites (Django's own) that our classes must keep.

Runs tests/cases/case_dropin.py under Django's runner and pytest.
"""

from tests.cases import case_dropin as cases
from tests.harness import CaseModuleTests, uses


class DropInTests(CaseModuleTests):
    module = cases
    # A deadlock would hang the run: give up well before the default timeout.
    timeout = 90

    def test_all_pass(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 0, run.output)
            self.assertEqual(len(run.records), 5, run.output)
            for record in run.records:
                self.assertEqual(record["outcome"], "passed", record)

    @uses(cases.AwaitOtherTestMethodTests, cases.AwaitOtherSimpleTests)
    def test_async_test_awaits_another_async_test_method(self):
        for run in self.each_run():
            [event] = run.event_data(
                "awaited", of=cases.AwaitOtherTestMethodTests.test_create_named
            )
            self.assertEqual(event["names"], ["named"])
            [event] = run.event_data("awaited", of=cases.AwaitOtherSimpleTests.test_calls_base)
            self.assertEqual(event["value"], 2)
            [event] = run.event_data("sync called")
            self.assertEqual(event["names"], [])
