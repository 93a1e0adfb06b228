"""Version differences of Python, asgiref and Django, kept in one place."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections.abc import Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync

_T = TypeVar("_T")

PY311 = sys.version_info >= (3, 11)


if PY311:

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


def route_thread_sensitive_calls(executor: Executor) -> None:
    """Send thread-sensitive ``sync_to_async`` calls of this context to ``executor``.

    Must be called in the event loop thread, inside the task whose context
    (and whose child tasks' contexts) should use the executor.

    asgiref has no public API for this on every supported version (3.13 adds
    ``ThreadSensitiveContext(executor=...)``). ``AsyncToSync.executors.current``
    is what ``async_to_sync`` itself sets, and ``SyncToAsync`` consults it
    before any other choice, including the ``ThreadSensitiveContext`` that
    Django's ASGI handler opens for each request. asgiref >= 3.13 tags this
    storage with the thread that set it, hence "in the event loop thread".
    Covered by tests/test_asgiref_routing.py on every supported version.
    """
    AsyncToSync.executors.current = executor


def route_new_tasks(loop: asyncio.AbstractEventLoop, executor: Executor) -> None:
    """Make tasks created on ``loop`` route thread-sensitive calls to ``executor``.

    A task inherits the routing of the task that creates it, except when it is
    created in another context: asgiref's ``ApplicationCommunicator`` (so every
    Channels communicator) starts the application in an empty
    ``contextvars.Context``, whose ORM calls would otherwise go to asgiref's
    process-wide thread and its own connection, outside the test's transaction.
    A context that already routes them elsewhere (a nested ``async_to_sync``)
    keeps its routing. The factory wraps any factory already set on ``loop``.
    Covered by tests/test_channels.py (EmptyContextTaskTests without Channels).
    """
    previous = loop.get_task_factory()

    def task_factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        context = kwargs.get("context")
        if context is None:
            # The task copies the current context (the creator's own context,
            # or the empty one asgiref's communicator is running in).
            _route_if_unset(executor)
        else:
            try:
                context.run(_route_if_unset, executor)
            except RuntimeError:
                # A context entered right now (in this thread or another) is
                # one a task of the test already runs in, so already routed.
                pass
        if previous is None:
            return asyncio.Task(coro, loop=loop, **kwargs)
        return previous(loop, coro, **kwargs)

    loop.set_task_factory(task_factory)  # type: ignore[arg-type]


def _route_if_unset(executor: Executor) -> None:
    if getattr(AsyncToSync.executors, "current", None) is None:
        route_thread_sensitive_calls(executor)
