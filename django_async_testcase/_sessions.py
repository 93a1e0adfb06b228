"""PostgreSQL server sessions kept from one ``AsyncTestCase`` class to the next.

Django's ``TestCase.tearDownClass`` rolls back the class's transaction, then
closes every connection, so the next class opens new ones: on PostgreSQL each is
a new server process, several milliseconds, more than a whole test costs.
Nothing in a test's outcome depends on the process being new: the class's
rows and settings went with its transaction. What a rollback leaves on a
session, :func:`kept_sessions` clears with ``DISCARD ALL``, the statement
connection poolers use to make a reused session equal to a new one (settings
back to the session's defaults; prepared statements, cursors, ``LISTEN``,
advisory locks, temporary tables and sequence state dropped).

Around Django's ``tearDownClass``, ``close()`` is shadowed on each PostgreSQL
connection object of the thread: a session that is open, outside any
transaction, that the server has sent nothing unasked, and that takes
``DISCARD ALL``, is detached from the connection object, whose own ``close()``
then runs as for a closed connection. After Django's tear-down, Django's
``connect()`` runs on each of them with ``get_new_connection()`` answering the
kept session: ``init_connection_state()`` (time zone, role) and the
``connection_created`` signal run as for a new connection. Anything else (a
session in a failed state, one that died, an error in ``DISCARD ALL``, Django's
connection pool, a backend that overrides these methods, another database) is
closed as Django closes it. The private names touched are in ``_django``
(``shadow``, ``has_postgresql_session_methods``), covered by tests/test_sessions.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from . import _django, _stdlib
from ._roundtrips import IDLE, quiet, transaction_status

__unittest = True  # See _tracebacks.

RESET = "DISCARD ALL"
# The connection objects whose sessions are kept, and each one's DB-API connection.
_Kept = list[tuple[BaseDatabaseWrapper, Any]]


@contextlib.contextmanager
def kept_sessions(candidates: Iterable[BaseDatabaseWrapper]) -> Iterator[None]:
    """Around Django's ``TestCase.tearDownClass``: the PostgreSQL sessions it closes are kept.

    ``candidates``: the connection objects it may close (this thread's
    initialized ones); those of PostgreSQL are kept if they can be reset.
    """
    kept: _Kept = []
    shadowed = [
        (connection, _django.shadow(connection, close=_close(connection, kept)))
        for connection in candidates
        if _django.has_postgresql_session_methods(connection) and not _django.uses_pool(connection)
    ]
    try:
        yield
    except BaseException:
        for _, raw in kept:
            _close_quietly(raw)
        raise
    finally:
        for connection, names in shadowed:
            _django.unshadow(connection, names)
    for connection, raw in kept:
        _reopen(connection, raw)


def _close(connection: BaseDatabaseWrapper, kept: _Kept) -> Callable[[], None]:
    """``connection.close()``, keeping the session in ``kept`` when it can be reset."""

    def close() -> None:
        raw = connection.connection
        if raw is not None and _reusable(connection, raw) and _reset(raw):
            kept.append((connection, raw))
            connection.connection = None  # Django's close() then has no session to close.
        type(connection).close(connection)

    return close


def _reusable(connection: BaseDatabaseWrapper, raw: Any) -> bool:
    return (
        not connection.in_atomic_block
        and not connection.closed_in_transaction
        and _stdlib.running_loop() is None  # Django's connect() refuses to run there.
        and transaction_status(raw) == IDLE
        and quiet(raw)
    )


def _reset(raw: Any) -> bool:
    try:
        with raw.cursor() as cursor:
            cursor.execute(RESET)
    except Exception:
        return False
    return transaction_status(raw) == IDLE


def _reopen(connection: BaseDatabaseWrapper, raw: Any) -> None:
    """Django's ``connect()`` on ``connection``, with ``raw`` as the new session.

    What the backend's ``get_new_connection()`` does besides connecting (the
    isolation level of ``OPTIONS``; psycopg 2's JSONB loader) was done on
    ``raw`` when it was made, with the same settings.
    """
    names = _django.shadow(connection, get_new_connection=lambda params: raw)
    try:
        connection.connect()
    except Exception:
        # Raised again by the next connect(), where Django would raise it.
        with contextlib.suppress(Exception):
            connection.close()
        _close_quietly(raw)
    finally:
        _django.unshadow(connection, names)


def _close_quietly(raw: Any) -> None:
    with contextlib.suppress(Exception):
        raw.close()
