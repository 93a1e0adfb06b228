"""Run a module of real test classes in a subprocess and read back what happened.

The modules in ``tests/cases`` hold real test classes (some with bugs on
purpose). ``run_cases`` runs one under Django's test runner (as
``manage.py test`` does) or under pytest with pytest-django, records each
test's outcome and the events the tests log, and returns them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = ("unittest", "pytest")


@dataclass
class CaseRun:
    module: str
    runner: str
    returncode: int
    output: str
    records: list = field(default_factory=list)
    events: list = field(default_factory=list)

    def outcome(self, test: str) -> str:
        """The outcome of ``Class.test_method``: passed, failed, error, skipped, xfail, xpass.

        pytest does not tell errors from failures in unittest classes, so both
        are "failed" there; ``assert_outcome`` accounts for it.
        """
        found = [r["outcome"] for r in self.records if r["test"] == test and not r["subtest"]]
        if not found:
            raise AssertionError(f"{test} did not run under {self.runner}.\n{self.output}")
        for bad in ("error", "failed", "xpass"):
            if bad in found:
                return bad
        return found[-1]

    def details(self, test: str) -> str:
        return "\n".join(r["details"] for r in self.records if r["test"] == test)

    def why(self, test: str) -> str:
        """A message for a failed assertion on ``test``: the runner and the test's
        traceback, or the run's whole output when no record has details."""
        details = self.details(test)
        return f"{test} under {self.runner}:\n{details or self.output}"

    def subtests(self, test: str) -> list:
        return [r for r in self.records if r["test"] == test and r["subtest"]]

    def events_of(self, test: str) -> list:
        return [e["event"] for e in self.events if e["test"] == test]

    def event_data(self, event: str) -> list:
        return [e for e in self.events if e["event"] == event]


def case_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env.pop("DAT_DB_SUFFIX", None)
    env.update(extra)
    return env


def _command(module: str, runner: str, args: tuple, result_path: str) -> list:
    if runner == "unittest":
        return [sys.executable, str(ROOT / "tests" / "run_cases.py"), module, *args]
    if runner == "pytest":
        path = str(ROOT / (module.replace(".", "/") + ".py"))
        return [
            sys.executable,
            "-m",
            "pytest",
            path,
            "-p",
            "tests.pytest_record",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "--ds",
            "tests.settings",
            "-q",
            "--no-header",
            "-rN",
            *args,
        ]
    raise ValueError(runner)


def start_cases(module: str, runner: str, *args: str, env: dict | None = None):
    """Start the run; ``finish`` waits for it. Lets several runs go at once."""
    tmp = tempfile.mkdtemp(prefix="dat-cases-")
    result_path, log_path = os.path.join(tmp, "result.json"), os.path.join(tmp, "events.jsonl")
    run_env = case_env(CASES_RESULT=result_path, CASES_LOG=log_path, **(env or {}))
    proc = subprocess.Popen(
        _command(module, runner, args, result_path),
        cwd=ROOT,
        env=run_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, module, runner, result_path, log_path


def finish(started, timeout: float = 300) -> CaseRun:
    proc, module, runner, result_path, log_path = started
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        output += f"\n[harness] killed after {timeout} s"
    records = json.loads(Path(result_path).read_text()) if os.path.exists(result_path) else []
    events = []
    if os.path.exists(log_path):
        events = [json.loads(line) for line in Path(log_path).read_text().splitlines()]
    return CaseRun(module, runner, proc.returncode, output, records, events)


def run_cases(module: str, runner: str, *args: str, env: dict | None = None) -> CaseRun:
    return finish(start_cases(module, runner, *args, env=env))


def run_both(module: str, *args: str, env: dict | None = None) -> dict:
    """Run ``module`` under both runners at once; {runner: CaseRun}."""
    started = [start_cases(module, runner, *args, env=env) for runner in RUNNERS]
    return {s[2]: finish(s) for s in started}


class CaseModuleTests(SimpleTestCase):
    """Meta-tests of one case module, run once under both runners for the class.

    Subclasses set ``module`` (dotted path of a module in tests/cases) and,
    optionally, ``args`` and ``env`` for ``run_both``.
    """

    module: str = ""
    args: tuple = ()
    env: dict | None = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.runs = run_both(cls.module, *cls.args, env=cls.env)

    def each_run(self) -> list:
        return [self.runs[runner] for runner in RUNNERS]

    def assert_all_passed(self, run: CaseRun, count: int | None = None, skipped=()) -> None:
        """Every case test of ``run`` passed (those in ``skipped`` were skipped); exit code 0.

        With ``count``, the run also had exactly that many case tests.
        """
        unexpected = [
            r
            for r in run.records
            if r["outcome"] != ("skipped" if r["test"] in skipped else "passed")
        ]
        self.assertEqual(unexpected, [], run.output)
        if count is not None:
            self.assertEqual(len(run.records), count, run.output)
        self.assertEqual(run.returncode, 0, run.output)
