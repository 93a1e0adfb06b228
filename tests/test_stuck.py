"""A stuck sync call never hangs the run: queries in flight are cancelled on the server.

Runs tests/cases/case_stuck.py under both runners on the backend of this run
(a real ``pg_sleep``, ``SLEEP`` or endless recursive query), and interrupts
real runs of tests/cases/case_stuck_interrupt.py with a real SIGINT, beside
the same run of Django's own TestCase (the control).
"""

import os
import signal
import subprocess
import time
from unittest import skipIf

from django.test import SimpleTestCase

from tests.cases import case_cancelled, case_stuck_interrupt
from tests.cases import case_stuck as cases
from tests.harness import (
    PLUGIN_CASES,
    RUNNERS,
    CaseModuleTests,
    Cases,
    PluginSession,
    PluginSessionTestCase,
    case_name,
    in_pool,
    run_session,
    uses,
)
from tests.settings import BACKEND

# What Django prints when a test database cannot be dropped at the end of the run.
UNDROPPABLE = ("being accessed by other users", "Got an error destroying", "database is locked")
# What the query's error says when it was cancelled on the server.
CANCELLED = {
    "postgresql": "canceling statement due to user request",
    "mysql": "Query execution was interrupted",
    "sqlite": "interrupted",
}[BACKEND]
# Where Ctrl-C cannot stop a query that runs on the interrupted thread itself
# (sqlite3 and mysqlclient wait in C; psycopg cancels it on KeyboardInterrupt).
CONTROL_HANGS = ("sqlite", "mysql")
# Seconds from the interrupting SIGINT to the query's end, and to the run's exit
# (beyond the control's). Measured with a load of 6 on 2 cores, one run at a time:
# 0.001-0.01 s and 0.2-2 s; the bounds leave room for a loaded machine (a hang
# would be the query's 1e6 s).
QUERY_CANCELLED_WITHIN = 3.0
EXITS_WITHIN = 15.0


class StuckCallTests(CaseModuleTests):
    module = cases

    def assertCancelledAndClean(self, run, cls):
        """The query of ``cls``'s first test was cancelled; its next test started clean."""
        label = (run.runner, case_name(cls))
        self.assertNotIn("[harness] killed", run.output, label)
        for text in UNDROPPABLE:
            self.assertNotIn(text, run.output, label)
        [ended] = run.event_data("query ended", of=cls)
        self.assertIn(CANCELLED, ended["error"], label)
        self.assertEqual([e["rows"] for e in run.event_data("clean", of=cls)], [0], label)
        for event in run.event_data("rows_after", of=cls):
            self.assertEqual(set(event["counts"].values()), {0}, (label, event))

    def assertOneFailure(self, run, test):
        """``test`` failed once: the timeout's failure says how the stuck call ended."""
        found = [r for r in run.records if r["test"] == case_name(test) and not r["subtest"]]
        self.assertEqual(len(found), 1, (run.runner, found))
        self.assertIn(found[0]["outcome"], ("failed", "error"), run.runner)

    @uses(cases.StuckQueryTests)
    def test_budget_runs_out_during_a_query(self):
        test = cases.StuckQueryTests.test_a_query_never_returns
        for run in self.each_run():
            details = run.details(test)
            self.assertOneFailure(run, test)
            self.assertIn("AsyncTestTimeout: The test timed out after 1 s", details)
            self.assertIn("await sync_to_async(stuck_query)(self)", details)
            self.assertIn("its query on the database 'default' was cancelled", details)
            self.assertNotIn("LeftoverTasks", details, run.runner)
            self.assertCancelledAndClean(run, cases.StuckQueryTests)

    @uses(cases.QueryOutlivesTestTests)
    def test_query_outlives_the_test(self):
        test = cases.QueryOutlivesTestTests.test_a_leaves_its_query_running
        for run in self.each_run():
            self.assertIn("its query on the database 'default' was cancelled", run.details(test))
            self.assertCancelledAndClean(run, cases.QueryOutlivesTestTests)

    @uses(cases.StuckOutsideDatabaseTests)
    def test_call_stuck_outside_the_database_is_left(self):
        test = cases.StuckOutsideDatabaseTests.test_a_sleeps
        for run in self.each_run():
            details = run.details(test)
            self.assertOneFailure(run, test)
            self.assertIn("AsyncTestTimeout: The test timed out after 1 s", details)
            self.assertIn("it was left to finish on its own thread", details)
            self.assertNotIn("LeftoverTasks", details, run.runner)
            self.assertEqual(
                [e["rows"] for e in run.event_data("clean", of=cases.StuckOutsideDatabaseTests)],
                [0],
            )
            self.assertEqual(run.returncode, 1, run.output)

    @skipIf(BACKEND == "sqlite", "SQLite has no row locks")
    @uses(cases.ForeignConnectionWaitsTests)
    def test_foreign_connection_waiting_for_the_rollback(self):
        test = cases.ForeignConnectionWaitsTests.test_a_deadlock
        for run in self.each_run():
            self.assertNotIn("[harness] killed", run.output)
            details = run.details(test)
            self.assertIn("AsyncTestTimeout: The test timed out after 1 s", details)
            self.assertNotIn("ProgrammingError", run.output, run.runner)
            next_test = run.event_data("clean", of=cases.ForeignConnectionWaitsTests)
            self.assertEqual([e["rows"] for e in next_test], [0], run.runner)
            # It ended after the rollback (with the lock, or with its connection closed).
            self.assertEqual(len(run.event_data("foreign query ended")), 1, run.runner)


