"""The per-test runner: a fresh event loop per test, database work on the test's thread.

The thread that runs a test owns its database connection and transaction.
Each test gets a fresh event loop that runs on that same thread, as
``unittest.IsolatedAsyncioTestCase`` runs its loop, and asgiref's
thread-sensitive ``sync_to_async`` calls (every async ORM call) run right
there, inside the test's transaction: no other thread takes part.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from ._checks import check_loop
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
    """The TestRunner of the test whose coroutine is the caller, or None.

    A coroutine that the test's code runs through a nested ``async_to_sync``
    (on a loop of asgiref's, in another thread) belongs to the test too.
    """
    runner = _current_runner.get(None)
    if runner is None or runner._loop is None:
        return None
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return runner


class TestRunner:
    """Runs the async parts of one test on one event loop, on the test's thread.

    Coroutines run as tasks in the test's one ``contextvars.Context``; the
    thread-sensitive ``sync_to_async`` calls they make run on this thread too,
    through a DatabaseThreadExecutor.
    """

    def __init__(self, loop_factory: LoopFactory | None, debug: bool | None) -> None:
        self.executor = DatabaseThreadExecutor()
        self.context = contextvars.copy_context()
        self.context.run(_current_runner.set, self)
        self.context.run(route_thread_sensitive_calls, self.executor)
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
        """Run ``awaitable`` as a task on the test's loop until it ends; return its result."""
        if self._closed:
            raise RuntimeError("This test's event loop is already closed.")
        loop = self._loop
        if (loop is not None and loop.is_running()) or not _context_free(self.context):
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # Never started: no "never awaited" warning.
            raise RuntimeError(
                "Cannot run a coroutine of the test from synchronous code of the same "
                "test (a sync test method, setUp, tearDown, a sync cleanup, or sync "
                "code that the test's coroutine called): make the caller `async def` "
                "and await the coroutine, or move the call to an async hook."
            )
        if loop is None:
            try:
                loop = self._start_loop()
            except BaseException:
                if asyncio.iscoroutine(awaitable):
                    awaitable.close()  # Never started: no "never awaited" warning.
                raise
        budget = self.budget
        task = create_task_in_context(loop, _as_coroutine(awaitable), self.context)
        if budget is not None:
            budget.watch(loop, task)
        try:
            loop.run_until_complete(task)
        except BaseException:
            if not task.done():
                raise  # KeyboardInterrupt (or SystemExit) stopped the loop itself.
        if budget is not None:
            budget.check(task)
        return _result(task)

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed, to report it
        # from the worker process; the runner (loop, context) stays behind,
        # and the copy's runner is None.
        return _no_runner, ()

    def _start_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop_factory()
        check_loop(loop, self._loop_factory)
        if self._debug is not None:
            loop.set_debug(self._debug)
        if loop.get_exception_handler() is None:
            loop.set_exception_handler(self._record_loop_error)
        route_new_tasks(loop, self.executor)
        self.executor.attach(loop)
        self._loop = loop
        return loop

    def _record_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.loop_errors.append(context)

    def close(self) -> None:
        """Cancel leftover tasks, close the loop and stop taking database work."""
        if self._closed:
            return
        self.budget = None
        loop = self._loop
        try:
            if loop is not None:
                try:
                    task = create_task_in_context(loop, _shutdown(), self.context)
                    loop.run_until_complete(task)
                    self.leftover_tasks = _result(task)
                finally:
                    loop.close()
        finally:
            self._closed = True
            self._loop = None
            self.executor.shutdown()


def _as_coroutine(awaitable: Awaitable[_T]) -> Coroutine[Any, Any, _T]:
    if asyncio.iscoroutine(awaitable):
        return awaitable
    return _await(awaitable)


async def _await(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def _context_free(context: contextvars.Context) -> bool:
    """Whether ``context`` can be entered (no code runs in it right now)."""
    try:
        context.run(_nothing)
    except RuntimeError:
        return False
    return True


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
