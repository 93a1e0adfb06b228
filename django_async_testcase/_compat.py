"""Version differences of Python, asgiref and Django, kept in one place."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import sys
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Executor
from typing import Any, TypeVar

from asgiref.sync import AsyncToSync, SyncToAsync
from django import test as django_test

# unittest and pytest leave out frames of modules that set __unittest; Python
# 3.10's unittest only drops them at the ends of a traceback, so a test's own
# frame would follow this module's _write_back (or, for a failure, be cut off).
__unittest = True

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


def route_thread_sensitive_calls(executor: Executor) -> None:
    """Send thread-sensitive ``sync_to_async`` calls of this context to ``executor``.

    Must be called in the thread that runs the event loop, in the context
    whose tasks (and their child tasks) should use the executor.

    asgiref has no public API for this on every supported version (3.13 adds
    ``ThreadSensitiveContext(executor=...)``). ``AsyncToSync.executors.current``
    is what ``async_to_sync`` itself sets, and ``SyncToAsync`` consults it
    before any other choice, including the ``ThreadSensitiveContext`` that
    Django's ASGI handler opens for each request. asgiref >= 3.13 tags this
    storage with the thread that set it, hence "in the thread that runs the loop".
    Covered by tests/test_asgiref_routing.py on every supported version.
    """
    AsyncToSync.executors.current = executor


def thread_sensitive_executor() -> Executor | None:
    """The executor thread-sensitive ``sync_to_async`` calls of this context go to.

    The test's DatabaseThreadExecutor in a test's tasks; in the coroutine of
    an ``async_to_sync`` call made from the test's thread, the executor asgiref
    made for that call (which the test's thread then serves). Reads
    the storage that ``route_thread_sensitive_calls`` writes; covered by
    tests/test_query_tools.py.
    """
    return getattr(AsyncToSync.executors, "current", None)


@contextlib.contextmanager
def running_loop_hidden() -> Iterator[None]:
    """Run the block as if no event loop ran this thread.

    The test's thread runs its event loop and, inside the loop's callbacks,
    the synchronous calls sent to it by ``sync_to_async``. Django's
    ``async_unsafe`` check (every database call) and asgiref's
    ``async_to_sync`` refuse to run where a loop is running; these calls stand
    in for code that asgiref would run on a thread with no loop. asyncio's
    ``_get_running_loop``/``_set_running_loop`` are the low-level hooks it
    exports for event loop implementations (uvloop uses them); covered by
    tests/test_lifecycle.py and tests/test_query_tools.py.
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def detach_from_calling_loop(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Make asgiref's wrapper of a ``sync_to_async`` call forget the loop that awaits it.

    ``fn`` is what ``sync_to_async`` hands to the executor: a partial of
    ``SyncToAsync.thread_handler`` whose first argument is the awaiting loop,
    which it records (per thread) for ``async_to_sync``: sync code that calls
    ``async_to_sync`` sends its coroutine to that loop and waits for it. The
    test's loop runs on the very thread that would wait, so it could never
    run the coroutine. Recorded as None instead, asgiref runs the coroutine on
    a new loop in a new thread, as for sync code that no loop called; the
    coroutine's thread-sensitive calls still come back to the test's thread.
    The record stays on the thread after the call, as asgiref leaves it: a
    later ``async_to_sync`` there (a sync test's request to an async view)
    also finds no loop, as on a thread no loop ever called. (asgiref < 3.9
    checks ``is_running()`` on the record and passes it to
    ``asyncio.set_event_loop``; later versions check ``is not None``: None
    suits both.)

    Anything else is returned unchanged. Private asgiref API, the same from
    3.8 to 3.13; covered by tests/test_query_tools.py and
    tests/test_asgiref_routing.py (a nested ``async_to_sync``) on every version.
    """
    if (
        isinstance(fn, functools.partial)
        and getattr(fn.func, "__func__", None) is SyncToAsync.thread_handler
        and fn.args
        and isinstance(fn.args[0], asyncio.AbstractEventLoop)
    ):
        return functools.partial(fn.func, None, *fn.args[1:], **fn.keywords)
    return fn


# Django >= 5.2 made TestCase._pre_setup and _fixture_setup classmethods; on
# Django 4.2 they are instance methods. An override must keep the same kind.
# Private Django API, covered by tests/test_test_data.py on every version.
FIXTURE_SETUP_IS_CLASSMETHOD = isinstance(
    inspect.getattr_static(django_test.TestCase, "_fixture_setup"), classmethod
)


def fixture_setup_override(func: Callable[[Any], None]) -> Any:
    """Make ``func(cls_or_self)`` an override of TestCase._fixture_setup on this Django."""
    return classmethod(func) if FIXTURE_SETUP_IS_CLASSMETHOD else func


def test_data_is_class_wide(cls: type) -> bool:
    """Whether TestCase.setUpClass ran ``cls.setUpTestData`` (else each test does).

    Django runs it once per class, inside the class-wide transaction, when
    every database of ``cls`` supports transactions, and, on Django >= 5.2,
    savepoints; otherwise TestCase._fixture_setup runs it before each test.
    Private Django API, covered by tests/test_test_data.py.
    """
    supports_savepoints = getattr(cls, "_databases_support_savepoints", lambda: True)
    return bool(cls._databases_support_transactions() and supports_savepoints())  # type: ignore[attr-defined]


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

    # Typeshed's task factory type has the keyword arguments only from Python 3.12.
    loop.set_task_factory(task_factory)  # type: ignore[arg-type,unused-ignore]


def _route_if_unset(executor: Executor) -> None:
    if getattr(AsyncToSync.executors, "current", None) is None:
        route_thread_sensitive_calls(executor)
