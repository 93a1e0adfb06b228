"""The pytest plugin, in real pytest sessions over tests/plugin_cases, each with a control run.

Each session (tests/harness.py: ``PluginSession``) runs in a subprocess on
the backend DJANGO_ASYNC_TESTCASE_DB selects, with its own ini file (no xdist
unless the test is about it), its own test database names, and a JUnit report
read back for the outcomes. The control runs the same files with the plugin
switched off and shows the leak or error the plugin prevents.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from unittest import skipUnless

from django.test import SimpleTestCase

from tests.harness import (
    PLUGIN_CASES,
    ROOT,
    PluginSession,
    PluginSessionTestCase,
    drop_test_databases,
    in_pool,
    run_session,
)
from tests.settings import BACKEND

CASES = PLUGIN_CASES
HAS_TRIO = importlib.util.find_spec("trio") is not None
HAS_NO_CHANNELS = importlib.util.find_spec("channels") is None


ROLLBACK_TESTS = [
    "test_orm_calls",
    "test_async_fixture",
    "test_sync_fixtures_are_seen",
    "test_async_client",
    "test_gather",
    "test_aliases",
    "test_all_databases",
    "test_transaction_true_flushes",
    "test_transactional_db",
    "test_zz_nothing_left",
]


class RollbackTests(PluginSessionTestCase):
    """Rows of async tests, async and sync fixtures, async_client, gather, aliases roll back."""

    PREFETCH = (
        ((f"{CASES}/test_rollback.py",), {"mode": "strict"}),
        ((f"{CASES}/test_rollback.py",), {"mode": "auto"}),
        ((f"{CASES}/test_rollback.py",), {"runner": "anyio"}),
        ((f"{CASES}/test_rollback.py",), {"plugin": False}),
    )

    def check(self, **kwargs):
        session = run_session(f"{CASES}/test_rollback.py", **kwargs)
        self.assertClean(session)
        self.assertOutcomes(session, dict.fromkeys(ROLLBACK_TESTS, "passed"))

    def test_pytest_asyncio_strict(self):
        self.check(mode="strict")

    def test_pytest_asyncio_auto(self):
        self.check(mode="auto")

    def test_anyio(self):
        self.check(runner="anyio")

    def test_control_leaks(self):
        session = run_session(f"{CASES}/test_rollback.py", plugin=False)
        self.assertNotEqual(session.returncode, 0, session)
        # The first test's rows are committed: every later rollback test sees them
        # (PostgreSQL, MariaDB), or SQLite's other connection finds the table locked.
        self.assertEqual(session.outcomes["test_orm_calls"], "passed", session)
        self.assertIn(session.outcomes["test_zz_nothing_left"], ("failed", "failed+error"), session)
        self.assertEqual(session.outcomes["test_sync_fixtures_are_seen"], "failed", session)
        if BACKEND == "postgresql":
            # asgiref's thread keeps its connection to the test database open, so
            # pytest-django cannot drop it (it warns, and the session passes on).
            self.assertNotEqual(session.leftover, [], session)


class XdistTests(PluginSessionTestCase):
    PREFETCH = (((f"{CASES}/test_rollback.py", "-n", "2", "--dist=loadfile"), {}),)

    def test_xdist(self):
        session = run_session(f"{CASES}/test_rollback.py", "-n", "2", "--dist=loadfile")
        self.assertClean(session)
        self.assertOutcomes(session, dict.fromkeys(ROLLBACK_TESTS, "passed"))


class GuardTests(PluginSessionTestCase):
    PREFETCH = (
        ((f"{CASES}/test_guards.py",), {}),
        ((f"{CASES}/test_guards.py",), {"plugin": False}),
    )

    def test_guards(self):
        session = run_session(f"{CASES}/test_guards.py")
        self.assertOutcomes(
            session,
            {
                "test_foreign_thread": "failed",
                "test_leftover_task": "failed",
                "test_leftover_task_allowed": "passed",
                "test_timeout": "failed",
                "test_zz_nothing_written": "passed",
                "test_never_awaited": "failed",
                "test_never_awaited_allowed": "passed",
            },
        )
        messages = session.messages
        self.assertIn("NeverAwaited", messages["test_never_awaited"], session)
        self.assertIn("QuerySet.acreate' was never awaited", messages["test_never_awaited"])
        self.assertIn(
            'Item.objects.acreate(name="a forgotten await")', messages["test_never_awaited"]
        )
        self.assertIn("ForeignThreadDatabaseAccess", messages["test_foreign_thread"], session)
        self.assertIn("forgotten-sleeper", messages["test_leftover_task"], session)
        self.assertIn("LeftoverTasks", messages["test_leftover_task"], session)
        self.assertIn("timed out after 0.3 s", messages["test_timeout"], session)
        # The traceback starts at the user's code, not at the plugin's.
        self.assertNotIn("pytest_plugin.py", messages["test_timeout"], session)
        self.assertNotIn("being accessed by other users", session.output, session)

    def test_control(self):
        session = run_session(f"{CASES}/test_guards.py", plugin=False)
        # Nothing notices the forgotten task, the slow test or the forgotten await.
        self.assertEqual(session.outcomes["test_leftover_task"], "passed", session)
        self.assertEqual(session.outcomes["test_never_awaited"], "passed", session)
        self.assertEqual(session.outcomes["test_timeout"], "passed", session)
        # The thread's row was committed, outside the test's transaction.
        self.assertEqual(session.outcomes["test_foreign_thread"], "passed", session)
        self.assertEqual(session.outcomes["test_zz_nothing_written"], "failed", session)


STEP_GUARDS = f"{CASES}/test_step_guards.py"
STEP_GUARD_OUTCOMES = {
    "test_fixture_hangs_in_set_up": "error",
    "test_sync_test_fixture_hangs": "error",
    "test_fixture_hangs_in_tear_down": "error",
    "test_fixture_leaves_a_task": "error",
    "test_fixture_cancels_its_task": "passed",
    "test_plain_thread": "failed",
    "test_background_error": "failed",
    "test_everything_together": "failed",
    "test_zz_nothing_left": "passed",
    "test_sleeps_past_an_ini_timeout": "passed",
    "test_timeout_mark_without_seconds": "error",
    "test_allow_mark_with_an_argument": "error",
}


class StepGuardTests(PluginSessionTestCase):
    """The guards watch every step: async fixtures' set-up and tear-down, and the test."""

    PREFETCH = (
        ((STEP_GUARDS,), {"mode": "strict"}),
        ((STEP_GUARDS,), {"mode": "auto"}),
        ((STEP_GUARDS,), {"runner": "anyio"}),
        ((STEP_GUARDS, "-k", "not hangs"), {"plugin": False}),
        ((STEP_GUARDS, "-k", "ini_timeout", "-o", "async_timeout=0.2"), {}),
    )

    def check(self, **kwargs):
        session = run_session(STEP_GUARDS, **kwargs)
        self.assertOutcomes(session, STEP_GUARD_OUTCOMES)
        messages = session.messages
        hangs = [
            ("test_fixture_hangs_in_set_up", "setup", "in hangs_in_set_up"),
            ("test_fixture_hangs_in_tear_down", "teardown", "in hangs_in_tear_down"),
        ]
        if kwargs.get("runner") != "anyio":  # anyio runs no async fixture of a sync test.
            hangs.append(("test_sync_test_fixture_hangs", "setup", "in hangs_in_set_up"))
        for name, step, line in hangs:
            # Within the budget, pointing at the fixture's line.
            self.assertIn(f"failed on {step}", messages[name], session)
            self.assertIn("timed out after 0.5 s", messages[name], session)
            self.assertIn(line, messages[name], session)
        message = messages["test_fixture_leaves_a_task"]
        self.assertIn("failed on teardown", message, session)
        self.assertIn("LeftoverTasks", message, session)
        self.assertIn("fixture-sleeper", message, session)
        self.assertIn("the tear-down of the fixture 'leaves_a_task'", message, session)
        self.assertIn("ForeignThreadDatabaseAccess", messages["test_plain_thread"], session)
        # anyio's runner has an exception handler of its own, which raises the error.
        self.assertIn("invalid literal for int()", messages["test_background_error"], session)
        together = messages["test_everything_together"]
        for part in (
            "the test's own failure",
            "Database access from another thread was refused",
            "together-sleeper",
            "QuerySet.acount' was never awaited",
        ):
            self.assertIn(part, together, session)
        self.assertIn(
            "missing 1 required positional argument: 'seconds'",
            messages["test_timeout_mark_without_seconds"],
            session,
        )
        self.assertIn(
            "allow_leftover_tasks() takes 0 positional arguments",
            messages["test_allow_mark_with_an_argument"],
            session,
        )
        self.assertNotIn("being accessed by other users", session.output, session)
        self.assertEqual(session.leftover, [], session)

    def test_pytest_asyncio_strict(self):
        self.check(mode="strict")

    def test_pytest_asyncio_auto(self):
        self.check(mode="auto")

    def test_anyio(self):
        self.check(runner="anyio")

    def test_control(self):
        session = run_session(STEP_GUARDS, "-k", "not hangs", plugin=False)
        # Nothing notices the fixture's task, the callback's error or the thread.
        for name in ("test_fixture_leaves_a_task", "test_background_error"):
            self.assertEqual(session.outcomes[name], "passed", session)
        if BACKEND != "sqlite":  # SQLite: "database table is locked" in the thread.
            self.assertEqual(session.outcomes["test_plain_thread"], "passed", session)
            # The threads' rows were committed.
            self.assertEqual(session.outcomes["test_zz_nothing_left"], "failed", session)

    def test_ini_timeout_from_the_command_line(self):
        session = run_session(STEP_GUARDS, "-k", "ini_timeout", "-o", "async_timeout=0.2")
        self.assertOutcomes(session, {"test_sleeps_past_an_ini_timeout": "failed"})
        self.assertIn(
            "timed out after 0.2 s (-o async_timeout=0.2 on the command line)",
            session.messages["test_sleeps_past_an_ini_timeout"],
            session,
        )


