"""Every use of Django's private API, in one place, each with the test that covers it."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from django import test as django_test
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

# TestData is the descriptor TestCase.setUpClass wraps setUpTestData's
# attributes in (each test then reads a deep copy). Not in django-stubs;
# covered by tests/test_test_data.py.
from django.test.testcases import TestData  # type: ignore[attr-defined]

__unittest = True  # See _tracebacks.

__all__ = [
    "OUTERMOST",
    "TestData",
    "add_execute_wrapper",
    "database_names",
    "fixture_setup_override",
    "has_postgresql_session_methods",
    "has_postgresql_test_end",
    "innermost_block",
    "keep_open_in_atomic_blocks",
    "new_raw_connection",
    "original",
    "remove_execute_wrapper",
    "rollback_class_atomics",
    "rollback_reads_server_status",
    "rollback_test_atomics",
    "shadow",
    "test_data_is_class_wide",
    "unshadow",
    "uses_pool",
]

# Django >= 5.2 made TestCase._pre_setup and _fixture_setup classmethods; on
# Django 4.2 they are instance methods. An override must keep the same kind.
# Covered by tests/test_test_data.py on every version.
FIXTURE_SETUP_IS_CLASSMETHOD = isinstance(
    inspect.getattr_static(django_test.TestCase, "_fixture_setup"), classmethod
)


def fixture_setup_override(func: Callable[[Any], None]) -> Any:
    """Make ``func(cls_or_self)`` an override of TestCase._fixture_setup on this Django."""
    return classmethod(func) if FIXTURE_SETUP_IS_CLASSMETHOD else func


def test_data_is_class_wide(cls: type) -> bool:
    """Whether TestCase.setUpClass ran ``cls.setUpTestData`` (else each test does).

    Django runs it once per class, inside the class-wide transaction, when
    every database of ``cls`` supports transactions, and, on Django >= 5.2,
    savepoints; otherwise TestCase._fixture_setup runs it before each test.
    Covered by tests/test_test_data.py.
    """
    supports_savepoints = getattr(cls, "_databases_support_savepoints", lambda: True)
    return bool(cls._databases_support_transactions() and supports_savepoints())  # type: ignore[attr-defined]


def database_names(cls: type, include_mirrors: bool = False) -> list[str]:
    """The aliases ``cls`` (a TransactionTestCase) uses, without mirrors unless asked.

    ``_databases_names``; covered by tests/test_channels.py and tests/test_roundtrips.py.
    """
    return list(cls._databases_names(include_mirrors=include_mirrors))  # type: ignore[attr-defined]


def rollback_class_atomics(cls: Any) -> None:
    """Roll back the class-wide atomic blocks, as TestCase.setUpClass does when setUpTestData fails.

    ``_rollback_atomics(cls.cls_atomics)``; covered by tests/test_test_data.py.
    """
    cls._rollback_atomics(cls.cls_atomics)


def rollback_test_atomics(cls_or_self: Any) -> None:
    """Roll back the per-test atomic blocks (where the databases have transactions).

    As TestCase._fixture_setup does when setUpTestData fails there:
    ``_databases_support_transactions`` and ``_rollback_atomics(atomics)`` (on the
    class from Django 5.2, on the instance before); covered by tests/test_test_data.py.
    """
    if cls_or_self._databases_support_transactions():
        cls_or_self._rollback_atomics(cls_or_self.atomics)


# close_old_connections() (Django's request_started/request_finished signals,
# sent by its ASGI handler; Channels' database_sync_to_async before and after
# each call) runs close_if_unusable_or_obsolete() on every connection, which
# closes one whose autocommit is off: in TestCase that is always so, and the
# test's rows and transaction would be lost (PostgreSQL, MySQL). Django's test
# client disconnects the signals during its requests; code under test reaches
# them anyway, so the test's connections skip it inside atomic blocks.
_METHOD = "close_if_unusable_or_obsolete"


def keep_open_in_atomic_blocks(aliases: Iterable[str]) -> Callable[[], None]:
    """Make this thread's connections of ``aliases`` stay open in atomic blocks.

    Shadows Django's ``close_if_unusable_or_obsolete`` on each connection
    object; returns a function that undoes it. Covered by
    tests/test_channels.py on PostgreSQL and MySQL.
    """
    patched = [connections[alias] for alias in aliases]
    patched = [connection for connection in patched if _METHOD not in vars(connection)]
    for connection in patched:
        setattr(connection, _METHOD, _guarded(connection))

    def undo() -> None:
        for connection in patched:
            vars(connection).pop(_METHOD, None)

    return undo


def _guarded(connection: BaseDatabaseWrapper) -> Callable[[], None]:
    close_if_unusable_or_obsolete = type(connection).close_if_unusable_or_obsolete

    def guarded() -> None:
        if not connection.in_atomic_block:
            close_if_unusable_or_obsolete(connection)

    return guarded


def new_raw_connection(connection: BaseDatabaseWrapper, **overrides: Any) -> Any:
    """A new DB-API connection with ``connection``'s settings (and ``overrides``).

    The backend's ``get_connection_params()`` and ``get_new_connection()``,
    which leave ``connection`` itself alone. Used to send ``KILL QUERY`` on
    MariaDB/MySQL; covered by tests/test_stuck.py and tests/test_cancel_queries.py
    on MariaDB.
    """
    params = {**connection.get_connection_params(), **overrides}
    return connection.get_new_connection(params)


# connection.execute_wrapper(wrapper) is a context manager; a test's database
# worker installs its query counter when bound and removes it when released,
# which do not nest with the test's own blocks, so the list it appends to,
# ``execute_wrappers``, is used directly. Covered by tests/test_stuck.py and
# tests/test_cancel_queries.py.


def add_execute_wrapper(connection: BaseDatabaseWrapper, wrapper: Callable[..., Any]) -> None:
    """Run ``connection``'s queries through ``wrapper`` (as ``execute_wrapper()`` does)."""
    connection.execute_wrappers.append(wrapper)


