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

from ._compat import (
    cancel_requested,
    create_task_in_context,
    route_new_tasks,
    route_thread_sensitive_calls,
)
from ._executor import DatabaseThreadExecutor
from .guards._tasks import CANCEL_GRACE, describe_task
from .guards._timeouts import Budget
from .guards._tracebacks import clean_traceback

# unittest and pytest leave out frames of modules that set __unittest, so a
# failing test's traceback starts at the test's own code.
__unittest = True

_T = TypeVar("_T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


# The TestRunner of the test whose contextvars.Context the caller runs in.
_current_runner: contextvars.ContextVar[TestRunner] = contextvars.ContextVar("_current_runner")


def running_test_loop() -> TestRunner | None:
    """The TestRunner whose event loop runs the caller (a test's coroutine), or None."""
    runner = _current_runner.get(None)
    if runner is None or runner._loop is None:
        return None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return runner if loop is runner._loop else None


class LoopThread:
    """A daemon thread that runs one event loop at a time until told to stop."""

    def __init__(self, name: str) -> None:
        self._loops: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        while True:
            loop, first, closed = self._loops.get()
            if loop is None:
                return
            try:
                asyncio.set_event_loop(loop)
                loop.call_soon(first)
                _run_until_stopped(loop)
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                closed()

    def run_forever(
        self,
        loop: asyncio.AbstractEventLoop,
        first: Callable[[], None],
        closed: Callable[[], None],
    ) -> None:
        """Run ``loop``, calling ``first`` on it, until it stops; then close it and call ``closed``.

        Handing ``first`` over with the loop saves a wake-up through the loop's
        socket for a test's first async step.
        """
        self._loops.put((loop, first, closed))

    def stop(self) -> None:
        """End the thread once the current loop, if any, has closed."""
        self._loops.put((None, None, None))
        self._thread.join()


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    """Run ``loop`` until ``stop()``, even through KeyboardInterrupt or SystemExit.

    A task that raises one of those re-raises it out of ``run_forever`` after
    recording it; the loop must go on so that the test's thread, waiting for
    the task, hears of it.
    """
    while True:
        try:
            loop.run_forever()
        except (KeyboardInterrupt, SystemExit):
            continue  # The task that raised it holds it.
        return


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
        self.context.run(_current_runner.set, self)
        self.executor = DatabaseThreadExecutor()
        self._loop_thread = loop_thread
        self._loop_factory = loop_factory or asyncio.new_event_loop
        self._debug = debug
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        #: Cancels a step that runs over the test's time budget (guards.Budget).
        self.budget: Budget | None = None
        #: Tasks still pending when the loop closed, described.
        self.leftover_tasks: list[str] = []
        #: What the loop's exception handler received (background errors).
        self.loop_errors: list[dict[str, Any]] = []

    def run(self, awaitable: Awaitable[_T]) -> _T:
        """Run ``awaitable`` on the test's loop; serve database work until it ends."""
        if self._closed:
            raise RuntimeError("This test's event loop is already closed.")
        try:
            # The task would run in the test's context: it must not be in use.
            self.context.run(_nothing)
        except RuntimeError:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # Never started: no "never awaited" warning.
            raise RuntimeError(
                "Cannot run a coroutine of the test from synchronous code of the same "
                "test (a sync test method, setUp, tearDown or a sync cleanup): make "
                "the caller `async def` and await the coroutine, or move the call "
                "to an async hook."
            ) from None
        executor = self.executor
        budget = self.budget
        wakeup = executor.new_wakeup()
        finished: list[asyncio.Task[_T]] = []

        def done(task: asyncio.Task[_T]) -> None:
            finished.append(task)
            executor.wake(wakeup)

        start = self._starter(awaitable, done)
        if self._loop is None:
            self._start_loop(start)
        else:
            self._loop.call_soon_threadsafe(start)
        executor.serve_until(wakeup)
        task = finished.pop()
        if budget is not None:
            budget.check(task)
        return _result(task)

    def _starter(
        self, awaitable: Awaitable[_T], done: Callable[[asyncio.Task[_T]], object]
    ) -> Callable[[], None]:
        """A callback that, on the loop, runs ``awaitable`` as a task and then calls ``done``."""
        budget = self.budget

        def start() -> None:
            loop = asyncio.get_running_loop()
            task = create_task_in_context(loop, self._step(awaitable), self.context)
            task.add_done_callback(done)
            if budget is not None:
                budget.watch(loop, task)

        return start

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed, to report it
        # from the worker process; the runner (loop, threads, context) stays
        # behind, and the copy's runner is None.
        return _no_runner, ()

    async def _step(self, awaitable: Awaitable[_T]) -> _T:
        route_thread_sensitive_calls(self.executor)
        return await awaitable

    def _start_loop(self, first: Callable[[], None]) -> None:
        loop = self._loop_factory()
        if self._debug is not None:
            loop.set_debug(self._debug)
        if loop.get_exception_handler() is None:
            loop.set_exception_handler(self._record_loop_error)
        route_new_tasks(loop, self.executor)
        loop_thread = self._loop_thread()
        # Set before the loop runs: its first step may ask running_test_loop().
        self._loop = loop
        loop_thread.run_forever(loop, first, self._notify_closed)

    def _record_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.loop_errors.append(context)

    def _notify_closed(self) -> None:
        self.executor.wake(self._closed_wakeup)

    def close(self) -> None:
        """Cancel leftover tasks, close the loop and stop taking database work.

        One trip to the loop thread: the shutdown task stops the loop when it
        ends, and the loop thread reports once the loop is closed.
        """
        if self._closed:
            return
        self.budget = None
        loop = self._loop
        try:
            if loop is not None:
                finished: list[asyncio.Task[list[str]]] = []

                def done(task: asyncio.Task[list[str]]) -> None:
                    finished.append(task)
                    loop.stop()

                self._closed_wakeup = self.executor.new_wakeup()
                loop.call_soon_threadsafe(self._starter(_shutdown(), done))
                self.executor.serve_until(self._closed_wakeup)
                if finished:
                    self.leftover_tasks = _result(finished.pop())
        finally:
            self._closed = True
            self._loop = None
            self.executor.shutdown()


def _nothing() -> None:
    pass


def _result(task: asyncio.Task[_T]) -> _T:
    """The result of a finished task, or raise its exception (with a clean traceback)."""
    if task.cancelled():
        raise asyncio.CancelledError("The test's coroutine was cancelled before it finished.")
    exc = task.exception()
    if exc is not None:
        del task
        clean_traceback(exc)
        try:
            raise exc
        finally:
            del exc
    return task.result()


def _no_runner() -> None:
    """What a pickled TestRunner becomes when unpickled."""


async def _shutdown() -> list[str]:
    """Cancel every other task, then finish async generators and the default executor.

    Returns the description of each task that was still pending.
    """
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    leftovers = [describe_task(task) for task in tasks if not cancel_requested(task)]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=CANCEL_GRACE)
    for task in tasks:
        if not task.done():
            leftovers.append(f"{describe_task(task)}\n  (it did not stop when cancelled)")
        elif not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task cancelled at the end of the test",
                    "exception": task.exception(),
                    "task": task,
                }
            )
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()
    return leftovers
