"""Run modules of real test classes in subprocesses and read back what happened.

The modules in ``tests/cases`` hold real test classes (some with bugs on
purpose). A meta-test runs one under Django's test runner (as ``manage.py
test`` does) and under pytest with pytest-django, each in its own subprocess,
records each test's outcome and the events the tests log (tests/cases/log.py),
and asserts on them.

Two ways to write a meta-test class (see CONTRIBUTING.rst):

- ``CaseModuleTests``: one case module, run under both runners. Each
  meta-test names the case classes it checks with ``@uses(cases.SomeTests)``
  (``cases`` being the case module, imported as a module so that the outer
  runner does not collect its classes); the harness then runs only the case
  classes that the selected meta-tests use, so rerunning one meta-test is fast.
  A meta-test without ``@uses`` gets the whole module.
- ``CaseRunsTests``: any set of runs, declared by ``case_runs()`` as
  ``{key: Cases(...)}``; a meta-test says which keys it reads with
  ``@uses(key, ...)`` and finds them in ``self.runs[key]``.

Runs go through one pool of DAT_CASE_JOBS subprocesses at a time (default:
one more than the number of CPUs: some case runs mostly wait). When the whole
suite runs serially, the first meta-test class to set up queues the runs of
every selected class, in run order, so that later classes' runs proceed while
earlier ones are checked.

The old functions (``run_cases``, ``run_both``, ``start_cases``/``finish``)
still work for meta-tests that drive subprocesses themselves.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import types
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from django.test import SimpleTestCase

ROOT = Path(__file__).resolve().parent.parent
RUNNERS = ("unittest", "pytest")
#: How many case subprocesses run at once (per process of the outer suite).
JOBS = int(os.environ.get("DAT_CASE_JOBS") or (os.cpu_count() or 1) + 1)
#: Arguments given to every pytest run of a case module. ``-o addopts=`` drops
#: the project's own addopts: a case run must not depend on pytest-xdist, which
#: is also turned off unless the run asks for it (``-n``). The plugins of
#: pytest-factoryboy and Faker, which no case module uses, are off: importing
#: Faker took about half a second of each run.
PYTEST_ARGS = (
    "-o",
    "addopts=",
    "-p",
    "no:pytest-factoryboy",
    "-p",
    "no:faker",
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
)


def case_name(test) -> str:
    """``Class.method`` of a case test given as that string, or as the method
    itself (``cases.SomeTests.test_it``); a class gives its name."""
    if isinstance(test, str):
        return test
    if isinstance(test, type):
        return test.__name__
    qualname = getattr(test, "__qualname__", "")
    if qualname.count(".") != 1 or "<" in qualname:
        raise TypeError(f"name the test as 'Class.method', not {test!r}")
    return qualname


@dataclass
class CaseRun:
    module: str
    runner: str
    returncode: int
    output: str
    records: list = field(default_factory=list)
    events: list = field(default_factory=list)
    #: Whether the run wrote its records (it ran to its end).
    finished: bool = True
    #: The command line, to rerun it by hand (without $CASES_RESULT and $CASES_LOG).
    command: str = ""

    def _require_records(self) -> None:
        """A run that wrote no records and logged nothing broke: show its output."""
        if not self.finished and not self.events:
            raise AssertionError(
                f"The {self.runner} run of {self.module} wrote no records "
                f"(exit code {self.returncode}).\n$ {self.command}\n{self.output}"
            )

    def outcome(self, test) -> str:
        """The outcome of ``Class.test_method``: passed, failed, error, skipped, xfail, xpass.

        pytest does not tell errors from failures in unittest classes, so both
        are "failed" there; ``assert_outcome`` accounts for it.
        """
        self._require_records()
        test = case_name(test)
        found = [r["outcome"] for r in self.records if r["test"] == test and not r["subtest"]]
        if not found:
            raise AssertionError(f"{test} did not run under {self.runner}.\n{self.output}")
        for bad in ("error", "failed", "xpass"):
            if bad in found:
                return bad
        return found[-1]

    def details(self, test) -> str:
        """The tracebacks (or skip reasons) of ``test``'s records; "" when it passed."""
        self._require_records()
        test = case_name(test)
        found = [r["details"] for r in self.records if r["test"] == test]
        if not found:
            raise AssertionError(f"{test} did not run under {self.runner}.\n{self.output}")
        return "\n".join(found)

    def why(self, test) -> str:
        """A message for a failed assertion on ``test``: the runner and the test's
        traceback, or the run's whole output when no record has details."""
        test = case_name(test)
        details = self.details(test)
        return f"{test} under {self.runner}:\n{details or self.output}"

    def subtests(self, test) -> list:
        self._require_records()
        test = case_name(test)
        return [r for r in self.records if r["test"] == test and r["subtest"]]

    def records_of(self, cls) -> list:
        """The records of the tests of case class ``cls`` (a class or its name)."""
        prefix = case_name(cls) + "."
        return [r for r in self.records if r["test"].startswith(prefix)]

    def events_of(self, test) -> list:
        self._require_records()
        test = case_name(test)
        return [e["event"] for e in self.events if e["test"] == test]

    def event_data(self, event: str, of=None) -> list:
        """The events named ``event``; with ``of`` (a case class or test, or its name),
        only its own."""
        self._require_records()
        found = [e for e in self.events if e["event"] == event]
        if of is not None:
            name = case_name(of)
            if "." in name:
                found = [e for e in found if e["test"] == name]
            else:  # A class.
                found = [e for e in found if e["test"].startswith(name + ".")]
        return found


