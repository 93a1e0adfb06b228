"""The per-test runner: a fresh event loop per test, database work on the test's thread.

The thread that runs a test owns its database connection and transaction, so it
cannot also run the event loop: it must stay free to serve the ORM. Each test
therefore gets a fresh loop that runs on a helper thread (one per test class,
reused by its tests), while the test's thread serves database work between
the steps it hands to the loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ._compat import create_task_in_context, route_thread_sensitive_calls
from ._executor import DatabaseThreadExecutor

# unittest and pytest leave out frames of modules that set __unittest, so a
# failing test's traceback starts at the test's own code.
__unittest = True

_T = TypeVar("_T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class LoopThread:
    """A daemon thread that runs one event loop at a time until told to stop."""

    def __init__(self, name: str) -> None:
        self._loops: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        while True:
            loop, closed = self._loops.get()
            if loop is None:
                return
            try:
                asyncio.set_event_loop(loop)
                loop.run_forever()
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                closed()

    def run_forever(self, loop: asyncio.AbstractEventLoop, closed: Callable[[], None]) -> None:
        """Run ``loop`` until it is stopped, then close it and call ``closed``."""
        self._loops.put((loop, closed))

    def stop(self) -> None:
        """End the thread once the current loop, if any, has closed."""
        self._loops.put((None, None))
        self._thread.join()


class TestRunner:
    """Runs the async parts of one test on one event loop.

    Coroutines run as tasks on the loop thread, in the test's one
    ``contextvars.Context``; meanwhile the calling thread serves the
    thread-sensitive ``sync_to_async`` calls they make.
    """

    def __init__(
        self,
        loop_thread: Callable[[], LoopThread],
        loop_factory: LoopFactory | None,
        debug: bool | None,
    ) -> None:
        self.context = contextvars.copy_context()
        self.executor = DatabaseThreadExecutor()
        self._loop_thread = loop_thread
        self._loop_factory = loop_factory or asyncio.new_event_loop
        self._debug = debug
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def run(self, awaitable: Awaitable[_T]) -> _T:
        """Run ``awaitable`` on the test's loop; serve database work until it ends."""
        if self._closed:
            raise RuntimeError("This test's event loop is already closed.")
        loop = self._loop or self._start_loop()
        executor = self.executor
        wakeup = executor.new_wakeup()
        finished: list[asyncio.Task[_T]] = []

        def start() -> None:
            task = create_task_in_context(loop, self._step(awaitable), self.context)
            task.add_done_callback(lambda task: (finished.append(task), executor.wake(wakeup)))

        loop.call_soon_threadsafe(start)
        executor.serve_until(wakeup)
        task = finished.pop()
        if task.cancelled():
            raise asyncio.CancelledError("The test's coroutine was cancelled before it finished.")
        exc = task.exception()
        if exc is not None:
            del task
            try:
                raise exc
            finally:
                del exc
        return task.result()

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed, to report it
        # from the worker process; the runner (loop, threads, context) stays
        # behind, and the copy's runner is None.
        return _no_runner, ()

    async def _step(self, awaitable: Awaitable[_T]) -> _T:
        route_thread_sensitive_calls(self.executor)
        return await awaitable

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop_factory()
        if self._debug is not None:
            loop.set_debug(self._debug)
        self._loop = loop
        self._loop_thread().run_forever(loop, self._notify_closed)
        return loop

    def _notify_closed(self) -> None:
        self.executor.wake(self._closed_wakeup)

    def close(self) -> None:
        """Cancel leftover tasks, close the loop and stop taking database work."""
        if self._closed:
            return
        try:
            if self._loop is not None:
                try:
                    self.run(_shutdown())
                finally:
                    self._closed_wakeup = self.executor.new_wakeup()
                    self._loop.call_soon_threadsafe(self._loop.stop)
                    self.executor.serve_until(self._closed_wakeup)
        finally:
            self._closed = True
            self._loop = None
            self.executor.shutdown()


def _no_runner() -> None:
    """What a pickled TestRunner becomes when unpickled."""


async def _shutdown() -> None:
    """Cancel every other task, then finish async generators and the default executor."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for task, result in zip(tasks, results, strict=True):
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task cancelled at the end of the test",
                    "exception": result,
                    "task": task,
                }
            )
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()
