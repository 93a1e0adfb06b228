"""The executor that runs database work on the thread that owns the test transaction."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

# unittest and pytest leave out frames of modules that set __unittest: a
# failure raised by a call served here is shown from the test's own code.
__unittest = True

_T = TypeVar("_T")


class _Wakeup:
    """Queued by the event loop thread to end one ``serve_until`` call."""

    __slots__ = ()


class DatabaseThreadExecutor(Executor):
    """Run submitted calls on the thread that created the executor.

    The test's thread (the one that ran ``setUpClass`` and opened the test
    transaction) creates one per test and serves it, in ``serve_until``, while
    the event loop thread runs a coroutine. asgiref's thread-sensitive
    ``sync_to_async`` (so every async ORM call) is routed here, which keeps the
    ORM on the connection inside the test's transaction.
    """

    def __init__(self) -> None:
        self._thread = threading.current_thread()
        self._work: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False

    @property
    def thread(self) -> threading.Thread:
        """The thread that runs the submitted calls."""
        return self._thread

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        if threading.current_thread() is self._thread:
            raise RuntimeError(
                "Cannot submit work to the test's database thread from that same "
                "thread: it would wait for itself forever."
            )
        if self._closed:
            raise RuntimeError(
                "The test that owned this database thread has finished; a task "
                "or thread that outlived it tried to use the database."
            )
        future: Future[_T] = Future()
        self._work.put((future, fn, args, kwargs))
        return future

    def new_wakeup(self) -> _Wakeup:
        """A token that, passed to ``wake``, ends the matching ``serve_until``."""
        return _Wakeup()

    def wake(self, token: _Wakeup) -> None:
        """End ``serve_until(token)``; callable from any thread."""
        self._work.put(token)

    def serve_until(self, token: _Wakeup) -> None:
        """Run submitted calls on this thread until ``wake(token)`` is called."""
        work = self._work
        while True:
            item = work.get()
            if item is token:
                return
            if isinstance(item, _Wakeup):
                # A token of an earlier call that returned by an exception.
                continue
            future, fn, args, kwargs = item
            del item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                future.set_exception(exc)
                del exc
            else:
                future.set_result(result)
            del future, fn, args, kwargs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse new work and fail whatever was submitted but never served."""
        self._closed = True
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                return
            if not isinstance(item, _Wakeup):
                future = item[0]
                if future.set_running_or_notify_cancel():
                    future.set_exception(
                        RuntimeError("The test finished before this database call could run.")
                    )
