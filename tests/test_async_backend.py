"""django-async-backend's true-async ORM shares each test's transaction with Django's ORM.

Runs tests/cases/case_async_backend.py (our classes, then django-async-backend's
own AsyncioTestCase as the control) under Django's runner and pytest, serially
and in two processes, and tests/plugin_cases/test_async_backend.py in pytest
sessions with the plugin (and without it: the control), all with
tests/settings_async_backend.py. Skipped unless django-async-backend is installed
and the suite runs on PostgreSQL (its only backend).
"""

import os
import shutil
import tempfile
import unittest

from tests.async_backend import REASON, SETTINGS, USABLE, case_options
from tests.cases import case_async_backend as cases
from tests.harness import (
    PLUGIN_CASES,
    RUNNERS,
    CaseRunsTests,
    Cases,
    PluginSession,
    PluginSessionTestCase,
    drop_test_databases,
    in_pool,
    leftover_databases,
    run_session,
)

FILE = f"{PLUGIN_CASES}/test_async_backend.py"
skip_unless_usable = unittest.skipUnless(USABLE, REASON)

PARALLEL = {"unittest": ("--parallel", "2"), "pytest": ("-n", "2", "--dist", "load")}
SHARED_TESTS = [
    "test_async_atomic_is_a_savepoint",
    "test_async_orm_sees_sync_rows",
    "test_on_commit_captured",
    "test_on_commit_never_runs",
    "test_other_alias",
    "test_query_counting",
    "test_sync_test_async_to_sync",
    "test_task_started_by_test",
    "test_view_behind_async_client",
]


# Django's --parallel pickles each test for its workers, and unittest's
# IsolatedAsyncioTestCase (so django-async-backend's AsyncioTestCase) holds a
# contextvars.Context, which cannot be pickled: the control runs serially only.
OURS = (
    "ForeignThreadTests",
    "InterleavedAtomicTests",
    "LiveServerTests",
    "SharedTransactionTests",
    "TimeoutTests",
    "TransactionTests",
)


def case_run(runner, *args, suffix="", classes=()):
    """A run of the case module with django-async-backend's settings."""
    settings, env = case_options(runner, suffix)
    return Cases.of(cases, runner, *settings, *args, env=env, classes=classes)


def suffix(runner):
    return f"ab{os.getpid()}{runner[0]}"