STOPPING = f"{CASES}/test_stopping_tasks.py"
STOPPING_OUTCOMES = {
    "test_task_cancels_its_children_on_the_way_out": "passed",
    "test_owner_freed_by_the_garbage_collector_stops_its_task": "passed",
    "test_a_child_nobody_stops_is_a_leftover": "failed",
    "test_communicator_alive_at_the_end": "passed",
    "test_communicator_held_by_a_handled_exception": "passed",
    "test_views_background_task_uses_the_orm_after_the_response": "passed",
    "test_websocket_communicator_without_disconnect": "passed",
    "test_http_communicator_on_a_plain_consumer": "passed",
}


class StoppingTaskTests(PluginSessionTestCase):
    """Tasks on their way out are not leftovers, a task nobody stops is; the executor chain."""

    PREFETCH = (
        ((STOPPING,), {"mode": "strict"}),
        ((STOPPING,), {"runner": "anyio"}),
        ((STOPPING,), {"plugin": False}),
    )

    def check(self, **kwargs):
        session = run_session(STOPPING, **kwargs)
        expected = dict(STOPPING_OUTCOMES)
        if HAS_NO_CHANNELS:
            for name in expected:
                if "communicator" in name:
                    expected[name] = "skipped"
        self.assertOutcomes(session, expected)
        message = session.messages["test_a_child_nobody_stops_is_a_leftover"]
        self.assertIn("nobody-stops-me", message, session)
        self.assertNotIn("name='stopped'", message, session)
        self.assertEqual(session.leftover, [], session)

    def test_pytest_asyncio(self):
        self.check(mode="strict")

    def test_anyio(self):
        self.check(runner="anyio")

    def test_control(self):
        session = run_session(STOPPING, plugin=False)
        # No leftover-task guard; and with no test executor to walk back to,
        # asgiref refuses the background task's ORM call ("CurrentThreadExecutor
        # already quit or is broken"; asgiref 3.8: "Single thread executor
        # already being used").
        self.assertEqual(session.outcomes["test_a_child_nobody_stops_is_a_leftover"], "passed")
        name = "test_views_background_task_uses_the_orm_after_the_response"
        self.assertEqual(session.outcomes[name], "failed", session)
        self.assertIn("RuntimeError", session.messages[name], session)