def remove_execute_wrapper(connection: BaseDatabaseWrapper, wrapper: Callable[..., Any]) -> None:
    """Undo ``add_execute_wrapper``, wherever ``wrapper`` is in the list."""
    try:
        connection.execute_wrappers.remove(wrapper)
    except ValueError:
        pass  # Already gone.


# --- One round trip at the end of a test on PostgreSQL (see _roundtrips) ---------
# Django's per-test tear-down (TestCase._fixture_teardown: _should_check_constraints,
# check_constraints, _rollback_atomics) is kept; the connection's methods it
# calls are shadowed on the connection object for the window of the tear-down.
# The names read or shadowed exist on Django 4.2 to 6.1: is_usable,
# check_constraints, _savepoint_rollback, _savepoint_commit (BaseDatabaseWrapper),
# savepoint_ids, in_atomic_block, closed_in_transaction. Covered by
# tests/test_roundtrips.py (round trips counted, deferred violations, a
# connection marked for rollback, a failed transaction, a terminated
# connection, a savepoint the test released, several aliases, --parallel and
# xdist; both runners) and tests/test_plugin_roundtrips.py (the plugin), on
# PostgreSQL with psycopg 3 and 2, Django 4.2 and 6.1.

#: ``innermost_block``'s answer for an outermost atomic block (no savepoint).
OUTERMOST = object()
#: The methods ``shadow`` may set, by the names _roundtrips and _sessions use:
#: the test's tear-down ones, then those that close and open a session.
_SHADOWABLE = {
    "is_usable": "is_usable",
    "check_constraints": "check_constraints",
    "savepoint_rollback": "_savepoint_rollback",
    "savepoint_commit": "_savepoint_commit",
    "close": "close",
    "get_new_connection": "get_new_connection",
}
_TEST_END_METHODS = ("is_usable", "check_constraints", "_savepoint_rollback", "_savepoint_commit")