class CancelledTests(CaseModuleTests):
    """A test that cancels itself keeps its message and line; loop.stop() is reported once."""

    module = case_cancelled

    def test_cancelled_error_keeps_its_message_and_line(self):  # With the control.
        for run in self.each_run():
            for cls in (case_cancelled.CancelledTests, case_cancelled.ControlCancelledTests):
                name = f"{cls.__name__}.test_raises_cancelled_error"
                details = run.details(name)
                self.assertIn("CancelledError: the test's own message", details, run.runner)
                self.assertIn('raise asyncio.CancelledError("the test\'s own message")', details)
                name = f"{cls.__name__}.test_cancels_its_own_task"
                details = run.details(name)
                self.assertIn("CancelledError: cancelled by the test", details, run.runner)
                self.assertIn("await asyncio.sleep(1)", details, run.runner)

    def test_loop_stop_is_reported_once(self):
        name = "CancelledTests.test_stops_the_loop"
        for run in self.each_run():
            self.assertEqual(run.outcome(name), "error" if run.runner == "unittest" else "failed")
            self.assertEqual(len([r for r in run.records if r["test"] == name]), 1, run.output)
            details = run.details(name)
            self.assertIn("Event loop stopped before Future completed.", details, run.runner)
            self.assertNotIn("LeftoverTasks", details, run.runner)


class ControlBudgetTests(SimpleTestCase):
    """The control of StuckQueryTests: Django's TestCase + pytest-timeout hangs instead."""

    def test_control_hangs(self):
        still_running, run = in_pool(control_budget_run).result()
        self.assertTrue(still_running, run.output)
        self.assertEqual([e["event"] for e in run.events if e["event"] == "clean"], [])


def control_budget_run():
    """Run the control; kill it 3 s after its query started. Returns (whether it
    was still running then, the run)."""
    suffix = f"stuckcontrol{os.getpid()}"
    cases = Cases.of(
        case_stuck_interrupt,
        "pytest",
        env={"DAT_DB_SUFFIX": suffix},
        classes=["ControlBudgetTests"],
    )
    started = cases.start()
    try:
        wait_for_query(started)
        # pytest-timeout's 1 s has run out for 2 s: its failure is raised on
        # the test's thread, in the driver's wait (PostgreSQL) or not at all
        # (SQLite, mysqlclient), and the query or the rollback keeps waiting.
        time.sleep(3)
        still_running = started.proc.poll() is None
    finally:
        started.proc.kill()
        run = started.finish(timeout=10)
        clean_server([suffix])
    return still_running, run


def existing_test_databases(suffix):
    """The test databases of the run whose names end with ``suffix``, left on the server."""
    if BACKEND == "postgresql":
        query = f"SELECT datname FROM pg_database WHERE datname LIKE 'test\\_dat\\_%\\_{suffix}'"
        command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", query]
    elif BACKEND == "mysql":
        query = f"SHOW DATABASES LIKE 'test\\_dat\\_%\\_{suffix}'"
        command = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-e", query]
    else:
        return []
    return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.split()


def sql(database, query):
    if BACKEND == "postgresql":
        command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc", query]
    else:
        command = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-N", "-D", database, "-e", query]
    return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()


