"""The database worker: a thread that runs a test's sync calls with the test's connections.

While a test's coroutine runs, its event loop runs on the test's thread, which
owns the test's transaction. asgiref's thread-sensitive ``sync_to_async`` (so
every async ORM call) is routed to a :class:`DatabaseWorker`: one thread that
runs the calls one after the other, as asgiref's own single sync thread does
in production, while the loop goes on. Its ``connections[alias]`` are the test
thread's connection objects, shared with Django's ``inc_thread_sharing()``, so
every call runs inside the test's transaction.

A sync call that calls ``async_to_sync`` sends the coroutine back to the
test's loop (asgiref records the awaiting loop on the worker thread), as under
``django.test.TestCase`` and in production: a view behind a sync-only
middleware runs on the test's loop.

Workers are kept between tests (a thread start per test would cost more than
the test): one spare per process, re-bound to each test's connections, and
stopped with ``stop_spare()`` when a test class (or pytest session) ends.
"""

from __future__ import annotations

import asyncio
import functools
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, NamedTuple, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from . import _asgiref, _stdlib
from ._cancel_queries import QueryCanceller

__unittest = True  # See _tracebacks: a failure raised here shows the caller's code.

_T = TypeVar("_T")


class DatabaseWorker(Executor):
    """A thread that runs submitted calls one at a time, with an owner thread's connections."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._pid = os.getpid()
        self._shared: list[BaseDatabaseWrapper] = []
        # Counts the queries in flight on the shared connections, to cancel them.
        self._queries = QueryCanceller()
        # The connections to install before the next call (set by bind()), and
        # those installed (read and written on the worker thread only).
        self._binding: dict[str, BaseDatabaseWrapper] = {}
        self._installed: dict[str, BaseDatabaseWrapper] | None = None
        # Calls submitted and not yet finished; release() waits for none.
        self._pending = 0
        self._idle = threading.Condition()
        self._stopping = False
        self.thread = threading.Thread(
            target=self._work, name="django-async-testcase database worker", daemon=True
        )
        self.thread.start()
        _asgiref.join_executor_chain(self)

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        if threading.current_thread() is self.thread:
            # As asgiref's CurrentThreadExecutor does: the call would wait for
            # this thread, which waits for the code that made the call.
            raise RuntimeError(
                "A thread-sensitive sync_to_async call was made from the test's database "
                "worker thread itself (an event loop run inside synchronous code, e.g. "
                "asyncio.run() in a sync_to_async call); it would wait forever. Await the "
                "coroutine from the test's loop instead."
            )
        if self._stopping:
            raise RuntimeError(
                "The test that owned this database worker has finished; a task or "
                "thread that outlived it tried to use the database."
            )
        with self._idle:
            self._pending += 1
        call = functools.partial(fn, *args, **kwargs)
        loop = _stdlib.running_loop()
        if loop is not None:
            # Called by run_in_executor (sync_to_async) on the test's loop: an
            # asyncio future is passed on by asyncio as it is, and settled from
            # here with call_soon_threadsafe; cheaper than wrapping a
            # concurrent future, which asyncio would settle the same way.
            waiter: asyncio.Future[_T] = loop.create_future()

            def settle_waiter(exc: BaseException | None, result: Any) -> None:
                loop.call_soon_threadsafe(_settle, waiter, exc, result)

            self._queue.put((waiter.cancelled, call, settle_waiter))
            return waiter  # type: ignore[return-value]
        future: Future[_T] = Future()

        def settle_future(exc: BaseException | None, result: Any) -> None:
            _settle(future, exc, result)

        self._queue.put((lambda: not future.set_running_or_notify_cancel(), call, settle_future))
        return future

    def bind(self, aliases: list[str]) -> None:
        """Share the calling thread's connections of ``aliases`` with the worker.

        Called on the test's thread. Django checks that a connection is used
        by the thread that made it unless ``inc_thread_sharing()`` allows
        others; ``connections[alias] = wrapper`` sets what the worker's
        ``connections[alias]`` returns (asgiref's ``Local`` storage is per
        thread for Django's connections).
        """
        shared = [connections[alias] for alias in aliases]
        for connection in shared:
            connection.inc_thread_sharing()
        self._shared = shared
        self._queries.watch(shared)
        # Installed by the worker before the next call it runs (no call of its own).
        self._binding = dict(zip(aliases, shared, strict=True))

    def release(self, grace: float, cancel_at_once: bool = False) -> Release:
        """Wait for the calls in flight, cancelling their queries; stop sharing the connections.

        Waits up to ``grace`` s for the calls to return (none, with
        ``cancel_at_once``: the test was interrupted); then cancels on the
        server the query each shared connection has in flight, if any, and
        waits up to ``grace`` s more. If a call is still running then, the
        worker is told to stop after it, and must not be reused. The worker
        keeps its ``connections`` entries until the next ``bind``; with the
        sharing count back down, Django refuses their use from the worker
        meanwhile.
        """
        try:
            idle = self._wait_idle(0 if cancel_at_once else grace)
            cancelled: list[str] = []
            if not idle:
                cancelled = self._queries.cancel()
                if cancelled:
                    idle = self._wait_idle(grace)
        finally:
            self._queries.unwatch()
            for connection in self._shared:
                connection.dec_thread_sharing()
            self._shared = []
        if not idle:
            self.shutdown(wait=False)
        return Release(stuck=not idle, cancelled=cancelled)

    def stop_calls(self, grace: float) -> Release:
        """Cancel at once the queries of the calls in flight; wait up to ``grace`` s for them.

        For a step the time budget stopped: the call it awaited may still run.
        The worker stays bound; if a call is still running, ``stuck`` says so.
        """
        if self._wait_idle(0):
            return Release(stuck=False, cancelled=[])
        cancelled = self._queries.cancel()
        return Release(stuck=not self._wait_idle(grace), cancelled=cancelled)

    def cancel_queries(self) -> list[str]:
        """Cancel on the server the query each shared connection has in flight; their aliases."""
        return self._queries.cancel()

    def _wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the thread once the queued calls have run."""
        if not self._stopping:
            self._stopping = True
            self._queue.put(None)
        if wait and threading.current_thread() is not self.thread:
            self.thread.join()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            cancelled, call, settle = item
            del item
            try:
                if cancelled():
                    continue  # Cancelled before it started, as an executor skips it.
                binding = self._binding
                if binding is not self._installed:
                    for alias, connection in binding.items():
                        connections[alias] = connection
                    self._installed = binding
                try:
                    result = call()
                except BaseException as exc:
                    settle(exc, None)
                    del exc
                else:
                    settle(None, result)
                    del result
            except RuntimeError:
                pass  # The test's loop was closed meanwhile: nobody awaits the outcome.
            finally:
                del cancelled, call, settle
                with self._idle:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()


class Release(NamedTuple):
    """How the calls in flight ended when a worker was released."""

    #: A call was still running at the end: it was left to finish on its own.
    stuck: bool
    #: The aliases whose query in flight was cancelled on the server.
    cancelled: list[str]


# A call for the worker: whether it was cancelled before it started, the call,
# and what hands its outcome (exception or result) to the caller.
_Item = tuple[Callable[[], bool], Callable[[], Any], Callable[[BaseException | None, Any], None]]


def _settle(
    future: Future[Any] | asyncio.Future[Any], exc: BaseException | None, result: Any
) -> None:
    """Give ``future`` the outcome of a call, unless it was cancelled meanwhile."""
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


_spare: DatabaseWorker | None = None
_spare_lock = threading.Lock()


def take_worker() -> DatabaseWorker:
    """The spare worker of this process, or a new one."""
    global _spare
    with _spare_lock:
        worker, _spare = _spare, None
    if worker is None or worker._pid != os.getpid() or not worker.thread.is_alive():
        worker = DatabaseWorker()
    return worker


def give_back(worker: DatabaseWorker) -> None:
    """Keep ``worker`` (released and idle) for the next test, or stop it."""
    global _spare
    with _spare_lock:
        if _spare is None and not worker._stopping:
            _spare = worker
            return
    worker.shutdown(wait=False)


def stop_spare(timeout: float = 1.0) -> None:
    """Stop the spare worker, so that no thread of ours outlives the tests.

    Waits up to ``timeout`` s for its thread to end (a daemon: it never holds
    the process's exit).
    """
    global _spare
    with _spare_lock:
        worker, _spare = _spare, None
    if worker is not None:
        worker.shutdown(wait=False)
        worker.thread.join(timeout)


def _forget_spare() -> None:
    # A forked child has no worker thread: the parent's spare is not usable.
    global _spare
    _spare = None


os.register_at_fork(after_in_child=_forget_spare)