def has_postgresql_test_end(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection``'s tear-down methods are Django's PostgreSQL ones (not overridden)."""
    return _has_djangos_postgresql_methods(connection, _TEST_END_METHODS)


def shadow(connection: BaseDatabaseWrapper, **methods: Callable[..., Any]) -> list[str]:
    """Set ``methods`` (keys of ``_SHADOWABLE``) on the connection object.

    Returns the attribute names, for ``unshadow``.
    """
    names = []
    for key, method in methods.items():
        name = _SHADOWABLE[key]
        setattr(connection, name, method)
        names.append(name)
    return names


def original(connection: BaseDatabaseWrapper, key: str) -> Callable[..., Any]:
    """The backend's own method ``key`` (of ``_SHADOWABLE``), under a shadow."""
    return functools.partial(getattr(type(connection), _SHADOWABLE[key]), connection)


def unshadow(connection: BaseDatabaseWrapper, names: Iterable[str]) -> None:
    for name in names:
        vars(connection).pop(name, None)


# --- PostgreSQL sessions kept between classes (see _sessions) ----------------------
# TestCase.tearDownClass calls close() on every initialized connection; the
# next use runs connect(), which calls get_new_connection(conn_params) and
# sets connection.connection. close() is shadowed (``shadow``) for the window
# of Django's tearDownClass, get_new_connection for one connect(). The names exist on
# Django 4.2 to 6.1 (BaseDatabaseWrapper.close, connect, connection,
# in_atomic_block, closed_in_transaction; the PostgreSQL backend's
# get_new_connection and _close; OPTIONS["pool"] from Django 5.1). Covered by
# tests/test_sessions.py on PostgreSQL, psycopg 3 and 2, Django 4.2 and 6.1.

_SESSION_METHODS = ("close", "_close", "connect", "get_new_connection")


def has_postgresql_session_methods(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection`` is PostgreSQL's, with Django's own methods that open and close it."""
    return _has_djangos_postgresql_methods(connection, _SESSION_METHODS)


def _has_djangos_postgresql_methods(connection: BaseDatabaseWrapper, names: Iterable[str]) -> bool:
    """Whether ``connection`` is PostgreSQL's with Django's own methods ``names``.

    Not overridden by a backend's subclass, nor shadowed on the object.
    """
    if connection.vendor != "postgresql":
        return False  # Before the import: psycopg may not be installed.
    from django.db.backends.postgresql.base import DatabaseWrapper

    cls = type(connection)
    return (
        isinstance(connection, DatabaseWrapper)
        and all(getattr(cls, name) is getattr(DatabaseWrapper, name) for name in names)
        and not any(name in vars(connection) for name in names)
    )


def uses_pool(connection: BaseDatabaseWrapper) -> bool:
    """Whether Django's connection pool serves ``connection`` (``OPTIONS["pool"]``, Django 5.1+)."""
    return bool(connection.settings_dict.get("OPTIONS", {}).get("pool"))


def innermost_block(connection: BaseDatabaseWrapper) -> Any:
    """What exiting ``connection``'s innermost atomic block rolls back.

    Its savepoint id, ``OUTERMOST`` (the transaction), or None (no SQL is
    sent: no savepoint, or the connection was closed in the transaction),
    as ``Atomic.__exit__`` decides.
    """
    if not connection.in_atomic_block or connection.closed_in_transaction:
        return None
    if not connection.savepoint_ids:
        return OUTERMOST
    return connection.savepoint_ids[-1]


def rollback_reads_server_status(connection: BaseDatabaseWrapper) -> bool:
    """Whether the driver's ``rollback()`` sends nothing once the server says no transaction.

    psycopg 3 reads libpq's status (psycopg 2 keeps its own); with its
    statement cache off (``prepare_threshold`` None, Django's default), a
    ROLLBACK it did not send leaves nothing of its own to clean up.
    """
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    raw = connection.connection
    return bool(is_psycopg3) and raw is not None and getattr(raw, "prepare_threshold", 0) is None
