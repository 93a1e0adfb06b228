"""django-async-backend's async connections, run on the test's own connection.

django-async-backend (PyPI, PostgreSQL) gives Django a true-async ORM:
``Model.async_objects``, ``async_atomic()``, async cursors, on psycopg async
connections of its own (``async_connections[alias]``, one per task). In a
test, those would be other server sessions than the test's: they would not
see the test's rows, would commit their own, and would stay open after the
test (the test database could not be dropped).

While one of our tests runs (a ``TestLoop`` or a ``ServedTest``, from its
start to just before Django's rollback), ``async_connections[alias]`` returns,
in every task of the test (on its thread, its database worker, or a loop that
``async_to_sync`` started for them), **one** async connection of the test for
each alias whose ``ENGINE`` is the package's, an instance of
:func:`served_connection_class`:

- **Its queries run on the test's own sync connection** (the very object of
  the test's thread, inside its transaction), as sync code, wherever the
  test's thread-sensitive ``sync_to_async`` calls run: the test's database
  worker in the test's tasks, the thread that waits in an ``async_to_sync``
  call otherwise. One server session, so one transaction for both ORMs; the
  worker's query counting (``_cancel_queries``), the guards and the time
  budget cover these queries as they cover the sync ORM's.
- **Its transaction state is the sync connection's** (``in_atomic_block``,
  the savepoint ids and counter, ``atomic_blocks``, ``needs_rollback``,
  ``run_on_commit``...): ``async_atomic()`` becomes a savepoint of the test's
  transaction, nests with Django's ``atomic()`` either way, and sees Django's
  ``TestCase`` atomics, so ``durable=True`` behaves as ``atomic(durable=True)``
  does in ``TestCase``. Async on-commit callbacks land in the sync
  connection's list: ``captureOnCommitCallbacks`` captures (and with
  ``execute=True`` runs) them.
- **It is never opened nor closed**: ``close()`` (the package's
  ``close_old_async_connections`` on every request) leaves the test's
  connection alone, so nothing outlives the test.
- **Every task uses it** (the package's one-connection-per-task check is off
  for it, and ``async_new_connection()`` gets it too): a test, its tasks and
  the views behind ``async_client`` share one transaction, as the sync ORM's
  calls do under ``django.test.TestCase``.

Outside our tests, ``async_connections`` behaves as the package made it
(its own ``AsyncioTestCase`` keeps working in the same suite). Nothing here
runs unless the package's connection handler was imported, which its
``ENGINE`` and its app both do.

Every use of the package's private API is here, each with the test that
covers it (tests/test_async_backend.py, run on django-async-backend 6.0.9, 6.1.0
and 6.1.5: ``nox -t async-backend``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Protocol

from asgiref.sync import async_to_sync
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from . import _asgiref, _stdlib

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__unittest = True  # See _tracebacks.

#: The package's module of ``async_connections`` (public API), imported by its
#: ENGINE's backend module and by its app.
HANDLER_MODULE = "django_async_backend.db"

#: The transaction state of the package's async connection (attributes set by
#: ``BaseAsyncDatabaseWrapper.__init__``, private API of django-async-backend,
#: the same names as Django's ``BaseDatabaseWrapper``), which the test's async
#: connection reads and writes on the test's sync connection. Covered by
#: tests/test_async_backend.py (savepoints, durable, on-commit callbacks).
SHARED_STATE = (
    "autocommit",
    "in_atomic_block",
    "savepoint_state",
    "savepoint_ids",
    "atomic_blocks",
    "commit_on_exit",
    "needs_rollback",
    "rollback_exc",
    "closed_in_transaction",
    "errors_occurred",
    "run_on_commit",
    "run_commit_hooks_on_set_autocommit_on",
)


class ServesDatabase(Protocol):
    """What the test's async connections need of a test (``_engine._ServesDatabase``)."""

    @property
    def worker(self) -> Executor | None: ...

    def database_threads(self) -> tuple[threading.Thread, ...]: ...