def drop(database):
    if BACKEND == "postgresql":
        sql("postgres", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    else:
        sql("mysql", f"DROP DATABASE IF EXISTS `{database}`")


def clean_server(suffixes):
    """Stop the queries the killed controls left, and drop every test database of the runs."""
    for suffix in suffixes:
        if BACKEND == "mysql":
            ids = sql(
                "mysql",
                "SELECT id FROM information_schema.processlist "
                f"WHERE db LIKE 'test\\_dat\\_%\\_{suffix}'",
            )
            for thread_id in ids.split():
                sql("mysql", f"KILL {int(thread_id)}")
        for database in existing_test_databases(suffix):
            drop(database)


def interrupted_run(cls, runner, keepdb, suffix):
    """Run ``cls`` of case_stuck_interrupt; Ctrl-C once its query runs.

    Returns (the run, the time of the interrupting SIGINT, seconds from it to
    the run's exit, the run's database suffix). Django's runner takes the first Ctrl-C
    as "stop after this test" and the second as the interrupt: it gets two.
    """
    args = () if not keepdb else ("--keepdb",) if runner == "unittest" else ("--reuse-db",)
    cases = Cases.of(
        case_stuck_interrupt, runner, *args, env={"DAT_DB_SUFFIX": suffix}, classes=[cls]
    )
    started = cases.start()
    sent = wait_and_interrupt(started, times=2 if runner == "unittest" else 1)
    interrupted = time.monotonic()
    # Django's own path cannot stop SQLite's and mysqlclient's query: the control is killed.
    control_hangs = cls.startswith("Control") and BACKEND in CONTROL_HANGS
    run = started.finish(timeout=3 if control_hangs else 60)
    return run, sent, time.monotonic() - interrupted, suffix


class InterruptTests(SimpleTestCase):
    """Ctrl-C while a query runs stops the run as promptly as Django's own TestCase."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        calls = [
            (klass, runner, keepdb)
            for runner in RUNNERS
            for klass, keepdb in (
                ("InterruptedQueryTests", False),
                ("ControlInterruptedQueryTests", False),
                ("InterruptedQueryTests", True),
            )
            if not (keepdb and BACKEND == "sqlite")  # In memory: nothing to keep.
        ]
        suffixes = [f"stuck{os.getpid()}x{index}" for index in range(len(calls))]
        cls.addClassCleanup(clean_server, suffixes)
        jobs = [in_pool(interrupted_run, *call, suffix) for call, suffix in zip(calls, suffixes)]
        cls.runs = {call: job.result() for call, job in zip(calls, jobs, strict=True)}

    def test_interrupt_cancels_the_query_and_stops_the_run(self):
        for runner in RUNNERS:
            run, sent, seconds, suffix = self.runs["InterruptedQueryTests", runner, False]
            _, _, control_seconds, _ = self.runs["ControlInterruptedQueryTests", runner, False]
            label = (runner, run.output)
            self.assertNotIn("[harness] killed", run.output, label)
            # The query is cancelled at once; the run then ends about as the
            # control's (which, on SQLite and MariaDB, waits for the query).
            [ended] = run.event_data("query ended")
            self.assertLess(ended["at"] - sent, QUERY_CANCELLED_WITHIN, label)
            limit = EXITS_WITHIN + (0 if BACKEND in CONTROL_HANGS else control_seconds)
            self.assertLessEqual(seconds, limit, label)
            # Django's runner dies of the SIGINT (a shell says 130); pytest exits with 2.
            self.assertEqual(run.returncode, -signal.SIGINT if runner == "unittest" else 2, label)
            self.assertIn(CANCELLED, ended["error"], label)
            [rows] = run.event_data("rows_after")
            self.assertEqual(rows["counts"], {"default": 0}, label)
            self.assertEqual(run.event_data("ran after the interrupt"), [], label)
            for text in (*UNDROPPABLE, "ProgrammingError", "LeftoverTasks", "ExceptionGroup"):
                self.assertNotIn(text, run.output, label)
            self.assertEqual(existing_test_databases(suffix), [], label)

    def test_control(self):
        for runner in RUNNERS:
            run, _, _, suffix = self.runs["ControlInterruptedQueryTests", runner, False]
            if BACKEND in CONTROL_HANGS:
                self.assertIn("[harness] killed", run.output, runner)
                continue
            self.assertNotIn("[harness] killed", run.output, runner)
            self.assertEqual(run.returncode, -signal.SIGINT if runner == "unittest" else 2)
            self.assertEqual(existing_test_databases(suffix), [], runner)

    @skipIf(BACKEND == "sqlite", "SQLite's test databases are in memory")
    def test_kept_databases_have_no_rows(self):
        for runner in RUNNERS:
            run, _, _, suffix = self.runs["InterruptedQueryTests", runner, True]
            kept = existing_test_databases(suffix)
            self.assertTrue(kept, (runner, run.output))
            for database in kept:
                self.assertEqual(sql(database, "SELECT count(*) FROM testapp_item"), "0")


class PluginTests(PluginSessionTestCase):
    """The same under the pytest plugin, on function tests (tests/plugin_cases/test_stuck.py)."""

    PREFETCH = (((f"{PLUGIN_CASES}/test_stuck.py",), {}),)

    @classmethod
    def setUpClass(cls):
        cls.interrupted_session = in_pool(interrupted_session)
        super().setUpClass()

    def test_budget_runs_out_during_a_query(self):
        session = run_session(f"{PLUGIN_CASES}/test_stuck.py")
        events = session.events
        # One failure: the timeout's, which says the query was cancelled.
        self.assertEqual(session.outcomes["test_a_query_never_returns"], "failed", session)
        self.assertNotIn("LeftoverTasks", session.output, session)
        message = session.messages["test_a_query_never_returns"]
        self.assertIn("AsyncTestTimeout: The test timed out after 1 s", session.output)
        self.assertIn("its query on the database 'default' was cancelled", message, session)
        self.assertEqual(session.outcomes["test_b_next"], "passed", session)
        [ended] = [e for e in events if e["event"] == "query ended"]
        self.assertIn(CANCELLED, ended["error"])
        if BACKEND != "sqlite":
            # pytest-asyncio's runner waited for the foreign connection, which
            # waited for the rollback: the foreign query is cancelled first.
            test = "test_c_foreign_connection_waits_for_the_rollback"
            self.assertEqual(session.outcomes[test], "failed", session)
            self.assertIn("AsyncTestTimeout", session.messages[test], session)
            [ended] = [e for e in events if e["event"] == "foreign query ended"]
            self.assertIn(CANCELLED, ended["error"])
            self.assertEqual(session.outcomes["test_d_next"], "passed", session)
        self.assertEqual(session.leftover, [], session)
        self.assertNotIn("being accessed by other users", session.output, session)

    def test_interrupt(self):
        session, sent, seconds, left = self.interrupted_session.result()
        output, events = session.output, session.events
        self.assertEqual(session.returncode, 2, output)
        [ended] = [e for e in events if e["event"] == "query ended"]
        self.assertIn(CANCELLED, ended["error"], output)
        self.assertLess(ended["at"] - sent, QUERY_CANCELLED_WITHIN, output)
        self.assertLess(seconds, EXITS_WITHIN, output)
        for text in ("ExceptionGroup", "LeftoverTasks", "ProgrammingError", *UNDROPPABLE):
            self.assertNotIn(text, output)
        self.assertEqual(left, [], output)


def interrupted_session():
    """The plugin's session interrupted by a SIGINT once its query runs.

    Returns (the SessionRun, time of the SIGINT, seconds from it to the exit,
    test databases left).
    """
    suffix = f"stuckplugin{os.getpid()}"
    session = PluginSession.of(
        f"{PLUGIN_CASES}/test_stuck.py",
        env={"STUCK_INTERRUPT": "1"},
        suffix=suffix,
        keep_databases=True,
    )
    try:
        started = session.start()
        sent = wait_and_interrupt(started)
        interrupted = time.monotonic()
        run = started.finish(timeout=60)
        seconds = time.monotonic() - interrupted
        left = existing_test_databases(suffix)
    finally:
        clean_server([suffix])
    return run, sent, seconds, left


def wait_for_query(started):
    """Wait (60 s at most) until the run logged "query started" or ended."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and started.proc.poll() is None:
        if any(e["event"] == "query started" for e in started.events()):
            break
        time.sleep(0.05)


def wait_and_interrupt(started, times=1):
    """Once the run logged "query started", send it SIGINT ``times``; return the time."""
    wait_for_query(started)
    time.sleep(0.3)  # The query is on the server now.
    for _ in range(times - 1):
        started.proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    started.proc.send_signal(signal.SIGINT)
    return time.time()
