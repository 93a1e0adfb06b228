"""Every use of asgiref's private API, in one place.

asgiref picks the thread of a thread-sensitive ``sync_to_async`` call itself;
its public API (``ThreadSensitiveContext``) cannot name an executor on every
supported version (``executor=`` came in 3.13). The engine needs to send the
calls of one test's tasks to that test's database worker, so it writes the
storage that ``async_to_sync`` itself writes for the same purpose.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import types
import weakref
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any

from asgiref.sync import AsyncToSync

from ._compat import new_task

__unittest = True  # See _tracebacks.


def route_thread_sensitive_calls(executor: Executor) -> None:
    """Send thread-sensitive ``sync_to_async`` calls of this context to ``executor``.

    ``AsyncToSync.executors.current`` is what ``async_to_sync`` sets for its
    coroutine, and ``SyncToAsync`` consults it before any other choice,
    including the ``ThreadSensitiveContext`` that Django's ASGI handler opens
    for each request. asgiref >= 3.13 tags this storage with the thread that
    set it: call this on the thread that runs the test's loop.
    Private asgiref API (3.8.1 to 3.13), covered by tests/test_asgiref_routing.py.
    """
    AsyncToSync.executors.current = executor


def restore_thread_sensitive_routing(executor: Executor | None) -> None:
    """Put back what ``thread_sensitive_executor()`` returned (``None``: asgiref's own choice)."""
    AsyncToSync.executors.current = executor


def thread_sensitive_executor() -> Executor | None:
    """The executor thread-sensitive ``sync_to_async`` calls of this context go to.

    The test's database worker in a test's tasks; in the coroutine of an
    ``async_to_sync`` called by sync code, the executor asgiref made for that
    call (the calling thread serves it). Reads what
    ``route_thread_sensitive_calls`` writes; covered by tests/test_query_tools.py.
    """
    return getattr(AsyncToSync.executors, "current", None)


def executor_thread(executor: Executor) -> threading.Thread | None:
    """The thread that runs ``executor``'s calls, if it is asgiref's ``CurrentThreadExecutor``.

    An ``async_to_sync`` call makes one for the calling thread, which serves
    the thread-sensitive calls of the coroutine while it waits;
    ``_work_thread`` is that thread. Private asgiref API, used only with
    django-async-backend (Django >= 6.0, so asgiref >= 3.9.1); checked on
    asgiref 3.13, covered by tests/test_async_backend.py
    (test_sync_test_async_to_sync).
    """
    thread = getattr(executor, "_work_thread", None)
    return thread if isinstance(thread, threading.Thread) else None


def route_new_tasks(
    loop: asyncio.AbstractEventLoop,
    executor: Executor,
    on_task: Callable[[asyncio.Future[Any]], None] | None = None,
) -> None:
    """Make tasks created on ``loop`` route thread-sensitive calls to ``executor``.

    A task inherits the routing of the task that creates it, except when it is
    created in another context: asgiref's ``ApplicationCommunicator`` (so every
    Channels communicator) starts the application in an empty
    ``contextvars.Context``, whose ORM calls would otherwise go to asgiref's
    process-wide thread and its own connection, outside the test's transaction.
    A context that already routes them elsewhere (the coroutine of an
    ``async_to_sync`` called by sync code) keeps its routing. The factory wraps
    any factory already set on ``loop``; ``on_task``, if given, is called with
    each new task. Covered by tests/test_channels.py (EmptyContextTaskTests,
    without Channels too), and by tests/test_pytest_plugin.py for ``on_task``.
    """
    previous = loop.get_task_factory()

    def task_factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        context = kwargs.get("context")
        communicator = False
        if context is None:
            # The task copies the current context (its creator's, or the empty
            # one asgiref's communicator runs in).
            communicator = _route_if_unset(executor) and _made_by_communicator()
        else:
            try:
                context.run(_route_if_unset, executor)
            except RuntimeError:
                # A context entered right now is one a task of the test
                # already runs in, so already routed.
                pass
        if previous is None:
            task: asyncio.Future[Any] = new_task(loop, coro, **kwargs)
        else:
            task = previous(loop, coro, **kwargs)
        if communicator:
            _communicator_tasks.add(task)
        if on_task is not None:
            on_task(task)
        return task

    # Typeshed's task factory type has the keyword arguments only from Python 3.12.
    loop.set_task_factory(task_factory)  # type: ignore[arg-type,unused-ignore]


def _route_if_unset(executor: Executor) -> bool:
    """Route this context's calls to ``executor`` unless it routes them already; whether it did."""
    if getattr(AsyncToSync.executors, "current", None) is None:
        route_thread_sensitive_calls(executor)
        return True
    return False


def started_by_communicator(task: asyncio.Future[Any]) -> bool:
    """Whether ``task`` runs the application of an asgiref ``ApplicationCommunicator``.

    So of every Channels communicator. The communicator owns that task: its
    ``stop()``, ``wait()`` and ``__del__`` cancel it. Known of tasks made by
    ``route_new_tasks``'s factory.
    """
    return task in _communicator_tasks


_communicator_tasks: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()


def _made_by_communicator() -> bool:
    """Whether the task being made (called from the task factory) is a communicator's application.

    asgiref's ``ApplicationCommunicator`` starts it from ``__init__`` (3.8) or
    from its ``future`` property (3.9 and later), through ``asyncio.create_task``
    in an empty context; a few frames up from the factory.
    Private asgiref API (where the task is made, 3.8.1 to 3.13), covered by
    tests/test_stopping_tasks.py (the communicator cases, in a reference cycle).
    """
    codes = _communicator_codes()
    frame: types.FrameType | None = sys._getframe(2)
    for _ in range(6):
        if frame is None:
            return False
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def _communicator_codes() -> frozenset[types.CodeType]:
    global _codes
    if _codes is None:
        from asgiref.testing import ApplicationCommunicator

        fget = getattr(vars(ApplicationCommunicator).get("future"), "fget", None)
        functions: list[Any] = [ApplicationCommunicator.__init__, fget]
        _codes = frozenset(f.__code__ for f in functions if hasattr(f, "__code__"))
    return _codes


_codes: frozenset[types.CodeType] | None = None


def join_executor_chain(executor: Executor) -> None:
    """Let asgiref's chain of executors end at ``executor`` (the test's database worker).

    ``async_to_sync`` called by sync code that runs on the worker (a sync-only
    middleware in front of an async view) makes a ``CurrentThreadExecutor``
    whose ``_old_executor`` is the executor its caller's context routes to: the
    worker. A task made inside that call which outlives it (a view's
    background task) still routes its calls to that executor, which has quit;
    asgiref >= 3.9 then walks ``_old_executor`` up to the closest executor
    still running, reading ``_work_ready``, ``_broken`` and ``_work_items`` of
    each. These attributes let the walk end at the worker, which serves the
    call in the test's transaction, as the test's thread serves it under
    ``django.test.TestCase``. (asgiref 3.8 has no such walk and never reads them.)
    Private asgiref API (3.9 to 3.13), covered by
    tests/test_production_semantics.py (test_views_background_task_uses_the_orm_after_the_response).
    """
    link: Any = executor
    link._work_ready = threading.Condition(threading.Lock())
    link._broken = False
    link._work_items = _Forward(executor)
    link._old_executor = None


class _Forward:
    """Stands for a CurrentThreadExecutor's work queue: hands each work item to ``executor``."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    def append(self, work_item: Any) -> None:
        # The work item settles the future asgiref returns; ours is not needed.
        self._executor.submit(work_item.run)