def _handler() -> Any:
    """The package's ``async_connections``, if its module was imported; else None."""
    return getattr(sys.modules.get(HANDLER_MODULE), "async_connections", None)


def in_use() -> bool:
    """Whether the package's ``async_connections`` is loaded and a database uses its backend."""
    return _handler() is not None and any(_has_async_backend(alias) for alias in connections)


def start(test: ServesDatabase) -> Callable[[], None] | None:
    """Give the package's ``async_connections`` to ``test`` until the returned function is called.

    Called on the test's thread, which owns its connections. Returns None
    (nothing to undo) when the package is not in use.
    """
    handler = _handler()
    if handler is None:
        return None
    with _stdlib.running_loop_hidden():  # This thread's own connections: the test's.
        sync = {alias: connections[alias] for alias in connections if _has_async_backend(alias)}
    if not sync:
        return None
    _install(handler)
    served = _ServedConnections(test, sync)
    global _active
    _active = served  # One test at a time per process: a test left open is replaced.

    def stop() -> None:
        global _active
        if _active is served:
            _active = None
        served.stopped = True
        served.close_foreign()

    return stop


class _ServedConnections:
    """The async connections of one test, one per alias, made on first use."""

    def __init__(self, test: ServesDatabase, sync: dict[str, BaseDatabaseWrapper]) -> None:
        self.test = test
        self.sync = sync
        self.made: dict[str, Any] = {}
        #: The package's own connections made meanwhile by other threads.
        self.foreign: list[Any] = []
        self.stopped = False
        self._lock = threading.Lock()

    def serves_here(self) -> bool:
        """Whether code running here runs the test's database calls.

        The test's thread and its worker, and a loop that ``async_to_sync``
        started for one of them (its thread-sensitive calls go back there).
        Other threads (a live server's) keep the package's own connections,
        as they keep Django's.
        """
        threads = self.test.database_threads()
        if threading.current_thread() in threads:
            return True
        executor = _asgiref.thread_sensitive_executor()
        return executor is not None and (
            executor is self.test.worker or _asgiref.executor_thread(executor) in threads
        )

    def get(self, alias: str) -> Any:
        """The test's async connection of ``alias``; None if ``alias`` has no async backend."""
        made = self.made.get(alias)
        if made is not None:
            return made
        sync = self.sync.get(alias)
        if sync is None:
            return None
        with self._lock:
            made = self.made.get(alias)
            if made is None:
                made = self.made[alias] = _connection_class(sync)(sync, self)
        return made

    def close_foreign(self) -> None:
        """Close the connections other threads opened during the test (a live server's).

        Their event loops (made by ``async_to_sync`` for a request) are gone,
        so the socket is closed at the libpq level (psycopg's
        ``AsyncConnection.pgconn.finish()``): else the test database could
        not be dropped. Covered by tests/test_async_backend.py (live server).
        """
        foreign, self.foreign = self.foreign, []
        for connection in foreign:
            raw = connection.__dict__.get("connection")
            if raw is not None and not raw.closed:
                raw.pgconn.finish()
            connection.connection = None

    def executor(self) -> Executor:
        """Where the calling coroutine's sync database calls run with the test's connections."""
        if self.stopped:
            raise RuntimeError(
                "This async database connection belonged to a test that has ended; a task "
                "or thread that outlived the test used it. Await the work before the test "
                "returns, or cancel it in asyncTearDown or a cleanup."
            )
        executor = _asgiref.thread_sensitive_executor() or self.test.worker
        if executor is None:
            raise RuntimeError(
                "django-async-backend's ORM was used from an event loop that "
                "django-async-testcase does not serve (asyncio.run() or a loop started by "
                "hand in a sync test or hook?), so its queries could not run in the test's "
                "transaction. Make the test or hook `async def`, or call the coroutine with "
                "asgiref's async_to_sync()."
            )
        return executor


_active: _ServedConnections | None = None


# --- the handler's storage ------------------------------------------------------


