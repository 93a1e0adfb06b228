"""Cancel, from another thread, the query a test's connection has in flight on the server.

When a test ends (its budget ran out, it was interrupted, or it returned)
while a sync call on its database worker is still running, Django's
tear-down would wait for the connection that call holds: the rollback cannot
start before the query returns. :class:`QueryCanceller` knows which of the
test's connections have a query in flight (a Django execute wrapper counts
them) and cancels those, the way each backend allows from another thread:

- PostgreSQL: the driver's ``cancel_safe()`` (psycopg 3) or ``cancel()``
  (psycopg 2), made for this; the query fails with ``QueryCanceled``.
- MySQL and MariaDB: ``KILL QUERY <connection id>`` from a new connection;
  the query fails with "Query execution was interrupted".
- SQLite: ``Connection.interrupt()``; the query fails with "interrupted".

A connection with nothing in flight is never touched, and a cancel is only
sent while the execute wrapper holds the query as in flight: the query
cannot return to Django, and the connection cannot start the next one (say,
the test's rollback), until the cancel request has been delivered. PostgreSQL
and MySQL ignore a cancel that reaches an idle session, and SQLite clears an
interrupt when its next statement starts with none running, so a cancel that
arrives just after its query ended does not kill the next one. Covered by
tests/test_stuck.py (real runs, each backend) and tests/test_cancel_queries.py
(an idle connection is not touched, and a cancel reaching one does not kill
its next query).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from . import _django

__unittest = True  # See _tracebacks.

#: Seconds a cancel request may take to reach the server.
CANCEL_TIMEOUT = 2.0


class QueryCanceller:
    """Track the queries in flight on some connections; cancel them on demand."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Per connection: queries in flight, and the MySQL connection id.
        self._in_flight: dict[BaseDatabaseWrapper, int] = {}
        self._mysql_ids: dict[BaseDatabaseWrapper, tuple[Any, int]] = {}
        self._watched: list[BaseDatabaseWrapper] = []
        self._wrapper = self._execute

    def watch(self, connections: list[BaseDatabaseWrapper]) -> None:
        """Count the queries run through Django's cursors of ``connections``."""
        for connection in connections:
            _django.add_execute_wrapper(connection, self._wrapper)
            self._watched.append(connection)

    def unwatch(self) -> None:
        """Stop counting."""
        for connection in self._watched:
            _django.remove_execute_wrapper(connection, self._wrapper)
        self._watched = []
        with self._lock:
            self._in_flight.clear()
            self._mysql_ids.clear()

    def _execute(
        self, execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        connection: BaseDatabaseWrapper = context["connection"]
        if connection.vendor == "mysql":
            self._note_mysql_id(connection)
        # One thread at a time runs queries on a connection: no lock needed here.
        self._in_flight[connection] = self._in_flight.get(connection, 0) + 1
        try:
            return execute(sql, params, many, context)
        finally:
            # Waits while a cancel is being sent (see the module's docstring).
            with self._lock:
                count = self._in_flight.pop(connection, 1) - 1
                if count:
                    self._in_flight[connection] = count

    def _note_mysql_id(self, connection: BaseDatabaseWrapper) -> None:
        # mysqlclient refuses any call on a connection busy in another
        # thread: read the id here, on the thread about to run the query.
        raw = connection.connection
        known = self._mysql_ids.get(connection)
        if known is None or known[0] is not raw:
            self._mysql_ids[connection] = (raw, raw.thread_id())

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s until no query is in flight; False if one still is."""
        deadline = time.monotonic() + timeout
        while self._in_flight:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def cancel(self) -> list[str]:
        """Cancel the query in flight on each watched connection; return their aliases."""
        cancelled = []
        with self._lock:
            for connection, count in list(self._in_flight.items()):
                if count > 0 and _cancel(connection, self._mysql_ids.get(connection)):
                    cancelled.append(connection.alias)
        return cancelled


def _cancel(connection: BaseDatabaseWrapper, mysql_id: tuple[Any, int] | None) -> bool:
    """Ask the server to cancel ``connection``'s query; False where the backend cannot."""
    raw = connection.connection
    if raw is None:
        return False
    try:
        if connection.vendor == "postgresql":
            cancel_safe = getattr(raw, "cancel_safe", None)  # psycopg >= 3.2
            if cancel_safe is not None:
                cancel_safe(timeout=CANCEL_TIMEOUT)
            else:
                raw.cancel()
            return True
        if connection.vendor == "sqlite":
            raw.interrupt()
            return True
        if connection.vendor == "mysql" and mysql_id is not None and mysql_id[0] is raw:
            _kill_query(connection, mysql_id[1])
            return True
    except Exception:  # The server is gone or refused: nothing more to do from here.
        return False
    return False


def _kill_query(connection: BaseDatabaseWrapper, thread_id: int) -> None:
    """``KILL QUERY`` from a connection of its own, with the same settings."""
    killer = _django.new_raw_connection(connection, connect_timeout=int(CANCEL_TIMEOUT))
    try:
        with contextlib.closing(killer.cursor()) as cursor:
            cursor.execute(f"KILL QUERY {int(thread_id)}")
    finally:
        killer.close()