FIXTURE_OWNED = f"{CASES}/test_fixture_owned_tasks.py"
FIXTURE_OWNED_OUTCOMES = {
    "test_communicator_the_fixture_stops": "passed",
    "test_tasks_the_fixture_cancels": "passed",
    # Passed in the call; the leftover fails it at its fixture's tear-down.
    "test_a_task_nobody_stops_fails_after_the_fixtures": "error",
    "test_fixture_set_up_before_the_database": "passed",
}


class EachRunner:
    """A case file's session under each async runner (``check(**options)``), and its control."""

    @staticmethod
    def sessions(path):
        """The PREFETCH of the sessions over ``path``."""
        runs = ({"mode": "strict"}, {"mode": "auto"}, {"runner": "anyio"}, {"plugin": False})
        return tuple(((path,), options) for options in runs)

    def test_pytest_asyncio_strict(self):
        self.check(mode="strict")

    def test_pytest_asyncio_auto(self):
        self.check(mode="auto")

    def test_anyio(self):
        self.check(runner="anyio")


class FixtureOwnedTaskTests(EachRunner, PluginSessionTestCase):
    """A task the test starts and a fixture stops is judged after the fixture's tear-down."""

    PREFETCH = EachRunner.sessions(FIXTURE_OWNED)

    def check(self, **kwargs):
        session = run_session(FIXTURE_OWNED, **kwargs)
        self.assertOutcomes(session, FIXTURE_OWNED_OUTCOMES)
        message = session.messages["test_a_task_nobody_stops_fails_after_the_fixtures"]
        self.assertIn("LeftoverTasks", message, session)
        self.assertIn("nobody-stops-me", message, session)
        # Reported once: the task the fixture cancels is not named.
        self.assertEqual(message.count("<Task"), 1, session)
        self.assertEqual(session.leftover, [], session)

    def test_control(self):
        # No leftover-task guard: every shape passes, as it must with the plugin.
        session = run_session(FIXTURE_OWNED, plugin=False)
        self.assertOutcomes(session, dict.fromkeys(FIXTURE_OWNED_OUTCOMES, "passed"))


