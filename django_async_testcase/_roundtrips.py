"""The end of a test's transaction on PostgreSQL in one server round trip per connection.

At the end of each test, Django's ``TestCase._fixture_teardown`` sends, per
connection, ``SELECT 1`` (``_should_check_constraints`` asks
``connection.is_usable()``), ``SET CONSTRAINTS ALL IMMEDIATE`` and ``SET
CONSTRAINTS ALL DEFERRED`` (``check_constraints()``: a deferred constraint
violated in the test fails it, ticket #11665), then ``ROLLBACK TO SAVEPOINT`` and
``RELEASE SAVEPOINT`` (``_rollback_atomics``): five round trips, each a wake-up
of the server process.

:func:`batched_test_end` keeps Django's own code and every statement's effect,
and sends them together. For the window of the tear-down it shadows, on each
PostgreSQL connection object of the test's thread:

- ``is_usable()``: answered locally when the driver's own state says the
  connection is in a transaction (or idle: nothing ran), not closed, and the
  server has sent nothing unasked (a terminated backend's socket is readable);
  else Django's ``SELECT 1``.
- ``check_constraints()``: sends the two ``SET CONSTRAINTS`` and the statements
  of the rollback Django is about to do (``ROLLBACK TO SAVEPOINT`` and
  ``RELEASE SAVEPOINT`` of the innermost savepoint; ``ROLLBACK`` for an
  outermost block, on psycopg 3) as one multi-statement string without
  parameters: one round trip (the simple query protocol, psycopg 2 and 3).
  A violation raises there, as Django's check does; the server skipped the
  rest, so Django's rollback then sends its own statements. An error after
  which the connection is closed is what Django's ``SELECT 1`` would have
  found: the check is skipped, as Django skips it. In a transaction where
  nothing ran (idle), there is nothing to check and nothing is sent.
- ``_savepoint_rollback``/``_savepoint_commit``: skipped for the savepoint
  whose statements were sent. (An outermost block's ``ROLLBACK``, pytest-django's
  per-test transaction, needs no shadow: psycopg 3's ``rollback()`` sends
  nothing once the server says no transaction is open; psycopg 2 keeps its own
  state, so there the ``ROLLBACK`` is left to it.)

So Django's bookkeeping (atomic blocks, ``needs_rollback``, on-commit callbacks)
runs unchanged. Connections of other backends, or of PostgreSQL backends that
override any of these methods, are left alone. The private names touched are
in ``_django`` (``shadow``), covered by tests/test_roundtrips.py.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from . import _django

__unittest = True  # See _tracebacks.

# libpq's PGTransactionStatusType (psycopg 2's info.transaction_status and
# psycopg 3's TransactionStatus have the same values).
IDLE, _INTRANS = 0, 2
#: SQLSTATE class of the savepoint errors (a savepoint that no longer exists).
_SAVEPOINT_ERRORS = "3B"


@contextlib.contextmanager
def batched_test_end(aliases: Iterable[str]) -> Iterator[None]:
    """Around Django's per-test tear-down: its statements go in one round trip per connection."""
    ends = [_TestEnd(connections[alias]) for alias in dict.fromkeys(aliases)]
    ends = [end for end in ends if end.install()]
    try:
        yield
    finally:
        for end in ends:
            end.uninstall()


def applies_to(connection: BaseDatabaseWrapper) -> bool:
    """Whether ``connection``'s tear-down statements are batched (PostgreSQL, Django's methods)."""
    return _django.has_postgresql_test_end(connection)


