"""Differences between the supported Python versions, kept in one place."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__unittest = True  # See _tracebacks.

_T = TypeVar("_T")


if sys.version_info >= (3, 11):

    def create_task_in_context(
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, _T],
        context: contextvars.Context,
    ) -> asyncio.Task[_T]:
        """Run ``coro`` as a task whose context *is* ``context``."""
        return loop.create_task(coro, context=context)

else:

    def create_task_in_context(
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, _T],
        context: contextvars.Context,
    ) -> asyncio.Task[_T]:
        """Run ``coro`` as a task that shares its variables with ``context``.

        Python 3.10's tasks always run in a copy of the current context, so the
        task starts from a copy of ``context`` and writes its variables back
        into ``context`` when it ends: a variable set in asyncSetUp is then
        seen by the test and by tearDown, as on Python 3.11+.
        """
        return context.run(loop.create_task, _write_back(coro, context))

    async def _write_back(coro: Coroutine[Any, Any, _T], context: contextvars.Context) -> _T:
        try:
            return await coro
        finally:
            context.run(_set_all, contextvars.copy_context())

    def _set_all(source: contextvars.Context) -> None:
        for var, value in source.items():
            try:
                if var.get() is value:
                    continue
            except LookupError:
                pass
            var.set(value)


if sys.version_info >= (3, 11):

    def cancel_requested(task: asyncio.Task[Any]) -> bool:
        """Whether someone already asked ``task`` to cancel (it is on its way out)."""
        return task.cancelling() > 0

else:

    def cancel_requested(task: asyncio.Task[Any]) -> bool:
        """Python 3.10 cannot tell; treat the task as a leftover."""
        return False


if sys.version_info >= (3, 11):

    def uncancel(task: asyncio.Task[Any]) -> None:
        """Withdraw one request to cancel ``task``, once it was handled."""
        task.uncancel()

else:

    def uncancel(task: asyncio.Task[Any]) -> None:
        """Python 3.10 counts no requests: nothing to withdraw."""
