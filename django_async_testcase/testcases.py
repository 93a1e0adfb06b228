"""The public test case classes."""

from __future__ import annotations

import asyncio
import functools
import inspect
import types
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, TypeVar

from asgiref.sync import iscoroutinefunction
from django import test as django_test
from django.db import connections

from . import (
    _checks,
    _django,
    _roundtrips,
    _sessions,
    _stdlib,
    _tracebacks,
    _worker,
    checks,
    guards,
)
from ._engine import LoopFactory, TestLoop
from ._testdata import AsyncTestDataMixin
from .db import OnCommitToolsMixin, QueryToolsMixin
from .guards import note_forgotten_awaits

__unittest = True  # See _tracebacks.

_T = TypeVar("_T")

# manage.py test runs the system checks after importing the tests: a suite that
# uses these classes gets the check of ASYNC_TESTCASE_TIMEOUT before any test runs.
checks.register()


class _AsyncTestMixin:
    """The async lifecycle shared by every public class.

    Overrides the hooks that ``unittest.TestCase.run`` and ``debug`` call, as
    ``unittest.IsolatedAsyncioTestCase`` does, so that per test:
    setUp → asyncSetUp → test → asyncTearDown → tearDown → cleanups (LIFO)
    run in one ``contextvars.Context``, the async ones on the test's own event
    loop (a ``_engine.TestLoop``), and every database call in the test's
    transaction.

    The TestLoop's lifecycle: opened in ``_callSetUp``, before ``setUp``;
    closed as the first cleanup registered, so after every other cleanup and
    before Django's ``_post_teardown`` rolls back. A test cut short
    (``debug()`` raised, KeyboardInterrupt) skips both cleanups and Django's
    tear-down: ``_setup_and_call`` then closes the loop and runs the rollback.
    """

    #: Called with no arguments to make each test's event loop;
    #: ``None`` means :func:`asyncio.new_event_loop`.
    loop_factory: ClassVar[LoopFactory | None] = None
    #: Turn the event loop's debug mode on (``True``) or off (``False``);
    #: ``None`` keeps asyncio's default (on with ``PYTHONASYNCIODEBUG`` or ``-X dev``).
    asyncio_debug: ClassVar[bool | None] = None
    #: Seconds the async steps of each test (asyncSetUp, the test, asyncTearDown,
    #: async cleanups) may take together; ``None`` for no limit. Unset, it reads
    #: ``settings.ASYNC_TESTCASE_TIMEOUT`` (default ``None``). See :func:`timeout`.
    async_timeout: ClassVar[float | None] = guards.FromSetting()  # type: ignore[assignment]
    #: Let tasks still pending at the end of a test be cancelled silently.
    allow_leftover_tasks: ClassVar[bool] = False
    #: Let coroutines created during a test and never awaited pass silently
    #: (by default they fail the test: a forgotten ``await``).
    allow_never_awaited: ClassVar[bool] = False
    #: Let threads other than the test's database thread use the database.
    #: Their connections are closed when the test ends either way.
    allow_foreign_thread_db_access: ClassVar[bool] = True

    # The TestLoop of the test, from _callSetUp to Django's _post_teardown.
    _testLoop: TestLoop | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # pytest and its plugins (anyio's) inspect the class's test functions at
        # collection; plain methods keep them from running a coroutine themselves.
        # Inherited ones (from mixins) too: wrapping them per instance would put
        # a method bound to the test in its __dict__, which Django's --parallel
        # pickles when a subtest fails (recursing until RecursionError).
        for name in dir(cls):
            if _is_test_method_name(name):
                value = inspect.getattr_static(cls, name)
                if iscoroutinefunction(value):
                    setattr(cls, name, _run_on_test_loop(value))
        # Also when inherited from a mixin, which this class's setUpClass never sees.
        if iscoroutinefunction(getattr(cls, "setUpClass", None)):
            errors = _checks.async_class_hook_errors(cls)
            cls.setUpClass = classmethod(_raise_type_error(errors))  # type: ignore[method-assign, assignment]

    @classmethod
    def setUpClass(cls) -> None:
        errors = _checks.async_class_hook_errors(cls)
        if errors:
            raise TypeError("\n".join(errors))
        # The database worker its tests share stops with the class.
        cls.addClassCleanup(_worker.stop_spare)  # type: ignore[attr-defined]
        super().setUpClass()  # type: ignore[misc]

    async def asyncSetUp(self) -> None:
        """Async set-up, run after setUp on the test's event loop."""

    async def asyncTearDown(self) -> None:
        """Async tear-down, run before tearDown on the test's event loop."""

    def addAsyncCleanup(
        self, func: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any
    ) -> None:
        """Await ``func(*args, **kwargs)`` on the test's loop among the cleanups (LIFO)."""
        _checks.check_async_cleanup(func)
        self.addCleanup(func, *args, **kwargs)  # type: ignore[attr-defined]

    async def enterAsyncContext(self, cm: AbstractAsyncContextManager[_T]) -> _T:
        """Enter the async context manager ``cm``; exit it as an async cleanup."""
        cls = type(cm)
        try:
            enter = cls.__aenter__
            exit = cls.__aexit__
        except AttributeError:
            raise TypeError(
                f"'{cls.__module__}.{cls.__qualname__}' object does not support the "
                f"asynchronous context manager protocol; enter a synchronous one "
                f"with enterContext() (Python 3.11+) or `with` in the test."
            ) from None
        result: _T = await enter(cm)
        self.addAsyncCleanup(exit, cm, None, None, None)
        return result

    # Django's entry point for both __call__ (runners) and debug().

    def _setup_and_call(self, result: Any, debug: bool = False) -> None:
        # A coroutine method that __init_subclass__ did not wrap (set on the
        # instance, or not named test*) must not be left for Django's async_to_sync.
        name = self._testMethodName  # type: ignore[attr-defined]
        method = getattr(self, name, None)
        if isinstance(method, types.MethodType) and iscoroutinefunction(method):
            setattr(self, name, types.MethodType(_run_on_test_loop(method.__func__), self))
        try:
            super()._setup_and_call(_tracebacks.for_parallel_result(result), debug)  # type: ignore[misc]
        except BaseException:
            # Cut short: no cleanup closed the loop, and Django skipped its rollback.
            test_loop = self._testLoop
            if test_loop is not None:
                try:
                    test_loop.close(report=False)  # Cancels the queries in flight first.
                finally:
                    self._post_teardown()
            raise

    def _post_teardown(self) -> None:
        self._testLoop = None
        super()._post_teardown()  # type: ignore[misc]

    # The hooks unittest.TestCase.run() and debug() call.

    def _callSetUp(self) -> None:
        if _stdlib.running_loop() is not None:
            raise RuntimeError(
                f"{self} was run from a thread whose event loop is running; "
                f"{type(self).__name__} starts its own loop per test. Run the test "
                f"from synchronous code (a test runner), not from a coroutine."
            )
        cls = type(self)
        test_loop = TestLoop(
            cls.loop_factory, cls.asyncio_debug, [guards.TestGuards(self._guardPolicy())]
        )
        self._testLoop = test_loop
        test_loop.open()
        self.addCleanup(test_loop.close)  # type: ignore[attr-defined]  # The first cleanup runs last.
        _checks.check_sync_test_hook(self, "setUp")
        try:
            test_loop.run_sync(self.setUp)  # type: ignore[attr-defined]
            self._callAsyncHook("asyncSetUp")
        except Exception as exc:
            note_forgotten_awaits(exc)
            raise

    def _guardPolicy(self) -> guards.GuardPolicy:
        """The guards' settings for this test, from the class's attributes."""
        cls = type(self)
        method = getattr(self, self._testMethodName, None)  # type: ignore[attr-defined]
        seconds, origin = guards.test_timeout(self, method)
        return guards.GuardPolicy(
            test=str(self),
            timeout=seconds,
            timeout_origin=origin,
            allow_leftover_tasks=cls.allow_leftover_tasks,
            allow_foreign_thread_db_access=cls.allow_foreign_thread_db_access,
            allow_never_awaited=cls.allow_never_awaited,
            opt_out=f"set `{{option}} = True` on {cls.__qualname__}",
            cleanup_steps="in asyncTearDown or an async cleanup",
            test_code=_test_code(method),
            debug=guards.ASYNCIO_DEBUG_DEFAULT if cls.asyncio_debug is None else cls.asyncio_debug,
        )

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        try:
            if hasattr(method, _checks.COROUTINE_ATTR):
                returned = method()  # Runs the coroutine in the test's context.
            else:
                returned = self._requireTestLoop().run_sync(method)
        except Exception as exc:
            note_forgotten_awaits(exc)
            raise
        if returned is not None:
            forgotten = asyncio.iscoroutine(returned)
            if forgotten:
                returned.close()  # Already reported here; no "never awaited" warning.
            # From the test's first line: the traceback shows the user's code only.
            _tracebacks.raise_at_code(
                TypeError(
                    f"{self} returned {returned!r}; a test method must return None"
                    + (" (was an await forgotten?)" if forgotten else "")
                    + "."
                ),
                _checks.code_of(method),
            )

    def _callTearDown(self) -> None:
        try:
            self._callAsyncHook("asyncTearDown")
            _checks.check_sync_test_hook(self, "tearDown")
            self._requireTestLoop().run_sync(self.tearDown)  # type: ignore[attr-defined]
        except Exception as exc:
            note_forgotten_awaits(exc)
            raise

    def _callCleanup(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        try:
            if _checks.is_async_callable(function):
                self._requireTestLoop().run(function(*args, **kwargs))
            else:
                self._requireTestLoop().run_sync(function, *args, **kwargs)
        except Exception as exc:
            note_forgotten_awaits(exc)
            raise

    def _callAsyncHook(self, name: str) -> None:
        hook = getattr(self, name)
        if getattr(hook, "__func__", None) is getattr(_AsyncTestMixin, name):
            return  # Not overridden: no need to start the loop.
        _checks.check_async_hook(self, name)
        self._requireTestLoop().run(hook())

    def _requireTestLoop(self) -> TestLoop:
        test_loop = self._testLoop
        if test_loop is None:
            raise RuntimeError(
                f"{self} is not running: its async parts can only run while a "
                f"test runner (or test.run() / test.debug()) runs it."
            )
        return test_loop


def _is_test_method_name(name: str) -> bool:
    return name.startswith("test") or name == "runTest"


def _test_code(method: Any) -> types.CodeType | None:
    """The code of the test method's own function (under the wrappers)."""
    func = getattr(method, "__func__", method)
    func = getattr(func, _checks.COROUTINE_ATTR, func)
    return getattr(func, "__code__", None)


def _run_on_test_loop(func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Wrap an ``async def`` test method in a plain one that runs it on the test's loop."""

    @functools.wraps(func)
    def test_method(self: _AsyncTestMixin, *args: Any, **kwargs: Any) -> Any:
        coro = func(self, *args, **kwargs)
        if _stdlib.running_loop() is not None:
            # Called from a coroutine (a test awaiting another test method,
            # as Django's own suite does): hand back the coroutine to await.
            return coro
        return self._requireTestLoop().run(coro)

    setattr(test_method, _checks.COROUTINE_ATTR, func)
    return test_method


def _raise_type_error(errors: list[str]) -> Callable[[type], None]:
    def setUpClass(cls: type) -> None:
        raise TypeError("\n".join(errors))

    return setUpClass


class AsyncSimpleTestCase(_AsyncTestMixin, django_test.SimpleTestCase):
    """:class:`django.test.SimpleTestCase` with async hooks and one event loop per test."""


class AsyncTransactionTestCase(QueryToolsMixin, _AsyncTestMixin, django_test.TransactionTestCase):
    """:class:`django.test.TransactionTestCase` with async hooks and one event loop per test.

    The database is flushed after each test, as in Django's class; database
    calls from async code run on the test's database worker, with the test
    thread's connections.
    """


class AsyncTestCase(
    AsyncTestDataMixin,
    OnCommitToolsMixin,
    QueryToolsMixin,
    _AsyncTestMixin,
    django_test.TestCase,
):
    """:class:`django.test.TestCase` with async hooks and one event loop per test.

    Every database call of the test and its hooks, async ones included, runs in
    the test's transaction and is rolled back after it.
    """

    #: Database access from another thread would escape the test's transaction,
    #: so it fails the test unless this is True.
    allow_foreign_thread_db_access: ClassVar[bool] = False

    @classmethod
    def setUpClass(cls) -> None:
        # close_old_connections() (Django's request signals, Channels'
        # database_sync_to_async) must not close the class's transaction.
        undo = _django.keep_open_in_atomic_blocks(_django.database_names(cls))
        cls.addClassCleanup(undo)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        # Django's own, which closes every connection; on PostgreSQL the
        # sessions are kept for the next class, reset (see _sessions).
        with _sessions.kept_sessions(connections.all(initialized_only=True)):
            super().tearDownClass()

    def _fixture_teardown(self) -> None:
        # Django's own tear-down, its statements sent in one round trip per
        # PostgreSQL connection (see _roundtrips).
        with _roundtrips.batched_test_end(_django.database_names(type(self), include_mirrors=True)):
            super()._fixture_teardown()  # type: ignore[misc]


class AsyncLiveServerTestCase(_AsyncTestMixin, django_test.LiveServerTestCase):
    """:class:`django.test.LiveServerTestCase` with async hooks and one event loop per test.

    A live HTTP server runs in a thread for the whole class, at
    ``live_server_url``; async tests can call it with any async HTTP client.
    As in :class:`AsyncTransactionTestCase`, rows are committed, so the
    server sees them, and the database is flushed after each test.
    """


__all__ = [
    "AsyncLiveServerTestCase",
    "AsyncSimpleTestCase",
    "AsyncTestCase",
    "AsyncTransactionTestCase",
]
