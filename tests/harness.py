"""Run real test classes and pytest sessions in subprocesses and read back what happened.

The modules in ``tests/cases`` hold real test classes (some with bugs on
purpose). A meta-test runs one under Django's test runner (as ``manage.py
test`` does) and under pytest with pytest-django, each in its own subprocess
(a ``Cases`` run), records each test's outcome and the events the tests log
(tests/cases/log.py), and asserts on them (a ``CaseRun``). The files in
``tests/plugin_cases`` hold pytest test functions for the plugin: a
``PluginSession`` runs pytest over some of them, with the plugin or without
(the control), and reads back a ``SessionRun``.

Three ways to write a meta-test class (see CONTRIBUTING.rst):

- ``CaseModuleTests``: one case module, run under both runners. Each
  meta-test names the case classes it checks with ``@uses(cases.SomeTests)``
  (``cases`` being the case module, imported as a module so that the outer
  runner does not collect its classes); the harness then runs only the case
  classes that the selected meta-tests use, so rerunning one meta-test is fast.
  A meta-test without ``@uses`` gets the whole module.
- ``CaseRunsTests``: any set of runs, declared by ``case_runs()`` as
  ``{key: Cases(...)}``; a meta-test says which keys it reads with
  ``@uses(key, ...)`` and finds them in ``self.runs[key]``.
- ``PluginSessionTestCase``: pytest sessions, declared by ``PREFETCH``; a
  meta-test gets each with ``run_session(...)``.

Every run goes through one pool of DAT_CASE_JOBS subprocesses at a time
(default: one more than the number of CPUs: some runs mostly wait), once per
process (``submit``, ``run_all``, ``run_session``). When the whole suite runs
serially, the first meta-test class to set up queues the runs of every
selected class, in run order, so that later classes' runs proceed while
earlier ones are checked. A meta-test that must act on a running subprocess
(interrupt it, kill it) starts it with ``start()`` and reads it with
``Started.finish``, in a job of the same pool (``in_pool``).
"""

from __future__ import annotations

import atexit
import importlib.metadata
import itertools
import json
import os
import queue
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import types
import xml.etree.ElementTree as ET
from concurrent.futures import Future
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


@dataclass
class Started:
    """A run's subprocess, started; ``finish`` waits for it and reads back what it wrote."""

    run: Cases | PluginSession
    proc: subprocess.Popen
    #: The run's temporary folder (removed by ``finish``).
    tmp: str
    #: The command line, to rerun it by hand.
    command: str
    #: The suffix of the run's test database names.
    suffix: str = ""

    @property
    def log_path(self) -> str:
        """Where the run's case tests log their events ($CASES_LOG)."""
        return os.path.join(self.tmp, "events.jsonl")

    def events(self) -> list:
        """The events logged so far."""
        if not os.path.exists(self.log_path):
            return []
        return [json.loads(line) for line in Path(self.log_path).read_text().splitlines()]

    def finish(self, timeout: float | None = None) -> CaseRun | SessionRun:
        """Wait for the run (killing it after ``timeout``, the run's own by default)
        and read what it wrote."""
        timeout = self.run.timeout if timeout is None else timeout
        try:
            try:
                stdout, stderr = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                stdout, stderr = self.proc.communicate()
                stdout += f"\n[harness] killed after {timeout} s"
            return self.run.read(self, stdout + (stderr or ""))
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)


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

    def start(self) -> Started:
        """Start the run's subprocess; ``Started.finish`` reads it back."""
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
        return Started(self, proc, tmp, shlex.join(command))

    def read(self, started: Started, output: str) -> CaseRun:
        result_path = os.path.join(started.tmp, "result.json")
        finished = os.path.exists(result_path)
        records = json.loads(Path(result_path).read_text()) if finished else []
        return CaseRun(
            self.module,
            self.runner,
            started.proc.returncode,
            output,
            records,
            started.events(),
            finished,
            started.command,
        )

    def run(self) -> CaseRun:
        result = self.start().finish()
        assert isinstance(result, CaseRun)
        return result


