"""The guards of one test, as the engine's watcher: start, stop, raise one failure.

The engine (``_engine.TestLoop`` for the classes, ``_engine.ServedTest`` for
the pytest plugin) calls ``opened``, ``step_started``, ``step_finished``,
``checkpoint`` and ``closed``; the guards need nothing else of it. What they
watch and how their messages name the opt-outs comes from a
:class:`GuardPolicy`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from .._engine import CANCEL_GRACE, DatabaseSide, LoopOutcome
from .._tracebacks import raise_at_code
from ._database import DatabaseGuard
from ._failures import AsyncTestTimeout, ForeignThreadDatabaseAccess, LeftoverTasks, NeverAwaited
from ._never_awaited import FAST_ORIGIN_DEPTH, NeverAwaitedCatcher
from ._policy import GuardPolicy
from ._tasks import format_loop_error
from ._timeouts import Budget

__unittest = True  # See _tracebacks.

_logger = logging.getLogger("asyncio")


class TestGuards:
    """The guards of one test, from before its first step to after its loop has closed."""

    __test__ = False  # Not a test, whatever pytest's name patterns say.

    def __init__(self, policy: GuardPolicy) -> None:
        self.policy = policy
        self._database = DatabaseGuard(
            policy.test,
            refuse=not policy.allow_foreign_thread_db_access,
            allow_hint=policy.allow_hint("allow_foreign_thread_db_access"),
        )
        self._never_awaited = (
            None
            if policy.allow_never_awaited
            else NeverAwaitedCatcher()
            if policy.debug
            else NeverAwaitedCatcher(FAST_ORIGIN_DEPTH)
        )
        self.budget = (
            None
            if policy.timeout is None
            else Budget(policy.timeout, policy.timeout_origin, policy.test_code)
        )

    def __reduce__(self) -> tuple[Callable[[], None], tuple[()]]:
        # Django's --parallel pickles a test whose subtest failed; the guards
        # stay behind.
        return _no_guards, ()

    def opened(self, test: DatabaseSide) -> None:
        self._test = test
        self._database.start(test.database_threads)
        if self._never_awaited is not None:
            self._never_awaited.start()

    def step_started(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], source: object = None
    ) -> None:
        if self.budget is not None:
            self.budget.watch(loop, task, source)

    def step_finished(self, task: asyncio.Task[Any], error: BaseException | None) -> None:
        """The step ended (raising ``error``): raise AsyncTestTimeout if the budget stopped it."""
        if error is not None:
            self._database.reached(error)
        if self.budget is not None:
            try:
                self.budget.check(task)
            except AsyncTestTimeout as failure:
                # One failure says how the sync call the step awaited ended.
                released = self._test.stop_sync_calls()
                if released.stuck or released.cancelled:
                    failure.args = (
                        f"{failure.args[0]}\n\n{stopped_sync_call_message(released.cancelled)}",
                    )
                raise

    def checkpoint(self, outcome: LoopOutcome) -> None:
        """Raise a GuardFailure for what the guards caught so far; forget it."""
        leftovers, loop_errors = outcome.leftover_tasks, outcome.loop_errors
        policy = self.policy
        failures = []
        refused = self._database.unreported()
        self._database.forget_refused()
        if refused:
            failures.append(refused_message(refused))
        if policy.allow_leftover_tasks:
            for context in loop_errors:
                _logger.error("%s", format_loop_error(context))
        else:
            if leftovers:
                failures.append(
                    f"Tasks were still pending when {outcome.ended} ended; they were "
                    f"cancelled. Await them (or cancel and await them "
                    f"{policy.cleanup_steps}), or "
                    f"{policy.allow_hint('allow_leftover_tasks')}:\n"
                    + "\n".join(leftovers)
                    + _django_handler_advice(leftovers, policy)
                )
            if loop_errors:
                failures.append(
                    "Background tasks or callbacks raised, and nothing retrieved the "
                    "exception:\n" + "\n".join(format_loop_error(c) for c in loop_errors)
                )
        if outcome.stuck_sync_call:
            failures.append(stuck_sync_call_message(outcome.cancelled_queries))
        never_awaited = self._never_awaited
        if never_awaited is not None and never_awaited.found:
            failures.append(
                "Coroutines were created during the test and never awaited (add the missing "
                f"`await`, or {policy.allow_hint('allow_never_awaited')}):\n"
                + "\n".join(never_awaited.found)
            )
            never_awaited.found = []
        if failures:
            kind = _failure_kind(refused, leftovers, loop_errors, outcome.stuck_sync_call)
            raise_at_code(kind("\n\n".join(failures)), policy.test_code)

    def cancel_foreign_queries(self) -> None:
        """Cancel the queries in flight on connections other threads opened (allowed ones).

        For a runner that waits for its loop's default executor without a
        bound (pytest-asyncio's) before the rollback: such a query may wait
        for a lock of the test's transaction.
        """
        self._database.cancel_queries()

    def closed(self, outcome: LoopOutcome, report: bool) -> None:
        """Stop the guards; raise a GuardFailure for what they caught, if ``report``."""
        self._database.stop()
        if self._never_awaited is not None:
            self._never_awaited.stop()
        if report:
            self.checkpoint(outcome)


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


def stopped_sync_call_message(cancelled_queries: list[str]) -> str:
    """What became of the sync call a step that ran over its budget was waiting for."""
    if not cancelled_queries:
        return (
            f"The synchronous call it was waiting for was still running {CANCEL_GRACE:g} s "
            "later; it was left to finish on its own thread. Make the sync code return "
            "(give what it waits for a timeout)."
        )
    aliases = ", ".join(repr(alias) for alias in cancelled_queries)
    return (
        "The synchronous call it was waiting for was stopped: its query on the database "
        f"{aliases} was cancelled on the server before the rollback. Make the query return "
        "sooner (a statement or lock timeout)."
    )


def _django_handler_advice(leftovers: list[str], policy: GuardPolicy) -> str:
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
        "timeout, let the view finish after it (await what the view waits for) or "
        f"{policy.allow_hint('allow_leftover_tasks')}."
    )


def _failure_kind(refused: list[str], leftovers: list[str], errors: list[Any], stuck: bool) -> type:
    if refused:
        return ForeignThreadDatabaseAccess
    if leftovers or errors or stuck:
        return LeftoverTasks
    return NeverAwaited


def _no_guards() -> None:
    """What a pickled TestGuards becomes when unpickled."""