class _TestEnd:
    """The shadows on one connection for the window of one test's tear-down."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        # is_usable() answered from local state: check_constraints() may batch.
        self._usable_locally = False
        # The savepoint whose ROLLBACK TO and RELEASE were sent with the check.
        self._sent: Any = None
        self._rolled_back: Any = None
        self._undo: list[str] = []

    def install(self) -> bool:
        if not applies_to(self.connection):
            return False
        self._undo = _django.shadow(
            self.connection,
            is_usable=self.is_usable,
            check_constraints=self.check_constraints,
            savepoint_rollback=self.savepoint_rollback,
            savepoint_commit=self.savepoint_commit,
        )
        return True

    def uninstall(self) -> None:
        _django.unshadow(self.connection, self._undo)

    # --- the shadows -----------------------------------------------------------

    def is_usable(self) -> bool:
        raw = self.connection.connection
        if raw is not None and transaction_status(raw) in (IDLE, _INTRANS) and quiet(raw):
            self._usable_locally = True
            return True
        self._usable_locally = False
        return bool(_django.original(self.connection, "is_usable")())

    def check_constraints(self, table_names: Any = None) -> None:
        connection = self.connection
        if table_names is not None or not self._usable_locally:
            return _django.original(connection, "check_constraints")(table_names)  # type: ignore[no-any-return]
        self._usable_locally = False
        raw = connection.connection
        if transaction_status(raw) == IDLE:
            return None  # Nothing ran in this transaction: nothing is deferred.
        end, sent = _rollback_statements(connection)
        statements = ["SET CONSTRAINTS ALL IMMEDIATE", "SET CONSTRAINTS ALL DEFERRED", *end]
        try:
            with connection.cursor() as cursor:
                cursor.execute("; ".join(statements))
        except DatabaseError as error:
            if _closed(raw):
                # Django's SELECT 1 would have found the connection unusable:
                # no check, and its rollback fails as it would there.
                return None
            if end and _sqlstate(error).startswith(_SAVEPOINT_ERRORS):
                # The check passed; the rollback failed, and fails again when
                # Django's rollback sends it (needs_rollback, as in Django).
                return None
            raise  # The violation, as Django's check raises it; Django rolls back.
        self._sent = sent
        return None

    def savepoint_rollback(self, sid: str) -> None:
        if sid is not None and sid == self._sent:
            self._rolled_back, self._sent = sid, None
            return
        _django.original(self.connection, "savepoint_rollback")(sid)

    def savepoint_commit(self, sid: str) -> None:
        if sid is not None and sid == self._rolled_back:
            self._rolled_back = None
            return
        _django.original(self.connection, "savepoint_commit")(sid)


def _rollback_statements(connection: BaseDatabaseWrapper) -> tuple[list[str], Any]:
    """The statements Django's rollback of the innermost atomic block will send, and its sid.

    ``_rollback_atomics`` exits the innermost block of each connection (the
    test's) after the checks: a savepoint is rolled back to and released; an
    outermost block (pytest-django's per-test one) rolls back. Sent with the
    check only where Django's bookkeeping can skip them: a savepoint, or a
    ROLLBACK on psycopg 3 (whose ``rollback()`` reads the server's status; with
    its statement cache off, Django's default).
    """
    block = _django.innermost_block(connection)
    if block is None:
        return [], None
    if block is _django.OUTERMOST:
        if _django.rollback_reads_server_status(connection):
            return ["ROLLBACK"], None
        return [], None
    ops = connection.ops
    return [ops.savepoint_rollback_sql(block), ops.savepoint_commit_sql(block)], block


def transaction_status(raw: Any) -> int:
    """libpq's transaction status of the DB-API connection ``raw`` (-1: not psycopg's)."""
    try:
        return int(raw.info.transaction_status)
    except Exception:  # Not a psycopg connection after all: let Django decide.
        return -1


def quiet(raw: Any) -> bool:
    """Whether the server has sent nothing unasked (a terminated backend has)."""
    try:
        if _closed(raw):
            return False
        fileno = raw.fileno()
        if hasattr(select, "poll"):  # Any descriptor number, unlike select().
            poll = select.poll()
            poll.register(fileno, select.POLLIN | select.POLLPRI)
            return not poll.poll(0)
        readable, _, _ = select.select([fileno], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return False
    return not readable


def _closed(raw: Any) -> bool:
    try:
        return bool(raw.closed)
    except Exception:
        return True


def _sqlstate(error: BaseException) -> str:
    cause = error.__cause__ or error
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return str(code or "")