# Plugin sessions ---------------------------------------------------------------------

#: Where the pytest files of the plugin's meta-tests are (tests/test_pytest_plugin.py).
PLUGIN_CASES = "tests/plugin_cases"
PLUGIN_MODULE = "django_async_testcase.pytest_plugin"
#: The ini file of every plugin session (written into the session's folder).
PLUGIN_INI = """\
[pytest]
DJANGO_SETTINGS_MODULE = tests.settings
asyncio_default_fixture_loop_scope = function
"""
_suffixes = itertools.count()


def plugin_entry_point_installed() -> bool:
    return any(
        ep.name == "django_async_testcase"
        for ep in importlib.metadata.entry_points(group="pytest11")
    )


@dataclass
class SessionRun:
    """What a plugin session did: each test's outcome and failure messages (from
    its JUnit report), its exit code and output, and the test databases it left."""

    returncode: int
    output: str
    outcomes: dict = field(default_factory=dict)
    messages: dict = field(default_factory=dict)
    suffix: str = ""
    #: Test databases left on the PostgreSQL server when pytest ended.
    leftover: list = field(default_factory=list)
    #: The events the session's tests logged (tests/cases/log.py).
    events: list = field(default_factory=list)
    command: str = ""

    def __str__(self) -> str:
        return f"exit status {self.returncode}\n$ {self.command}\n{self.output}"


@dataclass(frozen=True)
class PluginSession:
    """One pytest session over files of tests/plugin_cases, with its own ini
    file, a JUnit report read back for the outcomes, and its own test database
    names (a new ``suffix`` per run unless given; ``keep_databases`` leaves them
    for the next run, as ``--reuse-db`` needs). ``runner`` is the async plugin
    the session keeps: "asyncio" (pytest-asyncio in ``mode``), "anyio" or "none";
    ``plugin=False`` is the control, with this package's plugin off."""

    args: tuple
    plugin: bool = True
    runner: str = "asyncio"
    mode: str = "strict"
    env: tuple = ()
    timeout: float = 240
    suffix: str = ""
    keep_databases: bool = False

    @classmethod
    def of(cls, *args, env=None, **options) -> PluginSession:
        return cls(tuple(args), env=tuple(sorted((env or {}).items())), **options)

    def command(self, tmp: str) -> list:
        ini = os.path.join(tmp, "pytest.ini")
        options = ["-c", ini, "--rootdir", str(ROOT), "-p", "no:cacheprovider"]
        options += ["-p", "no:randomly", "-W", "ignore::pytest.PytestWarning"]
        if not any("test_factories" in str(arg) for arg in self.args):
            # Only test_factories.py uses them; importing Faker takes about 0.5 s.
            options += ["-p", "no:pytest-factoryboy", "-p", "no:faker"]
        if "-n" not in self.args:
            options += ["-p", "no:xdist"]
        if self.plugin and not plugin_entry_point_installed():
            options += ["-p", PLUGIN_MODULE]
        if not self.plugin:
            options += ["-p", "no:django_async_testcase"]
        if self.runner == "asyncio":
            options += ["-p", "no:anyio", f"--asyncio-mode={self.mode}"]
        else:
            options += ["-p", "no:asyncio"]
        junit = os.path.join(tmp, "junit.xml")
        return [sys.executable, "-m", "pytest", *options, f"--junitxml={junit}", "-rfE", *self.args]

    def start(self) -> Started:
        """Start the session's subprocess; ``Started.finish`` reads it back."""
        tmp = tempfile.mkdtemp(prefix="dat-plugin-")
        Path(tmp, "pytest.ini").write_text(PLUGIN_INI)
        suffix = self.suffix or f"plugin{os.getpid()}x{next(_suffixes)}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "PLUGIN_CASE_RUNNER": self.runner,
            "DAT_DB_SUFFIX": suffix,
            "CASES_LOG": os.path.join(tmp, "events.jsonl"),
            **dict(self.env),
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = self.command(tmp)
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return Started(self, proc, tmp, shlex.join(command), suffix)

    def read(self, started: Started, output: str) -> SessionRun:
        session = SessionRun(
            started.proc.returncode, output, suffix=started.suffix, command=started.command
        )
        try:
            session.leftover = leftover_databases(started.suffix)
            session.events = started.events()
            junit = Path(started.tmp, "junit.xml")
            if junit.exists():
                for case in ET.parse(junit).iter("testcase"):
                    name = case.get("name")
                    outcome, message = "passed", ""
                    for child in case:
                        if child.tag in ("failure", "error", "skipped"):
                            kind = {"failure": "failed"}.get(child.tag, child.tag)
                            if kind == "skipped" and child.get("type") == "pytest.xfail":
                                kind = "xfail"
                            # A teardown error comes after the call's outcome.
                            if outcome == "passed" or kind == "error":
                                outcome = kind if outcome == "passed" else f"{outcome}+{kind}"
                            message += (child.get("message") or "") + (child.text or "")
                    session.outcomes[name] = outcome
                    session.messages[name] = message
        finally:
            if not self.keep_databases:
                drop_test_databases(started.suffix)
        return session

    def run(self) -> SessionRun:
        result = self.start().finish()
        assert isinstance(result, SessionRun)
        return result