class _Connections:
    """Stands for the package's per-thread (and per-task) storage of async connections.

    While a test runs, each alias with the package's backend reads as the
    test's one async connection in every task of the test; what code stores
    there meanwhile (``async_new_connection()`` swaps a new connection in and
    back) is ignored for those aliases. Otherwise, the storage as it was.
    """

    def __init__(self, storage: Any) -> None:
        object.__setattr__(self, "_dat_storage", storage)

    def __getattr__(self, alias: str) -> Any:
        connection = _served_connection(alias)
        if connection is not None:
            return connection
        return getattr(self._dat_storage, alias)

    def __setattr__(self, alias: str, value: Any) -> None:
        if _served_connection(alias) is None:
            setattr(self._dat_storage, alias, value)

    def __delattr__(self, alias: str) -> None:
        if _served_connection(alias) is None:
            delattr(self._dat_storage, alias)


def _served_connection(alias: str) -> Any:
    """The running test's async connection of ``alias``, if the caller is the test's."""
    served = _active
    if served is None or not served.serves_here():
        return None
    return served.get(alias)


def _install(handler: Any) -> None:
    """Put :class:`_Connections` in front of the handler's storage (once per process).

    ``BaseConnectionHandler._connections`` (Django's private API, the asgiref
    ``Local`` that ``__getitem__``, ``__setitem__`` and ``all()`` use), and the
    handler's ``create_connection`` (which ``__getitem__`` calls), shadowed on
    the instance to note the connections other threads make. Covered by
    tests/test_async_backend.py (every test there; the live server's).
    """
    storage = handler._connections
    if isinstance(storage, _Connections):
        return
    handler._connections = _Connections(storage)
    # Every connection of the package's own made during a test (by another
    # thread: the test's get theirs from _Connections), closed when it ends.
    create = handler.create_connection

    def create_connection(alias: str) -> Any:
        connection = create(alias)
        served = _active
        if served is not None:
            served.foreign.append(connection)
        return connection

    handler.create_connection = create_connection


_backends: dict[str, bool] = {}


def _has_async_backend(alias: str) -> bool:
    """Whether ``alias``'s ENGINE is one of django-async-backend's (it has AsyncDatabaseWrapper)."""
    engine = connections.settings[alias]["ENGINE"]
    found = _backends.get(engine)
    if found is None:
        from django.db.utils import load_backend

        found = _backends[engine] = hasattr(load_backend(engine), "AsyncDatabaseWrapper")
    return found


# --- the test's async connection ---------------------------------------------------


_classes: dict[type, type] = {}


def _connection_class(sync: BaseDatabaseWrapper) -> type:
    """The class of the test's async connections for ``sync``'s backend."""
    from django.db.utils import load_backend

    return served_connection_class(load_backend(sync.settings_dict["ENGINE"]).AsyncDatabaseWrapper)


def served_connection_class(base: type) -> type:
    """The test's async connection class for the package's ``AsyncDatabaseWrapper`` ``base``."""
    cls = _classes.get(base)
    if cls is None:
        namespace: dict[str, Any] = {name: _shared(name) for name in SHARED_STATE}
        namespace["__module__"] = __name__
        cls = _classes[base] = type(f"Test{base.__name__}", (_OnTestConnection, base), namespace)
    return cls


def _shared(name: str) -> property:
    """An attribute kept on the test's sync connection (set by the package's __init__: ignored)."""

    def get(self: _OnTestConnection) -> Any:
        return getattr(self._sync, name)

    def set(self: _OnTestConnection, value: Any) -> None:
        if self._ready:
            setattr(self._sync, name, value)

    return property(get, set)


