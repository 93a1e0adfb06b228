"""The guards of one test, as the engine's watcher: start, stop, raise one failure.

The engine (``_engine.TestLoop``) calls ``opened``, ``step_started``,
``step_finished`` and ``closed``; the guards need nothing else of it.
"""

from __future__ import annotations

import asyncio
import logging
import types
from collections.abc import Callable
from typing import Any

from .._checks import COROUTINE_ATTR
from .._engine import CANCEL_GRACE, LoopOutcome, TestLoop
from .._tracebacks import raise_at_code
from ._database import DatabaseGuard
from ._failures import ForeignThreadDatabaseAccess, LeftoverTasks, NeverAwaited
from ._never_awaited import FAST_ORIGIN_DEPTH, NeverAwaitedCatcher
from ._tasks import format_loop_error
from ._timeouts import Budget, test_timeout

__unittest = True  # See _tracebacks.

_logger = logging.getLogger("asyncio")


class TestGuards:
    """The guards of one test, from before ``setUp`` to after its loop has closed."""

    __test__ = False  # Not a test, whatever pytest's name patterns say.

    def __init__(self, test: Any, debug: bool) -> None:
        cls = type(test)
        self.test = test
        self._allow_tasks = cls.allow_leftover_tasks
        self._database = DatabaseGuard(test, refuse=not cls.allow_foreign_thread_db_access)
        # On unless the class opts out with ``allow_never_awaited = True``.
        self._never_awaited = (
            None
            if getattr(cls, "allow_never_awaited", False)
            else NeverAwaitedCatcher()
            if debug
            else NeverAwaitedCatcher(FAST_ORIGIN_DEPTH)
        )
        method = getattr(test, test._testMethodName, None)
        self._test_code = _test_code(method)
        seconds, origin = test_timeout(test, method)
        self.budget = Budget(seconds, origin, self._test_code) if seconds is not None else None

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed; the guards
        # refer back to the test (pickling would recurse) and stay behind.
        return _no_guards, ()

    def opened(self, test_loop: TestLoop) -> None:
        self._database.start(test_loop.database_threads)
        if self._never_awaited is not None:
            self._never_awaited.start()

    def step_started(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        if self.budget is not None:
            self.budget.watch(loop, task)

    def step_finished(self, task: asyncio.Task[Any]) -> None:
        if self.budget is not None:
            self.budget.check(task)

    def closed(self, outcome: LoopOutcome, report: bool) -> None:
        """Stop the guards; raise a GuardFailure for what they caught, if ``report``."""
        leftovers, loop_errors = outcome.leftover_tasks, outcome.loop_errors
        self._database.stop()
        if self._never_awaited is not None:
            self._never_awaited.stop()
        if not report:
            return
        failures = []
        refused = self._database.unreported()
        self._database.refused.clear()
        if refused:
            failures.append(refused_message(refused))
        if self._allow_tasks:
            for context in loop_errors:
                _logger.error("%s", format_loop_error(context))
        else:
            if leftovers:
                failures.append(
                    "Tasks were still pending when the test ended; they were cancelled. "
                    "Await them (or cancel and await them in asyncTearDown or an async "
                    "cleanup), or set `allow_leftover_tasks = True` on "
                    f"{type(self.test).__qualname__}:\n"
                    + "\n".join(leftovers)
                    + _django_handler_advice(leftovers)
                )
            if loop_errors:
                failures.append(
                    "Background tasks or callbacks raised, and nothing retrieved the "
                    "exception:\n" + "\n".join(format_loop_error(c) for c in loop_errors)
                )
        if outcome.stuck_sync_call:
            failures.append(stuck_sync_call_message(outcome.cancelled_queries))
        if self._never_awaited is not None and self._never_awaited.found:
            failures.append(
                "Coroutines were created during the test and never awaited (add the missing "
                "`await`, or set `allow_never_awaited = True` on "
                f"{type(self.test).__qualname__}):\n" + "\n".join(self._never_awaited.found)
            )
        if failures:
            kind = _failure_kind(refused, leftovers, loop_errors, outcome.stuck_sync_call)
            raise_at_code(kind("\n\n".join(failures)), self._test_code)


def refused_message(refused: list[str]) -> str:
    """The failure for refused foreign-thread accesses whose error never reached the test."""
    return (
        "Database access from another thread was refused, and the error did not reach "
        "the test:\n" + "\n".join(refused)
    )


#: The failure for a sync call still running on the database worker after the grace period.
STUCK_SYNC_CALL = (
    "A synchronous call (an ORM call, or code run with sync_to_async) was still running "
    f"{CANCEL_GRACE:g} s after the test ended; it was left to finish on its own thread. "
    "Make the sync code return (give what it waits for a timeout)."
)


def stuck_sync_call_message(cancelled_queries: list[str]) -> str:
    """The failure for a sync call that outlived the test, whose queries were cancelled or not."""
    if not cancelled_queries:
        return STUCK_SYNC_CALL
    aliases = ", ".join(repr(alias) for alias in cancelled_queries)
    return (
        "A synchronous call (an ORM call, or code run with sync_to_async) was still running "
        f"{CANCEL_GRACE:g} s after the test ended; its query on the database {aliases} was "
        "cancelled on the server before the rollback. Make the query return sooner (a "
        "statement or lock timeout), or await the call before the test ends."
    )


def _django_handler_advice(leftovers: list[str]) -> str:
    """What to do about leftover tasks of Django's ASGI handler, which the test cannot await."""
    if not any("ASGIHandler." in task for task in leftovers):
        return ""
    return (
        "\n\nThe ASGIHandler tasks are Django's: they serve a request that was still "
        "running when the test ended, and the test cannot await them. This happens when "
        "the client stops waiting, for example on a client-side timeout of "
        "httpx.AsyncClient(transport=httpx.ASGITransport(app=...)): Django 5.2 and 6.0 "
        "leave the request's tasks running when the call to the app is cancelled (6.1 "
        "cancels them). Let "
        "the request finish within the client's timeout, or, if the test is about the "
        "timeout, let the view finish after it (await what the view waits for) or set "
        "`allow_leftover_tasks = True` on the class."
    )


def _test_code(method: Any) -> types.CodeType | None:
    func = getattr(method, "__func__", method)
    func = getattr(func, COROUTINE_ATTR, func)
    return getattr(func, "__code__", None)


def _failure_kind(refused: list[str], leftovers: list[str], errors: list[Any], stuck: bool) -> type:
    if refused:
        return ForeignThreadDatabaseAccess
    if leftovers or errors or stuck:
        return LeftoverTasks
    return NeverAwaited


def _no_guards() -> None:
    """What a pickled TestGuards becomes when unpickled."""
