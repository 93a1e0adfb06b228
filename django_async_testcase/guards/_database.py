"""Catch database access from threads other than the test's own and its database worker.

Such a connection is outside the test's transaction: by default it is refused
with :class:`ForeignThreadDatabaseAccess`; when allowed, it is closed at the end
of the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

from .._cancel_queries import CANCEL_TIMEOUT, QueryCanceller
from ._failures import ForeignThreadDatabaseAccess

__unittest = True  # See _tracebacks.


class DatabaseGuard:
    """Watch connections opened during one test by threads other than its own.

    Hooks Django's ``connection_created`` signal, sent by every backend once a
    new connection is set up. pytest-django's database blocker replaces
    ``BaseDatabaseWrapper.ensure_connection`` process-wide, so a guard there
    would be undone; the signal is left alone by everyone.
    """

    def __init__(self, test: str, refuse: bool, allow_hint: str) -> None:
        self.test = test
        self.refuse = refuse
        #: How the message says to allow such access.
        self.allow_hint = allow_hint
        # The test's own threads, asked at each connection (set by start()).
        self._threads: Callable[[], tuple[threading.Thread, ...]]
        self.refused: list[ForeignThreadDatabaseAccess] = []
        self.opened: list[BaseDatabaseWrapper] = []
        # The queries in flight on ``opened``, cancelled when the test ends.
        self._queries = QueryCanceller()
        self._previous: DatabaseGuard | None = None
        # Refusals seen leaving a step of the test (so the test failed with them).
        self._reached: set[int] = set()

    def start(self, threads: Callable[[], tuple[threading.Thread, ...]]) -> None:
        """Watch connections opened by threads other than ``threads()`` (asked each time)."""
        self._threads = threads
        global _active_database_guard
        self._previous, _active_database_guard = _active_database_guard, self

    def connection_created(self, connection: BaseDatabaseWrapper) -> None:
        __tracebackhide__ = True  # pytest: the failure points at the code that connected.
        thread = threading.current_thread()
        own = self._threads()
        if thread in own:
            return
        # django-async-backend's async connections send this signal too: they
        # are closed by their own code (awaited), never from here.
        is_sync = isinstance(connection, BaseDatabaseWrapper)
        if not self.refuse:
            if is_sync:
                self.opened.append(connection)
                self._queries.watch([connection])
            return
        # Close it before anything runs on it: the next attempt from that
        # thread is refused the same way. SQLite's close() keeps in-memory
        # databases open, so call the base class's close directly.
        if is_sync:
            BaseDatabaseWrapper.close(connection)
        message = (
            f"{self.test} used the database {connection.alias!r} from the thread "
            f"{thread.name!r}, not from the test's database thread {own[0].name!r}. "
            f"That connection is outside the test's transaction: its writes would "
            f"outlive the test and could lock the test database. Run database code "
            f"with `await sync_to_async(func)()` (thread_sensitive=True, the default) "
            f"or the async ORM instead of asyncio.to_thread(), "
            f"sync_to_async(thread_sensitive=False), threads or thread pools; or "
            f"{self.allow_hint}."
        )
        exc = ForeignThreadDatabaseAccess(message)
        self.refused.append(exc)
        raise exc

    def reached(self, error: BaseException) -> None:
        """A step of the test raised ``error``: the refusals it carries reached the test."""
        seen: set[int] = set()
        found: BaseException | None = error
        while found is not None and id(found) not in seen:
            seen.add(id(found))
            if isinstance(found, ForeignThreadDatabaseAccess):
                self._reached.add(id(found))
            found = found.__cause__ or found.__context__

    def unreported(self) -> list[str]:
        """Messages of the refusals that never reached the test (a thread swallowed them)."""
        return [
            str(exc)
            for exc in self.refused
            if id(exc) not in self._reached and not _reached_test(exc)
        ]

    def forget_refused(self) -> None:
        """Forget the refusals so far (they were reported)."""
        self.refused.clear()
        self._reached.clear()

    def cancel_queries(self) -> None:
        """Cancel the queries in flight on the connections other threads opened.

        Called when the test's code has ended, before its runner waits for the
        loop's default executor: such a query may wait for a lock of the
        test's transaction, which only the rollback releases. Waits up to
        ``CANCEL_TIMEOUT`` s for them to end.
        """
        if self._queries.cancel():
            self._queries.wait(CANCEL_TIMEOUT)

    def stop(self) -> None:
        """Stop watching; close the connections other threads opened during the test."""
        global _active_database_guard
        if _active_database_guard is self:
            _active_database_guard = self._previous
        self._queries.unwatch()
        for connection in self.opened:
            if connection.connection is None:
                continue
            connection.inc_thread_sharing()
            try:
                BaseDatabaseWrapper.close(connection)
            except DatabaseError:
                pass  # Busy in its thread (MySQL refuses then): left to that thread.
            finally:
                connection.dec_thread_sharing()
        self.opened.clear()


def _reached_test(exc: BaseException) -> bool:
    """Whether ``exc`` propagated up to unittest's code that runs a (sync) test method."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "unittest.case":
            return True
        tb = tb.tb_next
    return False


_active_database_guard: DatabaseGuard | None = None


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    guard = _active_database_guard
    if guard is not None:
        guard.connection_created(connection)


connection_created.connect(_on_connection_created, dispatch_uid="django_async_testcase.guards")