def _backend() -> str:
    from tests.settings import BACKEND

    return BACKEND


def drop_test_databases(suffix: str) -> None:
    """Drop the test databases of the run with ``suffix`` that are left (a control
    run cannot drop them on PostgreSQL: "being accessed by other users")."""
    names = [f"test_dat_{alias}_{suffix}" for alias in ("default", "other")]
    if _backend() == "postgresql":
        for name in names:
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                 f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
                capture_output=True, timeout=60,
            )  # fmt: skip
    elif _backend() == "mysql":
        for name in names:
            subprocess.run(
                ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e",
                 f"DROP DATABASE IF EXISTS `{name}`"],
                capture_output=True, timeout=60,
            )  # fmt: skip


def leftover_databases(suffix: str) -> list:
    """The test databases of the run with ``suffix`` left on the PostgreSQL server."""
    if _backend() != "postgresql":
        return []
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
         f"SELECT datname FROM pg_database WHERE datname LIKE 'test_dat_%{suffix}'"],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    return out.split()


# The pool, and the runs it has done or queued (each run once per process) ----------


class _Pool:
    """JOBS threads that run jobs: first those a meta-test waits for, then those
    queued ahead (``ahead=True``), each kind in the order it came.

    The threads start with the first job of each process: a process forked
    with the pool started (Django's ``--parallel`` forks its workers from the
    suite's process) has none of its parent's threads, so it starts its own.
    """

    def __init__(self, jobs: int) -> None:
        self._jobs = jobs
        self._pid = -1
        self._threads: list[threading.Thread] = []
        atexit.register(self._stop)

    def _start(self) -> None:
        self._pid = os.getpid()
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._order = itertools.count()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"case-run-{n}", daemon=True)
            for n in range(self._jobs)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job, *args, ahead: bool = False) -> Future:
        future: Future = Future()
        self.hurry(future, job, args, ahead)
        return future

    def hurry(self, future: Future, job, args: tuple = (), ahead: bool = False) -> None:
        """Queue ``job`` for ``future`` (again, before the jobs queued ahead, if it
        was one of them: whichever entry comes first runs it)."""
        if self._pid != os.getpid():
            self._start()
        self._queue.put((1 if ahead else 0, next(self._order), future, job, args))

    def _work(self) -> None:
        while True:
            _, _, future, job, args = self._queue.get()
            if future is None:
                return
            with self._lock:
                if future.running() or future.done():
                    continue  # Queued twice; run by the first entry.
                future.set_running_or_notify_cancel()
            try:
                result = job(*args)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)

    def _stop(self) -> None:
        """At exit: let the running jobs end (each bounded by its timeout), drop the rest."""
        if self._pid != os.getpid():
            return  # Started by the parent process, or never.
        for _ in self._threads:
            self._queue.put((-1, next(self._order), None, None, ()))
        for thread in self._threads:
            thread.join()


