"""PostgreSQL sessions kept from one AsyncTestCase class to the next (tests/test_sessions.py).

Classes run in the order of their names (both runners). In each pair, the
first class's test leaves on its server session what a rollback does not undo
(an advisory lock, a prepared statement, a sequence's ``currval``); the second
logs what its session holds. ``Django`` classes are the control on
``django.test.TestCase``, whose next class gets a new session. A
``connection_created`` receiver counts new connections and sets
``statement_timeout`` on each, as projects set up their sessions. On MariaDB,
``OursMariaDB`` classes log their session's id: Django's close is kept there.
"""

from asgiref.sync import sync_to_async
from django.db import DatabaseError, connection, transaction
from django.db.backends.signals import connection_created
from django.test import TestCase

from django_async_testcase import AsyncTestCase
from tests.cases.log import log

TIMEOUT = "123s"
created: list[str] = []


def on_created(sender, connection, **kwargs):
    created.append(connection.alias)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = '{TIMEOUT}'")


def server_session():
    """The server's id of this connection's session (PostgreSQL, MariaDB/MySQL)."""
    function = "pg_backend_pid()" if connection.vendor == "postgresql" else "CONNECTION_ID()"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}")
        return cursor.fetchone()[0]


def setUpModule():
    # Not at import: the outer suite imports this module too.
    connection_created.connect(on_created)


def tearDownModule():
    connection_created.disconnect(on_created)


def leave_session_state():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(4242)")
        cursor.execute("PREPARE kept_plan AS SELECT 1")
        cursor.execute("SELECT nextval(pg_get_serial_sequence('auth_user', 'id'))")


def session_state():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), current_setting('statement_timeout'), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND pid = pg_backend_pid()), "
            "(SELECT count(*) FROM pg_prepared_statements WHERE name = 'kept_plan')"
        )
        pid, timeout, locks, plans = cursor.fetchone()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT currval(pg_get_serial_sequence('auth_user', 'id'))")
            currval = "defined"
    except DatabaseError:
        currval = "undefined"
    return {
        "pid": pid,
        "timeout": timeout,
        "advisory_locks": locks,
        "prepared": plans,
        "currval": currval,
        "created": len(created),
    }


def terminate_session():
    """End this connection's server process from another connection, and wait for it."""
    pid = session_state()["pid"]
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    finally:
        other.close()


class LeavesState:
    def test_leaves_session_state(self):
        leave_session_state()
        log(self, "left", **session_state())


class FindsState:
    def test_finds_a_new_session(self):
        log(self, "found", **session_state())


class DjangoSession1Tests(LeavesState, TestCase):
    pass


class DjangoSession2Tests(FindsState, TestCase):
    pass


class DjangoTerminated1Tests(TestCase):
    def test_session_terminated(self):
        log(self, "terminated", **session_state())
        terminate_session()


class DjangoTerminated2Tests(FindsState, TestCase):
    pass


class OursSession1Tests(LeavesState, AsyncTestCase):
    pass


class OursSession2Tests(AsyncTestCase):
    async def test_finds_a_new_session(self):
        log(self, "found", **await sync_to_async(session_state)())


class OursTerminated1Tests(AsyncTestCase):
    def test_session_terminated(self):
        log(self, "terminated", **session_state())
        terminate_session()


class OursTerminated2Tests(FindsState, AsyncTestCase):
    pass


class LogsSession:
    def test_logs_its_session(self):
        log(self, "session", id=server_session())


class OursMariaDB1Tests(LogsSession, AsyncTestCase):
    pass


class OursMariaDB2Tests(LogsSession, AsyncTestCase):
    pass