class _OnTestConnection:
    """Mixed into the package's ``AsyncDatabaseWrapper``: the test's async connection.

    Overrides the package's methods that reach the server or its psycopg
    async connection (private API of django-async-backend's
    ``BaseAsyncDatabaseWrapper``: ``_cursor``, ``ensure_connection``,
    ``commit``/``rollback``/``set_autocommit``, the checks of threads and
    tasks, ``close`` and the health checks), so that each runs as sync code
    on the test's sync connection. Covered by tests/test_async_backend.py.
    """

    _ready = False
    _sync: BaseDatabaseWrapper
    _served: _ServedConnections

    def __init__(self, sync: BaseDatabaseWrapper, served: _ServedConnections) -> None:
        self._sync = sync
        self._served = served
        # The task that made each savepoint still open (see savepoint()).
        self._savepoint_tasks: dict[str, asyncio.Task[Any] | None] = {}
        super().__init__(sync.settings_dict, sync.alias)  # type: ignore[call-arg]
        self._ready = True

    def __repr__(self) -> str:
        return f"<test async connection alias={self._sync.alias!r}, on {self._sync!r}>"

    # The psycopg connection: the sync one (its ``info``, adapters, mogrify).
    @property
    def connection(self) -> Any:
        return self._sync.connection

    @connection.setter
    def connection(self, value: Any) -> None:
        pass  # Opened and closed by Django for the test, never here.

    async def _run(self, func: Callable[[], Any]) -> Any:
        """Run ``func`` as sync code where the test's sync database calls run."""
        executor = self._served.executor()
        return await asyncio.get_running_loop().run_in_executor(executor, func)

    # Threads and tasks: one connection for the whole test (Django checks the
    # sync connection's thread where the calls run).
    def validate_thread_sharing(self) -> None:
        pass

    def validate_task_sharing(self) -> None:
        pass

    # The task that owns the connection: django-async-backend 6.0 to 6.1.4
    # compare it with the current task in async_atomic() (6.1.5 and later in
    # validate_task_sharing()). Every task of the test owns it. Private API,
    # covered by tests/test_async_backend.py run on 6.0.9 and 6.1.0.
    @property
    def _task(self) -> asyncio.Task[Any] | None:
        return _current_task()

    @_task.setter
    def _task(self, value: object) -> None:
        pass

    # Opening and closing: the test's connection is Django's to open and close.
    async def connect(self) -> None:
        await self._run(self._sync.ensure_connection)

    async def ensure_connection(self) -> None:
        if self._sync.connection is None:
            await self._run(self._sync.ensure_connection)

    async def close(self) -> None:
        pass

    async def close_if_health_check_failed(self) -> None:
        pass

    async def close_if_unusable_or_obsolete(self) -> None:
        pass

    async def is_usable(self) -> bool:
        return bool(await self._run(self._sync.is_usable))

    async def ensure_timezone(self) -> bool:
        return bool(await self._run(self._sync.ensure_timezone))

    # Transactions: the sync connection's, run where its calls run (sync
    # on-commit callbacks then run there too; async ones see _OnCommit).
    async def commit(self) -> None:
        await self._run(self._sync.commit)

    async def rollback(self) -> None:
        await self._run(self._sync.rollback)

    async def set_autocommit(
        self, autocommit: bool, force_begin_transaction_with_broken_autocommit: bool = False
    ) -> None:
        await self._run(
            functools.partial(
                self._sync.set_autocommit,
                autocommit,
                force_begin_transaction_with_broken_autocommit,
            )
        )

    # Savepoints: one stack per session, so the blocks of several tasks must
    # end in the reverse order they began; a block that ends out of order
    # would release or roll back another task's savepoint. The package's
    # savepoint()/savepoint_commit()/savepoint_rollback() (private API),
    # covered by tests/test_async_backend.py (test_interleaved_atomic_blocks).
    async def savepoint(self) -> Any:
        sid = await super().savepoint()  # type: ignore[misc]
        if sid is not None:
            self._savepoint_tasks[sid] = _current_task()
        return sid

    async def savepoint_rollback(self, sid: str) -> None:
        self._check_savepoint_owner(sid)
        await super().savepoint_rollback(sid)  # type: ignore[misc]

    async def savepoint_commit(self, sid: str) -> None:
        self._check_savepoint_owner(sid)
        self._savepoint_tasks.pop(sid, None)
        await super().savepoint_commit(sid)  # type: ignore[misc]

    def _check_savepoint_owner(self, sid: str) -> None:
        owner, current = self._savepoint_tasks.get(sid), _current_task()
        if owner is None or current is None or owner is current:
            return
        raise RuntimeError(
            f"Two tasks of this test had async_atomic() blocks open at once on the "
            f"database {self._sync.alias!r}, and a block ended before one that began "
            f"after it: in a test every task uses the test's one connection (one "
            f"transaction, one stack of savepoints), so its savepoint was another "
            f"task's. Let one block end before the other begins (await the first "
            f"task); concurrency between connections cannot be tested inside one."
        )

    async def on_commit(self, func: Callable[[], Any], robust: bool = False) -> None:
        if inspect.iscoroutinefunction(func):
            func = _OnCommit(func)
        await super().on_commit(func, robust)  # type: ignore[misc]

    # Cursors: each call that may wait for the server runs on a cursor of the
    # sync connection.
    async def _cursor(self, name: str | None = None) -> Any:
        return self._prepare_cursor(_Cursor(self, name))  # type: ignore[attr-defined]


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class _OnCommit:
    """An async on-commit callback that sync code (Django's) can call too.

    Called where a loop runs (the package's own commit hooks), it returns the
    coroutine, which the caller awaits; called from sync code
    (``captureOnCommitCallbacks(execute=True)``, the sync connection's commit
    hooks), it runs the coroutine with ``async_to_sync``, which sends it back
    to the test's loop. Compares equal to the function it wraps.
    """

    def __init__(self, func: Callable[[], Any]) -> None:
        self.func = func
        functools.update_wrapper(self, func)

    def __call__(self) -> Any:
        result = self.func()
        if _stdlib.running_loop() is not None:
            return result
        return async_to_sync(_await)(result)

    def __eq__(self, other: object) -> bool:
        return other is self or other == self.func

    def __hash__(self) -> int:
        return hash(self.func)


