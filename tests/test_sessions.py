"""PostgreSQL sessions kept between AsyncTestCase classes, equal to new ones (_sessions).

Runs tests/cases/case_sessions.py under both runners; each check on our
classes is made beside the same classes on ``django.test.TestCase``, whose
next class gets a new server session.
"""

import os
import unittest

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.signals import connection_created
from django.test import SimpleTestCase

from django_async_testcase import _django, _sessions
from tests.cases import case_sessions as cases
from tests.harness import (
    RUNNERS,
    CaseRunsTests,
    Cases,
    drop_test_databases,
    leftover_databases,
)
from tests.settings import BACKEND


def suffix(runner):
    return f"ks{os.getpid()}{runner[0]}"


@unittest.skipUnless(BACKEND == "postgresql", "PostgreSQL's sessions (others: Django's close)")
class KeptSessionTests(CaseRunsTests):
    @classmethod
    def case_runs(cls):
        return {
            runner: Cases.of(cases, runner, env={"DAT_DB_SUFFIX": suffix(runner)})
            for runner in RUNNERS
        }

    @classmethod
    def tearDownClass(cls):
        # Left only when a run failed to drop them (the check below then fails).
        for runner in RUNNERS:
            drop_test_databases(suffix(runner))
        super().tearDownClass()

    def state(self, run, event, cls):
        [data] = run.event_data(event, of=cls)
        return data

    def test_the_next_class_finds_a_session_as_new(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            for prefix in ("Django", "Ours"):
                first = getattr(cases, f"{prefix}Session1Tests")
                second = getattr(cases, f"{prefix}Session2Tests")
                for cls in (first, second):
                    test = f"{cls.__name__}.test_" + (
                        "leaves_session_state" if cls is first else "finds_a_new_session"
                    )
                    self.assertEqual(run.outcome(test), "passed", run.why(test))
                left, found = self.state(run, "left", first), self.state(run, "found", second)
                # What the first class's test left was there at its end...
                self.assertEqual(
                    (left["advisory_locks"], left["prepared"], left["currval"]),
                    (1, 1, "defined"),
                    left,
                )
                # ...and the next class finds none of it; the project's
                # connection_created receiver ran once more, its setting is on.
                self.assertEqual(
                    (found["advisory_locks"], found["prepared"], found["currval"]),
                    (0, 0, "undefined"),
                    (runner, prefix, found),
                )
                self.assertEqual(found["timeout"], cases.TIMEOUT, found)
                self.assertEqual(found["created"], left["created"] + 1, (runner, prefix))
                # The difference: Django's next class has a new server process,
                # ours the same one.
                same = found["pid"] == left["pid"]
                self.assertEqual(same, prefix == "Ours", (runner, prefix, left, found))

    def test_a_terminated_session_is_not_kept(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            for name in ("Terminated1Tests", "Terminated2Tests"):
                django = [r["outcome"] for r in run.records_of(f"Django{name}")]
                ours = [r["outcome"] for r in run.records_of(f"Ours{name}")]
                self.assertEqual(ours, django, (runner, name, run.output))
            terminated = self.state(run, "terminated", cases.OursTerminated1Tests)
            found = self.state(run, "found", cases.OursTerminated2Tests)
            self.assertNotEqual(found["pid"], terminated["pid"])
            self.assertEqual(found["timeout"], cases.TIMEOUT, found)

    def test_test_databases_dropped(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            self.assertNotIn("being accessed by other users", run.output)
            self.assertEqual(leftover_databases(suffix(runner)), [], run.output[-3000:])


@unittest.skipUnless(BACKEND == "mysql", "MariaDB's sessions")
class MariaDBSessionTests(CaseRunsTests):
    """MariaDB: each class gets a new session, as Django's TestCase gives it."""

    @classmethod
    def case_runs(cls):
        classes = (cases.OursMariaDB1Tests, cases.OursMariaDB2Tests)
        return {runner: Cases.of(cases, runner, classes=classes) for runner in RUNNERS}

    def test_each_class_gets_a_new_session(self):
        for runner in RUNNERS:
            run = self.runs[runner]
            first = run.event_data("session", of=cases.OursMariaDB1Tests)
            second = run.event_data("session", of=cases.OursMariaDB2Tests)
            self.assertEqual((len(first), len(second)), (1, 1), run.output)
            self.assertNotEqual(first[0]["id"], second[0]["id"], runner)


@unittest.skipUnless(BACKEND == "postgresql", "PostgreSQL's sessions")
class KeptSessionUnitTests(SimpleTestCase):
    """kept_sessions() in-process, on connection objects of this test's own."""

    # Connection objects of these tests' own, outside any test transaction.
    databases = {DEFAULT_DB_ALIAS}

    def connect(self):
        connection = connections.create_connection(DEFAULT_DB_ALIAS)
        connection.ensure_connection()
        self.addCleanup(connection.close)
        return connection

    def query(self, connection, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def created(self):
        """The connection objects connection_created is sent for, from now on."""
        seen = []

        def receiver(sender, connection, **kwargs):
            seen.append(connection)

        connection_created.connect(receiver)
        self.addCleanup(connection_created.disconnect, receiver)
        return seen

    def test_a_healthy_session_is_reset_and_connected_again(self):
        connection = self.connect()
        pid = self.query(connection, "SELECT pg_backend_pid()")
        self.query(connection, "SELECT pg_advisory_lock(4242)::text")
        created = self.created()
        with _sessions.kept_sessions([connection]):
            connection.close()
            self.assertIsNone(connection.connection)  # Closed, to Django's eyes.
            self.assertEqual(created, [])
        self.assertEqual(created, [connection])
        self.assertEqual(self.query(connection, "SELECT pg_backend_pid()"), pid)
        locks = f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid}"
        self.assertEqual(self.query(connection, locks), 0)

    def test_a_session_in_a_transaction_is_closed(self):
        connection = self.connect()
        raw = connection.connection
        connection.set_autocommit(False)
        self.query(connection, "SELECT 1")
        with _sessions.kept_sessions([connection]):
            connection.close()
        self.assertIsNone(connection.connection)
        self.assertTrue(raw.closed)

    def test_a_dead_session_is_closed(self):
        connection = self.connect()
        raw = connection.connection
        pid = self.query(connection, "SELECT pg_backend_pid()")
        other = self.connect()
        self.assertTrue(self.query(other, f"SELECT pg_terminate_backend({pid}, 5000)"))
        with _sessions.kept_sessions([connection]):
            connection.close()
        self.assertIsNone(connection.connection)
        self.assertTrue(raw.closed)

    def test_a_backend_that_closes_its_own_way_is_left_alone(self):
        connection = self.connect()
        raw = connection.connection
        closed = []

        class OwnClose(type(connection)):
            def _close(self):
                closed.append(self)
                super()._close()

        connection.__class__ = OwnClose
        with _sessions.kept_sessions([connection]):
            connection.close()
        self.assertEqual(closed, [connection])
        self.assertTrue(raw.closed)

    def test_django_pool_is_left_alone(self):
        connection = connections.create_connection(DEFAULT_DB_ALIAS)
        connection.settings_dict = {
            **connection.settings_dict,
            "OPTIONS": {**connection.settings_dict["OPTIONS"], "pool": True},
        }
        self.assertTrue(_django.uses_pool(connection))
        self.assertFalse(_django.uses_pool(self.connect()))

    def test_an_error_in_connect_is_raised_at_the_next_use_as_in_django(self):
        connection = self.connect()
        raw = connection.connection

        def broken(sender, connection, **kwargs):
            raise RuntimeError("receiver broken")

        connection_created.connect(broken)
        try:
            with _sessions.kept_sessions([connection]):
                connection.close()
            self.assertIsNone(connection.connection)
            self.assertTrue(raw.closed)
            with self.assertRaisesMessage(RuntimeError, "receiver broken"):
                connection.ensure_connection()
        finally:
            connection_created.disconnect(broken)
        self.assertEqual(self.query(connection, "SELECT 1"), 1)
