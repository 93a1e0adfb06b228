"""The executor that runs database work on the thread that owns the test transaction."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from ._compat import detach_from_calling_loop, running_loop_hidden

# unittest and pytest leave out frames of modules that set __unittest: a
# failure raised by a call run here is shown from the test's own code.
__unittest = True

_T = TypeVar("_T")


class DatabaseThreadExecutor(Executor):
    """Run submitted calls on the thread that created the executor, at once.

    The test's thread (the one that ran ``setUpClass`` and opened the test
    transaction) creates one per test and runs the test's event loop too.
    asgiref's thread-sensitive ``sync_to_async`` (so every async ORM call) is
    routed here: the call runs right away, on the connection inside the test's
    transaction, without a trip to another thread and back. While it runs, the
    event loop waits, as it would for any synchronous code; the awaiting task
    then yields once to the loop, as it would for a call on another thread.

    A call submitted from another thread (a coroutine of another loop that
    inherited the test's routing) is queued on the test's loop and run there.
    """

    def __init__(self) -> None:
        self._thread = threading.current_thread()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Calls from other threads, queued on the loop and not yet run.
        self._queued: set[Future[Any]] = set()
        self._lock = threading.Lock()

    @property
    def thread(self) -> threading.Thread:
        """The thread that runs the submitted calls."""
        return self._thread

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take calls from other threads through ``loop``, the test's loop."""
        self._loop = loop

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        if self._closed:
            raise RuntimeError(
                "The test that owned this database thread has finished; a task "
                "or thread that outlived it tried to use the database."
            )
        if threading.current_thread() is not self._thread:
            return self._queue(fn, args, kwargs)
        loop = asyncio._get_running_loop()
        if loop is not None and loop is self._loop:
            # Called by the loop's run_in_executor (sync_to_async), which passes
            # an asyncio future on as it is. The call runs now; its outcome is
            # handed over on the loop's next turn, so the awaiting task yields
            # once, as an await of I/O does: other ready tasks, and due timers
            # (the test's timeout), run before it goes on.
            later: asyncio.Future[_T] = loop.create_future()
            loop.call_soon(_settle, later, *_call(fn, args, kwargs))
            return later  # type: ignore[return-value]
        return self.run_now(fn, *args, **kwargs)

    def run_now(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` now, on this (the test's) thread, as sync code.

        Returns its finished future.
        """
        future: Future[_T] = Future()
        future.set_running_or_notify_cancel()
        _settle(future, *_call(fn, args, kwargs))
        return future

    def _queue(self, fn: Callable[..., _T], args: tuple[Any, ...], kwargs: Any) -> Future[_T]:
        """Run the call on the test's loop, from another thread."""
        future: Future[_T] = Future()
        with self._lock:
            if self._loop is None:
                raise RuntimeError("The test's event loop is closed; it cannot take this call.")
            self._queued.add(future)
            self._loop.call_soon_threadsafe(self._run_queued, future, fn, args, kwargs)
        return future

    def _run_queued(
        self, future: Future[_T], fn: Callable[..., _T], args: tuple[Any, ...], kwargs: Any
    ) -> None:
        with self._lock:
            self._queued.discard(future)
        if future.set_running_or_notify_cancel():
            _settle(future, *_call(fn, args, kwargs))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work; fail calls from other threads that never ran."""
        self._closed = True
        with self._lock:
            self._loop = None
            queued, self._queued = self._queued, set()
        for future in queued:
            if future.set_running_or_notify_cancel():
                future.set_exception(
                    RuntimeError("The test finished before this database call could run.")
                )


def _call(
    fn: Callable[..., _T], args: tuple[Any, ...], kwargs: Any
) -> tuple[BaseException | None, _T | None]:
    """Call ``fn`` as sync code on this thread; its exception, or None and its result."""
    # Synchronous code runs as if no loop ran this thread: Django refuses
    # database calls while one does, and asgiref's async_to_sync would wait
    # for the test's loop, which waits for this call.
    fn = detach_from_calling_loop(fn)
    try:
        with running_loop_hidden():
            return None, fn(*args, **kwargs)
    except BaseException as exc:
        return exc, None


def _settle(
    future: Future[_T] | asyncio.Future[_T], exc: BaseException | None, result: _T | None
) -> None:
    """Give ``future`` the outcome of a call, unless it was cancelled meanwhile."""
    if future.cancelled():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)  # type: ignore[arg-type]
