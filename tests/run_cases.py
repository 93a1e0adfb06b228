"""Run test modules with Django's test runner, as ``manage.py test`` does, recording outcomes.

Usage: python tests/run_cases.py <dotted module or module.Class>... [DiscoverRunner options]
Writes one record per test (and per failing subtest) to $CASES_RESULT as JSON.
"""

import json
import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
from django.test.runner import DiscoverRunner  # noqa: E402

RECORDS = []


def _name(test):
    test = getattr(test, "test_case", test)  # a subtest
    return f"{type(test).__name__}.{getattr(test, '_testMethodName', str(test))}"


class RecordingResult(unittest.TextTestResult):
    def _record(self, test, outcome, err=None, subtest=False):
        details = (
            self._exc_info_to_string(err, test) if err and not isinstance(err, str) else (err or "")
        )
        RECORDS.append(
            {"test": _name(test), "outcome": outcome, "details": details, "subtest": subtest}
        )

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "xfail", err)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "xpass")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._record(subtest, "failed" if failed else "error", err, subtest=True)


class RecordingRunner(DiscoverRunner):
    def get_resultclass(self):
        return RecordingResult


def main(argv):
    django.setup()
    from django.core.management import execute_from_command_line  # noqa: F401

    # The labels come first, then the options.
    first_option = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    labels, options = argv[:first_option], argv[first_option:]
    parallel = 0
    failfast = "--failfast" in options
    if "--parallel" in options:
        parallel = int(options[options.index("--parallel") + 1])
    runner = RecordingRunner(
        verbosity=2,
        failfast=failfast,
        parallel=parallel,
        interactive=False,
        keepdb="--keepdb" in options,
    )
    failures = runner.run_tests(labels)
    path = os.environ.get("CASES_RESULT")
    if path:
        Path(path).write_text(json.dumps(RECORDS))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
