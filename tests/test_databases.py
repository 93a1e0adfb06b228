"""Several databases and TransactionTestCase's features, with async tests and hooks.

Runs tests/cases/case_databases.py under Django's runner and under pytest.
"""

from tests.cases import case_databases as cases
from tests.harness import CaseModuleTests, uses

NONE = {"default": 0, "other": 0}
FIXTURE_NAMES = ["fixture one", "fixture two"]


class DatabasesTests(CaseModuleTests):
    module = cases

    def test_all_pass(self):
        for run in self.each_run():
            self.assert_all_passed(run, 14)

    def by_test(self, run, event):
        return {e["test"]: e for e in run.event_data(event)}

    @uses(
        cases.AllDatabasesTests,
        cases.AllDatabasesTransactionTests,
        cases.FixturesTests,
        cases.TransactionFixturesTests,
    )
    def test_writes_on_every_alias_are_visible_then_rolled_back_or_flushed(self):
        for run in self.each_run():
            seen = self.by_test(run, "seen in test")
            self.assertEqual(
                {test: e["counts"] for test, e in seen.items()},
                {
                    # Class data, setUp, asyncSetUp and the test's own rows.
                    "AllDatabasesTests.test_writes": {"default": 4, "other": 4},
                    "AllDatabasesTransactionTests.test_writes": {"default": 3, "other": 3},
                },
            )
            after = self.by_test(run, "rows after test")
            for test in ("test_writes", "test_sync_writes"):
                # The class data stays until the end of the class.
                self.assertEqual(
                    after[f"AllDatabasesTests.{test}"]["counts"], {"default": 1, "other": 1}
                )
                self.assertEqual(after[f"AllDatabasesTransactionTests.{test}"]["counts"], NONE)
            after_class = {e["cls"]: e["counts"] for e in run.event_data("rows after class")}
            self.assertEqual(
                after_class,
                {
                    "AllDatabasesTests": NONE,
                    "AllDatabasesTransactionTests": NONE,
                    "FixturesTests": NONE,
                    "TransactionFixturesTests": NONE,
                },
            )

    @uses(cases.FixturesTests, cases.TransactionFixturesTests)
    def test_fixtures_are_loaded_on_every_alias_for_each_test(self):
        for run in self.each_run():
            [event] = run.event_data("fixture rows in asyncSetUpTestData")
            self.assertEqual(event["names"], FIXTURE_NAMES)
            seen = self.by_test(run, "fixture rows")
            self.assertEqual(len(seen), 4)
            for event in seen.values():
                self.assertEqual(event["names"], {"default": FIXTURE_NAMES, "other": FIXTURE_NAMES})
            after = self.by_test(run, "rows after test")
            self.assertEqual(after["FixturesTests.test_a"]["counts"], {"default": 2, "other": 2})
            self.assertEqual(after["TransactionFixturesTests.test_a"]["counts"], NONE)

    @uses(cases.ResetSequencesTests)
    def test_reset_sequences(self):
        for run in self.each_run():
            pks = [e["pks"] for e in run.event_data("pks")]
            self.assertEqual(pks, [[1, 2], [1, 2]])

    @uses(cases.SerializedRollbackTests)
    def test_serialized_rollback_restores_the_same_rows(self):
        for run in self.each_run():
            events = run.event_data("item content type")
            self.assertEqual(len(events), 2)
            self.assertEqual(events[0]["pk"], events[1]["pk"])
            self.assertEqual([e["items"] for e in events], [0, 0])

    @uses(cases.AvailableAppsTests)
    def test_available_apps_apply_to_async_hooks_and_tests_only(self):
        for run in self.each_run():
            during = run.event_data("apps in asyncSetUp") + run.event_data("apps in test")
            self.assertEqual([e["auth"] for e in during], [False] * 4)
            [after] = run.event_data("apps after class")
            self.assertIs(after["auth"], True)