async def _await(awaitable: Any) -> Any:
    return await awaitable


class _Cursor:
    """Stands for a psycopg async cursor, on a Django cursor of the test's sync connection.

    The Django cursor is made where the first query runs (the test's worker,
    usually), so the sync connection's execute wrappers (query counting,
    cancellation, ``assertNumQueries``) see every query. A query runs there as
    sync code; a client-side cursor has its rows once the query returns, so
    fetching and closing it is local; a server-side (named) cursor does each
    step there.
    """

    def __init__(self, db: _OnTestConnection, name: str | None) -> None:
        self._db = db
        self._name = name
        self._cursor: Any = None

    def _open(self) -> Any:
        if self._cursor is None:
            sync = self._db._sync
            self._cursor = sync.chunked_cursor() if self._name else sync.cursor()
        return self._cursor

    async def _call(self, method: str, *args: Any) -> Any:
        def call() -> Any:
            return getattr(self._open(), method)(*args)

        if self._cursor is not None and not self._name and method.startswith("fetch"):
            return call()  # The rows are here already.
        return await self._db._run(call)

    @property
    def connection(self) -> Any:
        return self._db._sync.connection

    async def execute(self, sql: Any, params: Any = None) -> _Cursor:
        await self._call("execute", sql, params)
        return self

    async def executemany(self, sql: Any, param_list: Any) -> _Cursor:
        await self._call("executemany", sql, param_list)
        return self

    async def fetchone(self) -> Any:
        return await self._call("fetchone")

    async def fetchmany(self, size: int = 0) -> Any:
        return await self._call("fetchmany", *((size,) if size else ()))

    async def fetchall(self) -> Any:
        return await self._call("fetchall")

    async def close(self) -> None:
        if self._cursor is None:
            return
        if self._name:
            await self._db._run(self._cursor.close)
        else:
            self._cursor.close()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while rows := await self.fetchmany(100):
            for row in rows:
                yield row

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __getattr__(self, name: str) -> Any:
        # rowcount, description, _query...: the Django cursor's, once made.
        if self._cursor is None:
            raise AttributeError(name)
        return getattr(self._cursor, name)


__all__ = ["SHARED_STATE", "served_connection_class", "start"]
