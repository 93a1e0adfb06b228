"""self.async_client logins, override_settings, modify_settings and mock.patch on async tests.

Runs tests/cases/case_clients.py under Django's runner and pytest.
"""

import django

from tests.cases import case_clients as cases
from tests.harness import CaseModuleTests, uses

HAS_ASYNC_LOGIN = django.VERSION >= (5, 0)
ASYNC_LOGIN_TESTS = [
    "LoginTests.test_aforce_login_and_alogout",
    "LoginTests.test_alogin",
    "LoginInAsyncSetUpTests.test_logged_in",
]


class ClientsTests(CaseModuleTests):
    module = cases

    def logged(self, run, test, event):
        found = [e for e in run.events if e["test"] == test and e["event"] == event]
        self.assertEqual(len(found), 1, (test, event, run.output))
        return found[0]

    def test_outcomes(self):
        for run in self.each_run():
            self.assertEqual(run.returncode, 0, run.output)
            self.assertEqual(len(run.records), 16, run.output)
            for record in run.records:
                expected = "passed"
                if record["test"] in ASYNC_LOGIN_TESTS and not HAS_ASYNC_LOGIN:
                    expected = "skipped"
                self.assertEqual(record["outcome"], expected, record)

    @uses(cases.LoginTests, cases.LoginInAsyncSetUpTests)
    def test_async_skip_reason_on_django_4_2(self):
        if HAS_ASYNC_LOGIN:
            self.skipTest("Django >= 5.0 has the async login methods")
        for run in self.each_run():
            for test in ASYNC_LOGIN_TESTS:
                self.assertIn("need Django 5.0 or later", run.details(test))

    @uses(cases.LoginTests, cases.LoginInAsyncSetUpTests)
    def test_async_client_logins(self):
        for run in self.each_run():
            event = self.logged(run, "LoginTests.test_anonymous", "whoami")
            self.assertIsNone(event["username"])
            event = self.logged(run, "LoginTests.test_sync_force_login", "whoami")
            self.assertEqual(event["username"], "alice")
            if not HAS_ASYNC_LOGIN:
                continue
            event = self.logged(run, "LoginTests.test_aforce_login_and_alogout", "whoami")
            self.assertEqual((event["username"], event["after"]), ("alice", None))
            event = self.logged(run, "LoginTests.test_alogin", "whoami")
            self.assertEqual(
                (event["username"], event["wrong"], event["right"]), ("alice", False, True)
            )
            test = "LoginInAsyncSetUpTests.test_logged_in"
            self.assertEqual(self.logged(run, test, "whoami")["username"], "bob")
            self.assertIsNone(self.logged(run, test, "after alogout")["username"])

    @uses(cases.SettingsTests, cases.OutsideTests)
    def test_settings_seen_by_test_database_thread_and_views(self):
        expected = {
            "test_class_override": ["class"] * 3,
            "test_class_modify": [True] * 3,
            "test_method_override": ["method"] * 3,
            "test_method_modify": [True] * 3,
            "test_override_as_context_manager": ["with"] * 3,
        }
        for run in self.each_run():
            for test, value in expected.items():
                event = self.logged(run, f"SettingsTests.{test}", "seen")
                self.assertEqual(event["value"], value, event)
                after = self.logged(run, f"SettingsTests.{test}", "after test")
                self.assertEqual(
                    (after["method"], after["cls"], after["method_host"]), (None, "class", False)
                )
            event = self.logged(run, "SettingsTests.test_method_override", "seen")
            self.assertEqual(event["cls"], ["method wins"] * 3)
            event = self.logged(run, "OutsideTests.test_class_settings_are_gone", "outside")
            self.assertEqual((event["cls"], event["host"]), (None, False))

    @uses(cases.PatchTests, cases.ClassPatchTests)
    def test_mock_patch_decorators(self):
        for run in self.each_run():
            event = self.logged(run, "PatchTests.test_method_patch", "patched")
            self.assertEqual(event["view"], {"sync": "patched", "async": "real"})
            self.assertEqual((event["on_thread"], event["calls"]), ("patched", 2))
            event = self.logged(run, "PatchTests.test_method_patch_async_function", "patched")
            self.assertEqual(event["view"], {"sync": "real", "async": "async patched"})
            self.assertEqual((event["is_async_mock"], event["awaited"]), (True, 1))
            event = self.logged(run, "PatchTests.test_stacked_decorators", "patched")
            self.assertEqual(event["view"], {"sync": "outer", "async": "inner"})
            self.assertEqual(event["setting"], "stacked")
            for event in run.event_data("after test"):
                if event["test"].startswith("PatchTests"):
                    self.assertEqual(event["view"], {"sync": "real", "async": "real"})
            for test in ("ClassPatchTests.test_async", "ClassPatchTests.test_sync"):
                event = self.logged(run, test, "patched")
                self.assertEqual(event["view"], {"sync": "class patched", "async": "real"})
                self.assertEqual(event["calls"], 1)
                self.assertEqual(self.logged(run, test, "setUp sees")["value"], "real")