def case_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env.pop("DAT_DB_SUFFIX", None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class Cases:
    """One subprocess run: ``module`` (dotted path), or some of its ``classes``
    (names), under ``runner`` with extra ``args`` and ``env``."""

    module: str
    runner: str
    args: tuple = ()
    env: tuple = ()
    classes: tuple = ()
    timeout: float = 300

    @classmethod
    def of(cls, module, runner, *args, env=None, classes=(), timeout=300) -> Cases:
        if isinstance(module, types.ModuleType):
            module = module.__name__
        names = tuple(sorted({case_name(c) for c in classes}))
        return cls(module, runner, tuple(args), tuple(sorted((env or {}).items())), names, timeout)

    def command(self, tmp: str | None = None) -> list:
        if self.runner == "unittest":
            labels = [f"{self.module}.{c}" for c in self.classes] or [self.module]
            return [sys.executable, str(ROOT / "tests" / "run_cases.py"), *labels, *self.args]
        if self.runner == "pytest":
            path = str(ROOT / (self.module.replace(".", "/") + ".py"))
            paths = [f"{path}::{c}" for c in self.classes] or [path]
            xdist = () if "-n" in self.args else ("-p", "no:xdist")
            # pytest's temporary folders go in the run's own, removed by ``finish``.
            basetemp = (f"--basetemp={os.path.join(tmp, 'pytest')}",) if tmp else ()
            return [
                sys.executable,
                "-m",
                "pytest",
                *paths,
                *PYTEST_ARGS,
                *basetemp,
                *xdist,
                *self.args,
            ]
        raise ValueError(self.runner)

    def start(self) -> _Started:
        tmp = tempfile.mkdtemp(prefix="dat-cases-")
        result_path, log_path = os.path.join(tmp, "result.json"), os.path.join(tmp, "events.jsonl")
        env = case_env(CASES_RESULT=result_path, CASES_LOG=log_path, **dict(self.env))
        command = self.command(tmp)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started = _Started(proc, self.module, self.runner, result_path, log_path, tmp)
        started.command = shlex.join(command)
        return started

    def run(self) -> CaseRun:
        return finish(self.start(), timeout=self.timeout)


class _Started(tuple):
    """A started run: (process, module, runner, result path, log path), as ``start_cases``
    always returned; ``finish`` also removes its temporary folder."""

    def __new__(cls, proc, module, runner, result_path, log_path, tmp):
        started = super().__new__(cls, (proc, module, runner, result_path, log_path))
        started.tmp = tmp
        return started


def start_cases(module: str, runner: str, *args: str, env: dict | None = None):
    """Start the run; ``finish`` waits for it. Lets several runs go at once."""
    return Cases.of(module, runner, *args, env=env).start()


def finish(started, timeout: float = 300) -> CaseRun:
    proc, module, runner, result_path, log_path = started
    try:
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
            output += f"\n[harness] killed after {timeout} s"
        finished = os.path.exists(result_path)
        records = json.loads(Path(result_path).read_text()) if finished else []
        events = []
        if os.path.exists(log_path):
            events = [json.loads(line) for line in Path(log_path).read_text().splitlines()]
    finally:
        shutil.rmtree(getattr(started, "tmp", os.path.dirname(result_path)), ignore_errors=True)
    command = getattr(started, "command", "")
    return CaseRun(module, runner, proc.returncode, output, records, events, finished, command)


# The pool, and the runs it has done or queued (each Cases runs once per process).
_POOL = ThreadPoolExecutor(JOBS, thread_name_prefix="case-run")
_RUNS: dict[Cases, Future] = {}
_LOCK = threading.Lock()


def submit(cases: Cases) -> Future:
    """Queue ``cases`` (once: a second call gets the same run). Some classes of a
    module get the run of the whole module if it is queued: a check that holds
    on the union of the classes its class's selected tests use holds there too."""
    with _LOCK:
        whole = replace(cases, classes=())
        if cases.classes and whole in _RUNS:
            return _RUNS[whole]
        if cases not in _RUNS:
            _RUNS[cases] = _POOL.submit(cases.run)
        return _RUNS[cases]


def run_all(cases: list) -> list:
    """The runs of ``cases``, done through the pool (at most JOBS at once)."""
    futures = [submit(c) for c in cases]
    return [f.result() for f in futures]


def run_cases(module: str, runner: str, *args: str, env: dict | None = None) -> CaseRun:
    return Cases.of(module, runner, *args, env=env).run()


def run_both(module: str, *args: str, env: dict | None = None) -> dict:
    """Run ``module`` under both runners at once; {runner: CaseRun}."""
    started = [start_cases(module, runner, *args, env=env) for runner in RUNNERS]
    return {s[2]: finish(s) for s in started}


# Which meta-tests will run --------------------------------------------------------


def uses(*things):
    """Mark a meta-test with what it reads: case classes (CaseModuleTests) or run
    keys (CaseRunsTests). Only those are run when only such meta-tests are selected."""

    def mark(method):
        method.uses = things
        return method

    return mark


# {meta-test class: names of its selected tests}, in the order they were selected.
_SELECTED: dict[type, set] = {}
_PREFETCHED = False


def select(cls: type, name: str) -> None:
    """Note that ``cls.name`` will run (Django's loader makes every test's instance
    before the run; tests/conftest.py calls this for pytest's selected items)."""
    if name != "runTest" and name.startswith("test"):
        _SELECTED.setdefault(cls, set()).add(name)


def select_only(tests) -> None:
    """Note that exactly ``tests`` (pairs of class, name) will run, whatever
    instances were made (pytest makes one for every collected test, selected
    or not)."""
    _SELECTED.clear()
    for cls, name in tests:
        select(cls, name)


def _in_worker() -> bool:
    """Whether this is one of several worker processes (each runs some classes only)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return True
    runner = sys.modules.get("django.test.runner")
    return bool(getattr(runner, "_worker_id", 0))


def _prefetch() -> None:
    """Queue the runs of every selected class, in order, once."""
    global _PREFETCHED
    if _PREFETCHED or _in_worker():
        return
    _PREFETCHED = True
    queued = [
        cases
        for cls in list(_SELECTED)
        if not getattr(cls, "__unittest_skip__", False)
        for cases in _flat(cls.needed().values())
    ]
    wholes = {cases for cases in queued if not cases.classes}
    for cases in queued:
        whole = replace(cases, classes=())
        submit(whole if whole in wholes else cases)


def _flat(values) -> list:
    """The Cases of ``values``, each a Cases or a list of them."""
    return [c for v in values for c in (v if isinstance(v, list | tuple) else [v])]


class CaseRunsTests(SimpleTestCase):
    """Meta-tests of some case runs, declared by ``case_runs`` and run once for
    the class, in ``setUpClass``: ``self.runs[key]`` is a CaseRun (a list of
    them where ``case_runs`` gave a list of Cases)."""

    runs: dict

    def __init__(self, methodName="runTest"):
        super().__init__(methodName)
        select(type(self), methodName)

    @classmethod
    def case_runs(cls) -> dict:
        """{key: Cases or list of Cases} of every run the class's meta-tests may read."""
        raise NotImplementedError

    @classmethod
    def selected(cls) -> list:
        """The class's meta-test methods that will run (all, when unknown)."""
        names = _SELECTED.get(cls) or [
            name for name in dir(cls) if name.startswith("test") and callable(getattr(cls, name))
        ]
        return [getattr(cls, name) for name in sorted(names)]

    @classmethod
    def needed(cls) -> dict:
        """{key: Cases} the selected meta-tests read."""
        runs = cls.case_runs()
        keys = set()
        for method in cls.selected():
            keys.update(getattr(method, "uses", runs))
        return {key: cases for key, cases in runs.items() if key in keys}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _prefetch()
        needed = cls.needed()
        done = iter(run_all(_flat(needed.values())))
        cls.runs = {
            key: [next(done) for _ in v] if isinstance(v, list | tuple) else next(done)
            for key, v in needed.items()
        }


class CaseModuleTests(CaseRunsTests):
    """Meta-tests of one case module, run under both runners for the class.

    Subclasses set ``module`` (the case module, or its dotted path) and,
    optionally, ``args``, ``env`` and ``timeout`` for the runs. Each meta-test
    may name the case classes it checks with ``@uses(cases.SomeTests, ...)``:
    the runs then hold only the classes the selected meta-tests use
    (``self.runs[runner]``).
    """

    module: str | types.ModuleType = ""
    args: tuple = ()
    env: dict | None = None
    timeout: float = 300

    @classmethod
    def module_name(cls) -> str:
        return cls.module if isinstance(cls.module, str) else cls.module.__name__

    @classmethod
    def case_runs(cls) -> dict:
        return {
            runner: Cases.of(cls.module, runner, *cls.args, env=cls.env, timeout=cls.timeout)
            for runner in RUNNERS
        }

    @classmethod
    def needed(cls) -> dict:
        classes = set()
        for method in cls.selected():
            used = getattr(method, "uses", None)
            if used is None:
                return cls.case_runs()  # The whole module.
            for case in used:
                if isinstance(case, type) and case.__module__ != cls.module_name():
                    raise TypeError(f"{method.__qualname__} uses {case!r}, not of {cls.module}")
                classes.add(case)
        return {
            runner: Cases.of(
                cls.module,
                runner,
                *cls.args,
                env=cls.env,
                classes=classes,
                timeout=cls.timeout,
            )
            for runner in RUNNERS
        }

    def each_run(self) -> list:
        return [self.runs[runner] for runner in RUNNERS]

    def assert_all_passed(self, run: CaseRun, count: int | None = None, skipped=()) -> None:
        """Every case test of ``run`` passed (those in ``skipped`` were skipped); exit code 0.

        With ``count``, the run also had exactly that many case tests.
        """
        run._require_records()
        skipped = {case_name(t) for t in skipped}
        unexpected = [
            r
            for r in run.records
            if r["outcome"] != ("skipped" if r["test"] in skipped else "passed")
        ]
        self.assertEqual(unexpected, [], run.output)
        if count is not None:
            self.assertEqual(len(run.records), count, run.output)
        self.assertEqual(run.returncode, 0, run.output)


def main(argv: list) -> int:
    """Run a case module (or some of its classes) as a meta-test would, and show
    everything: the command, the raw output, the records and the events.

        python tests/harness.py tests.cases.case_guards [TimeoutTests ...]
            [--runner unittest|pytest] [-- extra runner arguments]
    """
    import argparse

    if "--" in argv:
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    else:
        extra = []
    parser = argparse.ArgumentParser(prog="python tests/harness.py", description=main.__doc__)
    parser.add_argument("module")
    parser.add_argument("classes", nargs="*")
    parser.add_argument("--runner", choices=RUNNERS, action="append")
    options = parser.parse_args(argv)
    failed = 0
    for runner in options.runner or RUNNERS:
        cases = Cases.of(options.module, runner, *extra, classes=options.classes)
        run = cases.run()
        print(f"=== {runner}: $ {run.command}\n{run.output}")
        print(f"=== {runner}: exit code {run.returncode}, {len(run.records)} records")
        for record in run.records:
            print(f"  {record['outcome']:8} {record['test']}" + (" (subtest)" * record["subtest"]))
        print(f"=== {runner}: {len(run.events)} events")
        for event in run.events:
            print(f"  {json.dumps(event, default=str)}")
        failed |= run.returncode != 0
    return failed


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    sys.exit(main(sys.argv[1:]))