CANCELLED_TEARDOWN = f"{CASES}/test_cancelled_teardown.py"
CANCELLED_TEARDOWN_OUTCOMES = {
    "test_a_teardown_raises_cancelled_error": "error",
    "test_b_async_next": "passed",
    "test_c_sync_next": "passed",
    "test_d_setup_raises_cancelled_error": "error",
    "test_e_test_awaits_a_cancelled_task": "failed",
    "test_f_sync_next": "passed",
}


class CancelledTearDownTests(EachRunner, PluginSessionTestCase):
    """A step raising CancelledError is one error of its test; its rows roll back."""

    PREFETCH = EachRunner.sessions(CANCELLED_TEARDOWN)

    def check(self, **kwargs):
        session = run_session(CANCELLED_TEARDOWN, **kwargs)
        self.assertOutcomes(session, CANCELLED_TEARDOWN_OUTCOMES)
        message = session.messages["test_a_teardown_raises_cancelled_error"]
        self.assertIn(
            "The tear-down of the fixture 'careless_stopper' raised CancelledError", message
        )
        self.assertIn("await task  # The slip", message, session)
        if sys.version_info >= (3, 11):  # 3.10 leaves a set-up's as it is (pytest copes).
            self.assertIn(
                "The set-up of the fixture 'careless_setup' raised CancelledError",
                session.messages["test_d_setup_raises_cancelled_error"],
            )
        self.assertNotIn("ForeignThreadDatabaseAccess", session.output, session)
        self.assertNotIn("being accessed by other users", session.output, session)
        self.assertEqual(session.leftover, [], session)

    def test_control_leaks(self):
        # pytest stops at the CancelledError: the rollback of the first test
        # never runs, and every later test finds its rows.
        session = run_session(CANCELLED_TEARDOWN, plugin=False)
        for name in ("test_b_async_next", "test_c_sync_next", "test_f_sync_next"):
            self.assertEqual(session.outcomes[name], "failed", session)


class IniOriginTests(SimpleTestCase):
    """Where the async_timeout ini option came from, as the timeout's message says."""

    def origin(self, override_ini=None, args=(), inipath=None):
        from types import SimpleNamespace

        from django_async_testcase.pytest_plugin import _ini_origin

        config = SimpleNamespace(
            option=SimpleNamespace(override_ini=override_ini),
            invocation_params=SimpleNamespace(args=args),
            inipath=inipath,
        )
        return _ini_origin(config, "2")

    def test_file(self):
        self.assertEqual(self.origin(inipath=Path("/p/tox.ini")), "async_timeout = 2 in tox.ini")

    def test_command_line(self):
        self.assertEqual(
            self.origin(["async_timeout=2"], ("-o", "async_timeout=2"), Path("/p/pytest.ini")),
            "-o async_timeout=2 on the command line",
        )

    def test_addopts(self):
        self.assertEqual(
            self.origin(["async_timeout=2"], ("tests",), Path("/p/pytest.ini")),
            "-o async_timeout=2 in PYTEST_ADDOPTS or the addopts ini option",
        )


