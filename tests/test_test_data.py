"""asyncSetUpTestData: runs once per class in its transaction, isolated per test, rolled back.

Runs tests/cases/case_test_data.py under Django's runner and under pytest.
"""

from django.test import TestCase

from tests.cases import case_test_data as cases
from tests.harness import CaseModuleTests, uses

CLASS_ERRORS = {
    "FailingTestDataTests": "boom in asyncSetUpTestData",
    "NotAClassmethod": "must be defined as `@classmethod async def asyncSetUpTestData(cls)`.",
    "SyncTestData": "; put synchronous code in setUpTestData.",
    "TestDataOnTransactionTestCase": "only AsyncTestCase runs it. Use asyncSetUp",
}
HAS_SAVEPOINT_CHECK = hasattr(TestCase, "_databases_support_savepoints")


class TestDataTests(CaseModuleTests):
    module = cases

    def class_records(self, run, cls):
        return [r for r in run.records if cls in r["test"]]

    def test_outcomes(self):
        for run in self.each_run():
            for record in run.records:
                cls = next((c for c in CLASS_ERRORS if c in record["test"]), None)
                if cls is not None:
                    self.assertIn(record["outcome"], ("error", "failed"), record)
                    self.assertIn(CLASS_ERRORS[cls], record["details"], record)
                elif "NoSavepoints" in record["test"] and not HAS_SAVEPOINT_CHECK:
                    self.assertEqual(record["outcome"], "skipped", record)
                else:
                    self.assertEqual(record["outcome"], "passed", (record, run.output))
            for cls in CLASS_ERRORS:
                self.assertTrue(self.class_records(run, cls), (cls, run.output))
            self.assertEqual(run.event_data("ran"), [])

    @uses(cases.TestDataTests)
    def test_runs_once_after_set_up_test_data_in_the_class_transaction(self):
        for run in self.each_run():
            events = [
                e["event"]
                for e in run.events
                if e["event"] in ("setUpTestData", "asyncSetUpTestData")
            ]
            self.assertEqual(events, ["setUpTestData", "asyncSetUpTestData"], run.output)
            [event] = run.event_data("asyncSetUpTestData")
            self.assertEqual(event["db"], ["MainThread", True])
            self.assertEqual(event["other"], ["MainThread", True])
            self.assertEqual(event["names"], ["setUpTestData"])
            self.assertEqual(event["sees_sync_attribute"], "setUpTestData")
            self.assertEqual(event["loop_thread"], "MainThread")
            [event] = run.event_data("on commit in asyncSetUpTestData")
            self.assertEqual((event["captured"], event["ran"]), (1, ["MainThread"]))

    @uses(cases.TestDataTests)
    def test_attributes_are_isolated_per_test(self):
        for run in self.each_run():
            [event] = run.event_data("descriptors")
            self.assertEqual(event["names"], ["item", "other_item", "payload", "sync_item"])

    @uses(cases.TestDataTests, cases.FailingTestDataTests)
    def test_rows_are_rolled_back_after_the_class_and_after_an_error(self):
        for run in self.each_run():
            after = {e["cls"]: e["counts"] for e in run.event_data("rows after class")}
            self.assertEqual(after, {"TestDataTests": {"default": 0, "other": 0}}, run.output)
            [leftovers] = run.event_data("leftovers after failed set-up")
            self.assertEqual(leftovers["counts"], {"default": 0, "other": 0})

    @uses(cases.NoTransactionsTestData, cases.NoSavepointsTestData)
    def test_runs_before_each_test_without_transactions_or_savepoints(self):
        for run in self.each_run():
            sync = run.event_data("no transactions: setUpTestData")
            events = run.event_data("no transactions: asyncSetUpTestData")
            self.assertEqual((len(sync), len(events)), (2, 2), run.output)
            for event in events:
                self.assertEqual(event["db"], ["MainThread", False])
            events = run.event_data("no savepoints: asyncSetUpTestData")
            self.assertEqual(len(events), 2 if HAS_SAVEPOINT_CHECK else 0)
            for event in events:
                self.assertEqual(event["db"], ["MainThread", True])
