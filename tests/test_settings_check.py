"""A wrong ASYNC_TESTCASE_TIMEOUT is reported once, before any test runs (issue 18).

``manage.py test`` (Django's runner, tests/run_cases.py) runs the system check
that importing the classes registers; ``manage.py check`` runs it when the
app config is installed; pytest with the plugin stops at session start with a
usage error. Before, every test failed with the same error.
"""

import subprocess
import sys

from django.test import SimpleTestCase

from tests.cases import case_settings as cases
from tests.harness import ROOT, CaseRunsTests, Cases, case_env, uses

BAD = "tests.settings_bad_timeout"
MESSAGE = "settings.ASYNC_TESTCASE_TIMEOUT must be a positive, finite number of seconds"
HINT = "Write it as a number, without quotes: ASYNC_TESTCASE_TIMEOUT = 5."


class TimeoutSettingTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        return {
            "unittest": Cases.of(cases, "unittest", env={"DJANGO_SETTINGS_MODULE": BAD}),
            "unittest-app": Cases.of(
                cases, "unittest", env={"DJANGO_SETTINGS_MODULE": BAD, "DAT_WITH_APP": "1"}
            ),
            "pytest": Cases.of(cases, "pytest", "--ds", BAD),
            "pytest-ini": Cases.of(cases, "pytest", "-o", "async_timeout=5s"),
            "pytest-no-plugin": Cases.of(
                cases, "pytest", "--ds", BAD, "-p", "no:django_async_testcase"
            ),
        }

    def assert_stopped_once(self, run, *words):
        self.assertNotEqual(run.returncode, 0, run.output)
        self.assertEqual(run.events, [], run.output)  # No test ran.
        for word in words:
            self.assertEqual(run.output.count(word), 1, run.output)

    @uses("unittest")
    def test_manage_py_test_shows_the_system_check_once(self):
        run = self.runs["unittest"]
        self.assert_stopped_once(run, "django_async_testcase.E001", MESSAGE, HINT)
        self.assertIn("SystemCheckError", run.output)

    @uses("unittest-app")
    def test_the_app_config_and_the_import_register_it_once(self):
        run = self.runs["unittest-app"]
        self.assert_stopped_once(run, "django_async_testcase.E001", MESSAGE)

    @uses("pytest")
    def test_pytest_stops_with_a_usage_error(self):
        run = self.runs["pytest"]
        self.assertEqual(run.returncode, 4, run.output)  # pytest's usage error.
        self.assert_stopped_once(run, MESSAGE, HINT)
        self.assertIn("ERROR: django-async-testcase:", run.output)

    @uses("pytest-ini")
    def test_pytest_ini_option(self):
        run = self.runs["pytest-ini"]
        self.assertEqual(run.returncode, 4, run.output)
        self.assert_stopped_once(
            run, "The async_timeout ini option must be a positive, finite number of seconds"
        )

    @uses("pytest-no-plugin")
    def test_control_without_the_plugin_every_test_fails(self):
        run = self.runs["pytest-no-plugin"]
        for test in (cases.AsyncTests.test_async, cases.SyncTests.test_sync):
            self.assertEqual(run.outcome(test), "failed", run.output)
            self.assertIn(MESSAGE, run.details(test))


class CheckCommandTests(SimpleTestCase):
    """``manage.py check`` imports no tests: it checks the setting with the app config."""

    def check(self, **env):
        return subprocess.run(
            [sys.executable, "-m", "django", "check"],
            cwd=ROOT,
            # On SQLite whatever the suite's backend: Django's model checks of MySQL
            # connect to the (not created) database 'default'.
            env=case_env(DJANGO_SETTINGS_MODULE=BAD, DJANGO_ASYNC_TESTCASE_DB="sqlite", **env),
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_with_the_app_config(self):
        proc = self.check(DAT_WITH_APP="1")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn(f"(django_async_testcase.E001) {MESSAGE}", proc.stderr)
        self.assertIn(HINT, proc.stderr)

    def test_without_it_nothing_registers_the_check(self):
        # As docs/guards.rst says: add the app to INSTALLED_APPS for manage.py check.
        proc = self.check()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("System check identified no issues", proc.stdout)