class QueryFixtureTests(PluginSessionTestCase):
    PREFETCH = (
        ((f"{CASES}/test_query_fixtures.py",), {"mode": "auto"}),
        ((f"{CASES}/test_query_fixtures.py",), {"plugin": False}),
    )
    TESTS = {
        "test_num_queries_with": "passed",
        "test_num_queries_async_with": "passed",
        "test_max_num_queries": "passed",
        "test_num_queries_counts": "xfail",
        "test_on_commit_async_with": "passed",
        "test_on_commit_with": "passed",
        "test_sync_unchanged": "passed",
    }

    def test_fixtures(self):
        session = run_session(f"{CASES}/test_query_fixtures.py", mode="auto")
        self.assertClean(session)
        self.assertOutcomes(session, self.TESTS)

    def test_control(self):
        session = run_session(f"{CASES}/test_query_fixtures.py", plugin=False)
        self.assertIn("SynchronousOnlyOperation", session.messages["test_num_queries_with"])
        self.assertEqual(session.outcomes["test_on_commit_with"], "failed", session)
        self.assertEqual(session.outcomes["test_sync_unchanged"], "passed", session)


FEATURE_TESTS = [
    "test_serialized_rollback_deletes",
    "test_serialized_rollback_restored",
    "test_sequence_advances",
    "test_reset_sequences",
    "test_aliases_transaction_true",
    "test_live_server",
]


class PytestDjangoFeatureTests(PluginSessionTestCase):
    """serialized_rollback, reset_sequences, databases with transaction=True, live_server."""

    PREFETCH = (
        ((f"{CASES}/test_features.py",), {}),
        ((f"{CASES}/test_features.py",), {"plugin": False}),
    )

    def test_features(self):
        session = run_session(f"{CASES}/test_features.py")
        self.assertClean(session)
        self.assertOutcomes(session, dict.fromkeys(FEATURE_TESTS, "passed"))

    def test_control(self):
        # These tests commit and pytest-django flushes: the same without the plugin.
        session = run_session(f"{CASES}/test_features.py", plugin=False)
        self.assertOutcomes(session, dict.fromkeys(FEATURE_TESTS, "passed"))


