"""Keep the test's connections open while code under test asks to close old ones.

Django calls ``close_old_connections()`` at the start and end of each request
(the ``request_started`` and ``request_finished`` signals, sent by its ASGI
handler too), and Channels' ``database_sync_to_async`` calls it before and
after each call. It runs ``close_if_unusable_or_obsolete()`` on every
connection of the thread, which closes a connection whose autocommit is off:
in ``TestCase`` the connection is always inside the class and test
transactions, so the test's rows and transaction would be lost (PostgreSQL,
MySQL; SQLite ignores closing an in-memory database). Django's test client
avoids it by disconnecting the signals during its requests; async code run by
``AsyncTestCase`` calls it directly on the test's thread, so that thread's
connections skip it while they are inside an atomic block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

# The name of the instance attribute that shadows the class's method.
_METHOD = "close_if_unusable_or_obsolete"


def keep_open_in_atomic_blocks(aliases: Iterable[str]) -> Callable[[], None]:
    """Make this thread's connections of ``aliases`` stay open in atomic blocks.

    Returns a function that undoes it. Touches Django's private
    ``close_if_unusable_or_obsolete`` by shadowing it on each connection
    object; covered by tests/test_channels.py on PostgreSQL and MySQL.
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
