"""assertNumQueries, captureQueries and captureOnCommitCallbacks inside coroutines.

Runs tests/cases/case_query_tools.py under Django's runner and under pytest.
"""

from tests.cases import case_query_tools as cases
from tests.harness import CaseModuleTests, uses

FAILING = {
    "test_async_with_fails": ("2 queries executed, 1 expected", ["INSERT INTO", "SELECT COUNT"]),
    "test_with_fails": ("1 queries executed, 3 expected", ["SELECT COUNT"]),
}


class QueryToolsTests(CaseModuleTests):
    module = cases

    def test_only_the_wrong_counts_fail(self):
        for run in self.each_run():
            self.assertTrue(run.records, run.output)
            unexpected = [
                r for r in run.records if (r["outcome"] == "failed") != r["test"].endswith("_fails")
            ]
            self.assertEqual(unexpected, [], run.output)

    @uses(cases.QueryCountTests, cases.TransactionQueryCountTests)
    def test_failure_message_lists_the_queries(self):
        for run in self.each_run():
            for cls in ("QueryCountTests", "TransactionQueryCountTests"):
                for method, (summary, queries) in FAILING.items():
                    details = run.details(f"{cls}.{method}")
                    self.assertIn(summary, details)
                    self.assertIn("Captured queries were:", details)
                    for number, sql in enumerate(queries, start=1):
                        self.assertRegex(details, rf"{number}\. {sql}")
                    # The traceback shows the test's code, not the executor's.
                    for hidden in ("_executor.py", "concurrent/futures", "db.py"):
                        self.assertNotIn(hidden, details, (run.runner, cls, method))

    def test_queries_of_the_test_connection_are_counted(self):
        for run in self.each_run():
            counted = run.event_data("counted")
            self.assertEqual(len(counted), 4, run.output)
            for event in counted:
                self.assertEqual(len(event["sql"]), 2, event)
                self.assertIn("INSERT INTO", event["sql"][0])
                self.assertIn("COUNT(*)", event["sql"][1])
            [captured] = run.event_data("captured")
            self.assertEqual(len(captured["sql"]), 2)
            [exited] = run.event_data("exited by cleanups")
            self.assertEqual(exited["counts"], [1, 1])

    @uses(cases.QueryCountTests, cases.TransactionQueryCountTests)
    def test_atomic_blocks_use_savepoints_in_testcase_and_transactions_otherwise(self):
        # The same count on every backend, but not the same statements.
        for run in self.each_run():
            statements = {e["test"]: e["statements"] for e in run.event_data("atomic block")}
            self.assertEqual(
                statements,
                {
                    "QueryCountTests.test_atomic_block": ["SAVEPOINT", "INSERT", "RELEASE"],
                    "TransactionQueryCountTests.test_atomic_block": ["BEGIN", "INSERT", "COMMIT"],
                },
            )

    @uses(cases.QueryCountTests, cases.TransactionQueryCountTests, cases.CaptureQueriesTests)
    def test_sync_code_gets_djangos_own_context_managers(self):
        for run in self.each_run():
            types = {e["test"]: e["type"] for e in run.event_data("sync context")}
            self.assertEqual(
                types,
                {
                    "QueryCountTests.test_sync_unchanged": "_AssertNumQueriesContext",
                    "TransactionQueryCountTests.test_sync_unchanged": "_AssertNumQueriesContext",
                    "CaptureQueriesTests.test_sync_unchanged": "CaptureQueriesContext",
                },
            )

    @uses(cases.OnCommitTests)
    def test_on_commit_callbacks_never_run_for_real(self):
        for run in self.each_run():
            [after] = run.event_data("after test")
            self.assertEqual(after["ran"], [])