class ReuseDbTests(PluginSessionTestCase):
    """Two sessions with --reuse-db: the second finds nothing of the first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Each pair runs in turn; the two pairs (plugin on, off) side by side.
        cls.pairs = {plugin: in_pool(cls.run_twice, plugin) for plugin in (True, False)}

    @staticmethod
    def run_twice(plugin):
        directory = tempfile.mkdtemp(prefix="dat-reuse-")
        suffix = f"reuse{os.getpid()}{plugin:d}"
        args = ["--reuse-db", "--ds", "tests.plugin_cases.settings_file_sqlite"]
        try:
            reused = PluginSession.of(
                *args,
                f"{CASES}/test_reuse_db.py",
                plugin=plugin,
                suffix=suffix,
                keep_databases=True,
                env={"DAT_SQLITE_DIR": directory},
            )
            # Not through ``run_session``: the same session twice, in turn.
            return [reused.run() for _ in range(2)]
        finally:
            drop_test_databases(suffix)
            shutil.rmtree(directory, ignore_errors=True)

    def test_reuse_db(self):
        first, second = self.pairs[True].result()
        self.assertOutcomes(first, {"test_writes": "passed"})
        self.assertOutcomes(second, {"test_writes": "passed"})

    def test_control(self):
        first, second = self.pairs[False].result()
        # The first session's row was committed into the kept database.
        self.assertOutcomes(first, {"test_writes": "passed"})
        self.assertOutcomes(second, {"test_writes": "failed"})
        self.assertIn("assert 1 == 0", second.messages["test_writes"], second)


FACTORY_TESTS = ["test_factory_boy", "test_model_bakery", "test_pytest_factoryboy"]


class FactoryTests(PluginSessionTestCase):
    """factory_boy, model_bakery and pytest-factoryboy in sync fixtures, with and without db."""

    PREFETCH = (
        ((f"{CASES}/test_factories.py",), {}),
        ((f"{CASES}/test_factories.py",), {"plugin": False}),
    )

    def test_factories(self):
        session = run_session(f"{CASES}/test_factories.py")
        self.assertClean(session)
        self.assertOutcomes(
            session, dict.fromkeys([*FACTORY_TESTS, "test_zz_nothing_left"], "passed")
        )

    def test_control(self):
        session = run_session(f"{CASES}/test_factories.py", plugin=False)
        # The async test does not see the fixtures' rows (or finds the table locked).
        self.assertOutcomes(session, dict.fromkeys(FACTORY_TESTS, "failed"))


class ClassFixtureTests(PluginSessionTestCase):
    """Async fixtures defined as methods of a pytest test class."""

    PREFETCH = (
        ((f"{CASES}/test_class_fixtures.py",), {}),
        ((f"{CASES}/test_class_fixtures.py",), {"runner": "anyio"}),
        ((f"{CASES}/test_class_fixtures.py",), {"plugin": False}),
    )

    TESTS = {
        "test_bound_to_the_test_instance": "passed",
        "test_rolled_back": "passed",
        "test_zz_nothing_left": "passed",
    }

    def test_pytest_asyncio(self):
        session = run_session(f"{CASES}/test_class_fixtures.py")
        self.assertClean(session)
        self.assertOutcomes(session, self.TESTS)

    def test_anyio(self):
        session = run_session(f"{CASES}/test_class_fixtures.py", runner="anyio")
        self.assertClean(session)
        self.assertOutcomes(session, self.TESTS)

    def test_control(self):
        session = run_session(f"{CASES}/test_class_fixtures.py", plugin=False)
        # Bound the same way, but the rows are committed.
        self.assertEqual(session.outcomes["test_bound_to_the_test_instance"], "passed", session)
        self.assertEqual(session.outcomes["test_zz_nothing_left"], "failed", session)


class CloseOldConnectionsTests(PluginSessionTestCase):
    """Channels' database_sync_to_async and the request signals keep the transaction."""

    PREFETCH = (((f"{CASES}/test_close_old_connections.py",), {}),)

    def test_close_old_connections(self):
        session = run_session(f"{CASES}/test_close_old_connections.py")
        # In-memory SQLite is never closed: only the other backends need the protection.
        unprotected = "passed" if BACKEND == "sqlite" else "failed"
        self.assertOutcomes(
            session,
            {
                "test_database_sync_to_async": "passed",
                "test_request_signals": "passed",
                "test_unprotected": unprotected,
                "test_zz_nothing_left": "passed",
            },
        )
        if BACKEND != "sqlite":
            # The connection was closed inside the transaction: psycopg says so;
            # Django, on MariaDB, refuses the next query of the broken transaction.
            message = session.messages["test_unprotected"]
            self.assertRegex(
                message, "the connection is closed|TransactionManagementError", session
            )
        self.assertEqual(session.leftover, [], session)


