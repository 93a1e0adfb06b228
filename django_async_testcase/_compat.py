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


#: Whether ``cancel_requested`` knows of any task (else only of ``new_task``'s).
TELLS_CANCEL_REQUESTS = sys.version_info >= (3, 11)

if sys.version_info >= (3, 11):

    def cancel_requested(task: asyncio.Task[Any]) -> bool:
        """Whether someone asked ``task`` to cancel and it has not recovered (on its way out)."""
        return task.cancelling() > 0

    def new_task(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T], **kwargs: Any
    ) -> asyncio.Task[_T]:
        """A task, as ``loop.create_task`` makes one without a task factory."""
        return asyncio.Task(coro, loop=loop, **kwargs)

else:

    class Task(asyncio.Task):  # type: ignore[type-arg]
        """A task that remembers being asked to cancel (Python 3.10 has no ``cancelling()``).

        asyncio and every library cancel a task (and a task awaiting a child
        cancels the child) by calling its ``cancel()`` method. Named ``Task``:
        asyncio's messages and the task's repr name its class.
        """

        _cancel_requested = False

        def cancel(self, msg: Any = None) -> bool:
            self._cancel_requested = True
            return super().cancel(msg)

    def cancel_requested(task: asyncio.Task[Any]) -> bool:
        """Whether someone asked ``task`` to cancel (known of tasks made by ``new_task``)."""
        return getattr(task, "_cancel_requested", False)

    def new_task(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, _T], **kwargs: Any
    ) -> asyncio.Task[_T]:
        """A task, as ``loop.create_task`` makes one, that remembers being asked to cancel."""
        return Task(coro, loop=loop, **kwargs)


if sys.version_info >= (3, 11):

    def add_note(exc: BaseException, note: str) -> None:
        """Add ``note`` to ``exc``: tracebacks print it below the exception's message."""
        exc.add_note(note)

else:

    def add_note(exc: BaseException, note: str) -> None:
        """Python 3.10 prints no notes: append ``note`` to the message itself.

        An exception whose message is not its one string argument gets the
        note as its cause instead, which both runners print above it.
        """
        if len(exc.args) == 1 and isinstance(exc.args[0], str) and str(exc) == exc.args[0]:
            exc.args = (f"{exc.args[0]}\n{note}",)
        elif exc.__cause__ is None and exc.__context__ is None:
            exc.__cause__ = RuntimeWarning(note)


if sys.version_info >= (3, 11):

    def uncancel(task: asyncio.Task[Any]) -> None:
        """Withdraw one request to cancel ``task``, once it was handled."""
        task.uncancel()

else:

    def uncancel(task: asyncio.Task[Any]) -> None:
        """Forget the request to cancel ``task`` that ``new_task``'s tasks remember."""
        if isinstance(task, Task):
            task._cancel_requested = False