@skip_unless_usable
class AsyncBackendCaseTests(CaseRunsTests):
    """AsyncTestCase, AsyncTransactionTestCase and the control, under both runners."""

    @classmethod
    def case_runs(cls):
        runs = {runner: case_run(runner, suffix=suffix(runner)) for runner in RUNNERS}
        runs.update(
            {
                (runner, "parallel"): case_run(runner, *PARALLEL[runner], classes=OURS)
                for runner in RUNNERS
            }
        )
        return runs

    @classmethod
    def tearDownClass(cls):
        # Left only when a run failed to drop them (the check below then fails).
        for runner in RUNNERS:
            drop_test_databases(suffix(runner))
        super().tearDownClass()

    def each_run(self):
        return [self.runs[runner] for runner in RUNNERS]

    def test_both_orms_share_one_transaction(self):
        for run in self.each_run():
            for name in SHARED_TESTS:
                test = f"SharedTransactionTests.{name}"
                self.assertEqual(run.outcome(test), "passed", run.why(test))
                # Each test starts with setUpTestData's and setUp's rows only: nothing
                # of an earlier test is left, setUpTestData's row is restored.
                [start] = run.event_data("start", of=test)
                self.assertEqual(start["names"], ["class", "setup"], start)
            [seen] = run.event_data("seen")
            self.assertEqual(seen["asynchronous"], ["async", "class", "setup"], seen)
            self.assertEqual(seen["sync"], seen["asynchronous"], seen)
            self.assertIs(seen["same_session"], True, seen)
            [other] = run.event_data("other")
            self.assertEqual((other["sync"], other["same_session"]), (1, True), other)
            [counted] = run.event_data("counted")
            self.assertEqual(len(counted["sql"]), 1, counted)
            self.assertIn("testapp_item", counted["sql"][0], counted)
            [sync_test] = run.event_data("sync test")
            self.assertEqual((sync_test["count"], sync_test["sync"]), (3, 3), sync_test)

    def test_tasks_and_views_behind_async_client(self):
        for run in self.each_run():
            [tasks] = run.event_data("tasks")
            # Four writes of tasks (gather, create_task, async_new_connection).
            self.assertEqual((max(tasks["counts"]), tasks["sync"]), (6, 6), tasks)
            [view] = run.event_data("view")
            self.assertEqual(view["response"], ["class", "setup", "view"], view)
            self.assertEqual(view["sync"], view["response"], view)

    def test_async_atomic_is_a_savepoint(self):
        for run in self.each_run():
            [atomic] = run.event_data("atomic")
            # The failing block undid only itself; durable=True at the test's top
            # level is allowed, as atomic(durable=True) in TestCase, not nested.
            self.assertEqual(atomic["names"], ["class", "durable", "setup", "sync in async"])
            self.assertIn("durable atomic block cannot be nested", atomic["nested_durable"])
            self.assertIs(atomic["in_block"], True, atomic)

    def test_on_commit_callbacks(self):
        for run in self.each_run():
            [captured] = run.event_data("captured")
            self.assertEqual((captured["callbacks"], captured["ran"]), (1, [2]), captured)
            self.assertIs(captured["equal"], True, captured)  # The docs say so.
            test = cases.SharedTransactionTests.test_on_commit_never_runs
            self.assertEqual(len(run.event_data("registered", of=test)), 1, run.output)
            self.assertEqual(run.event_data("on_commit ran"), [], run.output)

    def test_stuck_query_cancelled_at_the_budget(self):
        for run in self.each_run():
            test = cases.TimeoutTests.test_stuck_query
            self.assertIn("timed out after 1 s", run.why(test))
            self.assertIn("cancelled on the server", run.why(test))
            [cleanup] = run.event_data("cleanup", of=test)
            self.assertLess(cleanup["seconds"], 5, cleanup)
            after = cases.TimeoutTests.test_after_stuck_query
            self.assertEqual(run.outcome(after), "passed", run.why(after))
            [after_event] = run.event_data("after")
            self.assertEqual(after_event["names"], [], after_event)

    def test_foreign_thread_refused(self):
        for run in self.each_run():
            test = cases.ForeignThreadTests.test_foreign_thread
            if run.outcome(test) == "passed":
                # Served (asgiref < 3.13 copies the routing into the thread).
                [foreign] = run.event_data("foreign")
                self.assertIs(foreign["same_session"], True, foreign)
            else:
                self.assertIn(run.outcome(test), ("failed", "error"), run.why(test))
                self.assertIn("ForeignThreadDatabaseAccess", run.why(test))
                self.assertIn("outside the test's transaction", run.why(test))
            after = cases.ForeignThreadTests.test_after_foreign_thread
            self.assertEqual(run.outcome(after), "passed", run.why(after))

    def test_interleaved_atomic_blocks(self):
        for run in self.each_run():
            test = cases.InterleavedAtomicTests.test_interleaved_atomic_blocks
            self.assertIn(run.outcome(test), ("failed", "error"), run.why(test))
            self.assertIn("a block ended before one that began after it", run.why(test))
            after = cases.InterleavedAtomicTests.test_after_interleaved_blocks
            self.assertEqual(run.outcome(after), "passed", run.why(after))
            [event] = run.event_data("after interleaved")
            self.assertEqual(event["names"], [], event)

    def test_transaction_test_case_commits_and_flushes(self):
        for run in self.each_run():
            for test in (cases.TransactionTests.test_commits, cases.TransactionTests.test_flushed):
                self.assertEqual(run.outcome(test), "passed", run.why(test))
                [start] = run.event_data("start", of=test)
                self.assertEqual(start["names"], [], start)
            [committed] = run.event_data("committed")
            self.assertEqual(
                (committed["ran"], committed["in_transaction"], committed["sync"]),
                ([1], False, 1),
                committed,
            )

    def test_live_server(self):
        for run in self.each_run():
            test = cases.LiveServerTests.test_view_on_the_live_server
            self.assertEqual(run.outcome(test), "passed", run.why(test))
            [live] = run.event_data("live")
            # Its thread commits on a connection of its own, closed at the test's end.
            self.assertEqual((live["items"], live["sync"]), (["test", "view"], 2), live)

    def test_control_its_own_test_case(self):
        for run in self.each_run():
            test = cases.ZzAsyncioTestCaseControl.test_its_own_class
            self.assertEqual(run.outcome(test), "passed", run.why(test))
            [control] = run.event_data("control")
            # It ran after ours and found nothing of theirs left.
            self.assertEqual(run.events[-1]["event"], "control", run.events[-3:])
            self.assertEqual(control["names"], [], control)
            # The difference: two sessions, the async ORM does not see the sync
            # ORM's rows in its transaction (ours: one, see the first meta-test).
            self.assertEqual(control["seen"], ["theirs"], control)
            self.assertIs(control["same_session"], False, control)

    def test_test_databases_dropped(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            self.assertNotIn("being accessed by other users", run.output)
            self.assertEqual(leftover_databases(suffix(runner)), [], run.output[-3000:])

    def test_parallel_runs_same_outcomes(self):
        for runner in RUNNERS:
            serial, parallel = self.runs[runner], self.runs[runner, "parallel"]
            outcomes = {
                (r["test"], r["outcome"]) for r in serial.records if r["test"].split(".")[0] in OURS
            }
            self.assertEqual(
                {(r["test"], r["outcome"]) for r in parallel.records},
                outcomes,
                f"{parallel.command}\n{parallel.output[-3000:]}",
            )
            self.assertNotIn("being accessed by other users", parallel.output)


PLUGIN_TESTS = [
    "test_sees_sync_fixture",
    "test_sync_test_async_to_sync",
    "test_async_fixture",
    "test_task_and_view",
    "test_savepoint_and_on_commit",
    "test_transaction_true_commits",
    "test_zz_nothing_left",
]
NOT_STUCK = ("-k", "not stuck")


@skip_unless_usable
class AsyncBackendPluginTests(PluginSessionTestCase):
    """Function-style tests with the plugin; the control without it."""

    PREFETCH = (
        ((FILE, "--ds", SETTINGS), {}),
        ((FILE, "--ds", SETTINGS), {"runner": "anyio"}),
        ((FILE, "--ds", SETTINGS, *NOT_STUCK), {"plugin": False}),
        ((FILE, "--ds", SETTINGS, *NOT_STUCK, "-n", "2"), {}),
    )

    def check(self, session, stuck=True):
        self.assertEqual(session.leftover, [], session)
        self.assertNotIn("being accessed by other users", session.output, session)
        self.assertOutcomes(session, dict.fromkeys(PLUGIN_TESTS, "passed"))
        if stuck:
            # One failure at the budget, saying that its query was cancelled on
            # the server (so the rollback ran, and the next test passed).
            self.assertEqual(session.outcomes["test_stuck_query_cancelled"], "failed", session)
            message = session.messages["test_stuck_query_cancelled"]
            self.assertIn("timed out after 1 s", message, session)
            self.assertIn("cancelled on the server", message, session)

    def test_pytest_asyncio(self):
        self.check(run_session(FILE, "--ds", SETTINGS))

    def test_anyio(self):
        self.check(run_session(FILE, "--ds", SETTINGS, runner="anyio"))

    def test_xdist(self):
        session = run_session(FILE, "--ds", SETTINGS, *NOT_STUCK, "-n", "2")
        self.assertEqual(session.returncode, 0, session)
        self.check(session, stuck=False)

    def test_control(self):
        session = run_session(FILE, "--ds", SETTINGS, *NOT_STUCK, plugin=False)
        # The async ORM does not see the sync fixture's row; its writes are
        # committed (the last test sees them); its connection keeps the test
        # database, which pytest-django cannot drop.
        self.assertEqual(session.outcomes["test_sees_sync_fixture"], "failed", session)
        self.assertEqual(session.outcomes["test_zz_nothing_left"], "failed", session)
        self.assertNotEqual(session.leftover, [], session)


@skip_unless_usable
class AsyncBackendReuseDbTests(PluginSessionTestCase):
    """--reuse-db: the second session finds nothing of the first, and its database is kept."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pair = in_pool(cls.run_twice)

    @staticmethod
    def run_twice():
        name = f"abreuse{os.getpid()}"
        directory = tempfile.mkdtemp(prefix="dat-reuse-")
        try:
            reused = PluginSession.of(
                "--reuse-db", "--ds", SETTINGS, *NOT_STUCK, FILE, suffix=name, keep_databases=True
            )
            return [reused.run() for _ in range(2)]
        finally:
            drop_test_databases(name)
            shutil.rmtree(directory, ignore_errors=True)

    def test_reuse_db(self):
        for session in self.pair.result():
            self.assertEqual(session.returncode, 0, session)
            self.assertOutcomes(session, dict.fromkeys(PLUGIN_TESTS, "passed"))