_POOL = _Pool(JOBS)
_RUNS: dict[Cases | PluginSession, Future] = {}
_LOCK = threading.Lock()
# A forked child's runs are its own: its parent's pool settles the parent's futures.
os.register_at_fork(after_in_child=_RUNS.clear)


def submit(run: Cases | PluginSession, ahead: bool = False) -> Future:
    """Queue ``run`` (once: a second call gets the same run, moved before the runs
    queued ahead if it was one). Some classes of a module get the run of the
    whole module if it is queued: a check that holds on the union of the classes
    its class's selected tests use holds there too."""
    with _LOCK:
        if _whole(run) in _RUNS:
            run = _whole(run)
        if run not in _RUNS:
            _RUNS[run] = _POOL.submit(run.run, ahead=ahead)
        elif not ahead and not (_RUNS[run].running() or _RUNS[run].done()):
            _POOL.hurry(_RUNS[run], run.run)
        return _RUNS[run]


def _whole(run: Cases | PluginSession) -> Cases | PluginSession:
    """The run of the whole module that ``run`` (some of its classes) is part of."""
    return replace(run, classes=()) if isinstance(run, Cases) else run


def run_all(runs: list) -> list:
    """The results of ``runs``, done through the pool (at most JOBS at once)."""
    futures = [submit(run) for run in runs]
    return [f.result() for f in futures]


def run_session(*args, **options) -> SessionRun:
    """The result of ``PluginSession.of(*args, **options)``, run through the pool
    (once: the sessions of a class's ``PREFETCH`` are queued ahead)."""
    result = submit(PluginSession.of(*args, **options)).result()
    assert isinstance(result, SessionRun)
    return result


def in_pool(job, *args) -> Future:
    """Run ``job(*args)`` in the pool, for a job that drives its own runs' subprocesses
    (``start``, ``Started.finish``), one at a time; it must not wait for the pool."""
    return _POOL.submit(job, *args)


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
        run
        for cls in list(_SELECTED)
        if not getattr(cls, "__unittest_skip__", False)
        for run in _flat(cls.needed().values())
    ]
    wholes = {run for run in queued if _whole(run) == run}
    for run in queued:
        submit(_whole(run) if _whole(run) in wholes else run, ahead=True)


def _flat(values) -> list:
    """The runs of ``values``, each a run (Cases, PluginSession) or a list of them."""
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


class PluginSessionTestCase(CaseRunsTests):
    """Meta-tests over pytest sessions of tests/plugin_cases.

    ``PREFETCH`` lists the sessions the class's meta-tests read, as the
    ``(args, options)`` of their ``run_session(*args, **options)`` calls: they are
    queued with the runs of every other selected class (see ``CaseRunsTests``),
    and ``run_session`` then gets the one already done. A session not listed runs
    when the meta-test asks for it.
    """

    PREFETCH: tuple = ()

    @classmethod
    def case_runs(cls) -> dict:
        return {
            index: PluginSession.of(*args, **options)
            for index, (args, options) in enumerate(cls.PREFETCH)
        }

    def assertOutcomes(self, session: SessionRun, expected: dict) -> None:
        got = {name: session.outcomes.get(name) for name in expected}
        self.assertEqual(got, expected, session)

    def assertClean(self, session: SessionRun) -> None:
        """Every test passed and the test databases were dropped."""
        self.assertEqual(session.returncode, 0, session)
        self.assertNotIn("being accessed by other users", session.output, session)
        self.assertEqual(session.leftover, [], session)


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
