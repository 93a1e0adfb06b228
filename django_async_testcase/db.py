"""Django's database test tools, usable in the coroutines of a test.

In a test's coroutine Django's own ones raise ``SynchronousOnlyOperation``
(a loop is running), or, for ``captureOnCommitCallbacks``, silently capture
nothing. The helpers here return context managers that run Django's own
implementation as synchronous code on the test's connection, the very one every
``await Model.objects...`` call uses: with ``async with`` on the test's database
worker, where the ORM calls run; with ``with`` on the test's own thread, for
an instant, as if no loop ran there. Outside a test's coroutine they return
Django's own context managers, unchanged.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.test.utils import CaptureQueriesContext

from . import _asgiref, _stdlib
from ._engine import current_test_loop

__unittest = True  # See _tracebacks.

_T = TypeVar("_T")


class ServesDatabase(Protocol):
    """What DatabaseThreadContext needs of a test: its database worker, once bound.

    A :class:`~django_async_testcase._engine.TestLoop` (the classes) or a
    :class:`~django_async_testcase._engine.ServedTest` (the pytest plugin).
    """

    @property
    def worker(self) -> Executor | None: ...


class DatabaseThreadContext(Generic[_T]):
    """Enter and exit a context manager as sync code on the test's connection.

    ``factory`` makes the context manager; it is called where the manager is
    entered, so it may look up ``connections[alias]``. Usable once, with
    ``async with`` (on the database worker, in turn with the ORM calls) or
    ``with`` (on the test's thread at once; the event loop waits meanwhile).
    """

    def __init__(
        self, test_loop: ServesDatabase, factory: Callable[[], AbstractContextManager[_T]]
    ) -> None:
        self._test_loop = test_loop
        self._factory = factory
        self._manager: AbstractContextManager[_T] | None = None
        self._entered = False

    def __enter__(self) -> _T:
        return _run_here(self._enter)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return _run_here(functools.partial(self._exit, exc_type, exc, tb))

    async def __aenter__(self) -> _T:
        return await _async_result(_submit(self._test_loop, self._enter))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await _async_result(
            _submit(self._test_loop, functools.partial(self._exit, exc_type, exc, tb))
        )

    def _enter(self) -> _T:
        if self._entered:
            raise RuntimeError(
                f"{type(self).__name__} objects can be entered only once; call the "
                f"test case method again for another block."
            )
        self._entered = True
        self._manager = self._factory()
        return self._manager.__enter__()

    def _exit(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._manager is not None
        return self._manager.__exit__(exc_type, exc, tb)


def _submit(test_loop: ServesDatabase, fn: Callable[[], _T]) -> Future[_T]:
    """Run ``fn`` where the caller's ORM calls run, in a copy of the caller's context.

    In the test's tasks that is the database worker; in the coroutine of an
    ``async_to_sync`` called by sync code, the thread that waits for it.
    """
    call = contextvars.copy_context().run
    executor = _asgiref.thread_sensitive_executor() or test_loop.worker
    assert executor is not None  # A coroutine runs on the test's loop: the worker is bound.
    return executor.submit(call, fn)


def _run_here(fn: Callable[[], _T]) -> _T:
    """Run ``fn`` on this thread, the test's, as sync code (the loop waits meanwhile)."""
    with _stdlib.running_loop_hidden():
        return fn()


def _result(future: Future[_T]) -> _T:
    """Wait for ``future``; raise its exception without concurrent.futures' frames."""
    exc = future.exception()
    if exc is not None:
        try:
            raise exc
        finally:
            del exc
    return future.result()


async def _async_result(future: Future[_T]) -> _T:
    """Await ``future``; if the awaiting task is cancelled, the call still completes."""
    waiter = asyncio.wrap_future(future)
    # The outcome is read from ``future``: mark the waiter's as read.
    waiter.add_done_callback(lambda waiter: waiter.cancelled() or waiter.exception())
    await asyncio.wait([waiter])
    return _result(future)


class CaptureQueries(DatabaseThreadContext[CaptureQueriesContext]):
    """:class:`~django.test.utils.CaptureQueriesContext` on the test's database thread.

    Like it, it has ``captured_queries`` and supports ``len()``, iteration and
    indexing once entered.
    """

    @property
    def captured_queries(self) -> list[dict[str, str]]:
        """The queries run on the test's connection inside the block (or so far)."""
        if self._manager is None:
            raise RuntimeError("Enter the captureQueries() block before reading its queries.")
        return self._manager.captured_queries  # type: ignore[attr-defined,no-any-return]

    def __iter__(self) -> Iterator[dict[str, str]]:
        return iter(self.captured_queries)

    def __getitem__(self, index: int) -> dict[str, str]:
        return self.captured_queries[index]

    def __len__(self) -> int:
        return len(self.captured_queries)


class QueryToolsMixin:
    """``assertNumQueries`` and ``captureQueries`` that work in coroutines too."""

    def assertNumQueries(
        self,
        num: int,
        func: Callable[..., Any] | None = None,
        *args: Any,
        using: str = DEFAULT_DB_ALIAS,
        **kwargs: Any,
    ) -> Any:
        """Fail unless ``num`` queries run on ``using`` in the block (or in ``func``).

        In a coroutine use ``with`` or ``async with``; the queries counted are
        those of the test's connection, whatever thread made them. ``func``,
        if given, is called on the test's database thread.
        """
        django_method = super().assertNumQueries  # type: ignore[misc]
        test_loop = current_test_loop()
        if test_loop is None:
            return django_method(num, func, *args, using=using, **kwargs)
        if func is not None:
            return _run_here(
                functools.partial(django_method, num, func, *args, using=using, **kwargs)
            )
        return DatabaseThreadContext(test_loop, functools.partial(django_method, num, using=using))

    def captureQueries(
        self, *, using: str = DEFAULT_DB_ALIAS
    ) -> CaptureQueries | CaptureQueriesContext:
        """Capture the queries run on ``using`` in the block, as CaptureQueriesContext does.

        The block's value (and the returned object) has ``captured_queries``
        and supports ``len()``.
        """
        test_loop = current_test_loop()
        if test_loop is None:
            return CaptureQueriesContext(connections[using])
        return CaptureQueries(test_loop, lambda: CaptureQueriesContext(connections[using]))


class OnCommitToolsMixin:
    """``captureOnCommitCallbacks`` that works in coroutines too."""

    @classmethod
    def captureOnCommitCallbacks(
        cls, *, using: str = DEFAULT_DB_ALIAS, execute: bool = False
    ) -> Any:
        """Capture the ``transaction.on_commit()`` callbacks registered in the block.

        In a coroutine use ``with`` or ``async with``: the callbacks are
        those of the test's connection, and with ``execute=True`` they run on
        the test's database thread, as in a synchronous test (callbacks they
        register are captured and run too).
        """
        django_method = super().captureOnCommitCallbacks  # type: ignore[misc]
        test_loop = current_test_loop()
        if test_loop is None:
            return django_method(using=using, execute=execute)
        return DatabaseThreadContext(
            test_loop, functools.partial(django_method, using=using, execute=execute)
        )


__all__ = ["CaptureQueries", "DatabaseThreadContext", "OnCommitToolsMixin", "QueryToolsMixin"]