class ErrorTests(PluginSessionTestCase):
    """Loops the plugin cannot serve fail with a message naming the fix."""

    TRIO_MESSAGE = "only on an asyncio event loop"
    THREAD_MESSAGE = "runs on an event loop in the thread 'loop thread'"
    THREAD_RUNNER = ("-p", "no:asyncio", "-p", "tests.plugin_cases._thread_runner")
    PREFETCH = (
        ((*THREAD_RUNNER, f"{CASES}/test_loop_thread.py"), {"runner": "none"}),
        ((*THREAD_RUNNER, f"{CASES}/test_loop_thread.py"), {"runner": "none", "plugin": False}),
    )

    def test_no_asyncio_loop(self):
        # What a step on trio meets (asyncio has no running loop), without trio.
        from django_async_testcase._engine import ServedTest

        served = ServedTest()
        step = served.run_step("test", asyncio.sleep(0))
        with self.assertRaisesMessage(RuntimeError, self.TRIO_MESSAGE) as caught:
            step.send(None)
        self.assertIn("-p no:django_async_testcase", str(caught.exception))
        self.assertIn("anyio_backend fixture returning 'asyncio'", str(caught.exception))
        served.close()

    @skipUnless(HAS_TRIO, "trio is not installed (it is not in the test extra)")
    def test_trio(self):
        session = run_session(f"{CASES}/test_trio.py", runner="anyio")
        self.assertOutcomes(session, {"test_on_trio": "failed"})
        self.assertIn(self.TRIO_MESSAGE, session.messages["test_on_trio"], session)
        self.assertIn("-p no:django_async_testcase", session.messages["test_on_trio"], session)

    @skipUnless(HAS_TRIO, "trio is not installed (it is not in the test extra)")
    def test_trio_control(self):
        session = run_session(f"{CASES}/test_trio.py", runner="anyio", plugin=False)
        # asgiref's own error, which names no fix.
        self.assertOutcomes(session, {"test_on_trio": "failed"})
        self.assertIn("no running event loop", session.messages["test_on_trio"], session)
        self.assertNotIn(self.TRIO_MESSAGE, session.messages["test_on_trio"], session)

    def test_loop_in_another_thread(self):
        session = run_session(*self.THREAD_RUNNER, f"{CASES}/test_loop_thread.py", runner="none")
        self.assertOutcomes(
            session,
            {
                "test_loop_in_another_thread": "failed",
                "test_zz_nothing_left": "passed",
                "test_loop_in_another_thread_transactional": "passed",
            },
        )
        message = session.messages["test_loop_in_another_thread"]
        self.assertIn(self.THREAD_MESSAGE, message, session)
        self.assertIn("transaction=True", message, session)
        self.assertEqual(session.leftover, [], session)

    def test_loop_in_another_thread_control(self):
        session = run_session(
            *self.THREAD_RUNNER, f"{CASES}/test_loop_thread.py", runner="none", plugin=False
        )
        # The row is committed by asgiref's thread; the next test sees it.
        self.assertOutcomes(
            session, {"test_loop_in_another_thread": "passed", "test_zz_nothing_left": "failed"}
        )


class LoopScopeTests(PluginSessionTestCase):
    PREFETCH = (((f"{CASES}/test_loop_scopes.py",), {}),)

    def test_module_loop_scope(self):
        session = run_session(f"{CASES}/test_loop_scopes.py")
        self.assertClean(session)
        self.assertOutcomes(
            session,
            {"test_first": "passed", "test_second": "passed", "test_zz_nothing_left": "passed"},
        )


class UnchangedTests(PluginSessionTestCase):
    PREFETCH = (
        ((f"{CASES}/test_sync_only.py", "-p", "no:asyncio"), {"runner": "none"}),
        ((f"{CASES}/test_sync_only.py", "-p", "no:asyncio"), {"runner": "none", "plugin": False}),
    )

    def test_sync_tests_and_classes(self):
        on = run_session(f"{CASES}/test_sync_only.py", "-p", "no:asyncio", runner="none")
        off = run_session(
            f"{CASES}/test_sync_only.py", "-p", "no:asyncio", runner="none", plugin=False
        )
        self.assertClean(on)
        self.assertEqual(on.outcomes, off.outcomes, f"{on}\n\n{off}")
        self.assertEqual(len(on.outcomes), 5, on)


FAKE_PYTEST_DJANGO_ASYNCIO = '''\
"""Stands for pytest-django-asyncio: only its module name matters."""
'''


class ConflictTests(PluginSessionTestCase):
    def test_pytest_django_asyncio_is_refused(self):
        fake = Path(tempfile.mkdtemp(prefix="dat-fake-"))
        try:
            (fake / "pytest_django_asyncio").mkdir()
            (fake / "pytest_django_asyncio" / "__init__.py").write_text(FAKE_PYTEST_DJANGO_ASYNCIO)
            (fake / "pytest_django_asyncio" / "plugin.py").write_text("")
            env = {"PYTHONPATH": os.pathsep.join([str(ROOT), str(fake)])}
            session = run_session(
                "-p", "pytest_django_asyncio.plugin", f"{CASES}/test_rollback.py", env=env
            )
            self.assertEqual(session.returncode, 4, session)  # pytest's usage error.
            self.assertIn("Uninstall pytest-django-asyncio", session.output, session)
            self.assertIn("-p no:django_async_testcase", session.output, session)
            off = run_session(
                "-p", "pytest_django_asyncio.plugin", f"{CASES}/test_sync_only.py",
                "-p", "no:asyncio", runner="none", env=env, plugin=False,
            )  # fmt: skip
            self.assertEqual(off.returncode, 0, off)
        finally:
            shutil.rmtree(fake, ignore_errors=True)
