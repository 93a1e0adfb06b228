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

from . import _checks, _connections, guards
from ._runner import LoopFactory, TestRunner
from ._testdata import AsyncTestDataMixin
from .db import OnCommitToolsMixin, QueryToolsMixin
from .guards._never_awaited import ASYNCIO_DEBUG_DEFAULT

# unittest and pytest leave out frames of modules that set __unittest, so a
# failing test's traceback starts at the test's own code.
__unittest = True

_T = TypeVar("_T")


class _AsyncTestMixin:
    """The async lifecycle shared by every public class.

    Overrides the hooks that ``unittest.TestCase.run`` and ``debug`` call, as
    ``unittest.IsolatedAsyncioTestCase`` does, so that per test:
    setUp → asyncSetUp → test → asyncTearDown → tearDown → cleanups (LIFO)
    run in one ``contextvars.Context``, the async ones on one fresh event loop,
    and every database call on the thread that runs the test.
    """

    #: Called with no arguments to make each test's event loop;
    #: ``None`` means :func:`asyncio.new_event_loop`.
    loop_factory: ClassVar[LoopFactory | None] = None
    #: Turn the event loop's debug mode on (``True``) or off (``False``);
    #: ``None`` keeps asyncio's default (on with ``PYTHONASYNCIODEBUG`` or ``-X dev``).
    asyncio_debug: ClassVar[bool | None] = None
    #: Seconds the async steps of each test (asyncSetUp, the test, asyncTearDown,
    #: async cleanups) may take together; ``None`` for no limit. Unset, it is
    #: ``settings.ASYNC_TESTCASE_TIMEOUT`` (default ``None``). See :func:`timeout`.
    async_timeout: ClassVar[float | None]
    #: Let tasks still pending at the end of a test be cancelled silently.
    allow_leftover_tasks: ClassVar[bool] = False
    #: Let coroutines created during a test and never awaited pass silently
    #: (by default they fail the test: a forgotten ``await``).
    allow_never_awaited: ClassVar[bool] = False
    #: Let threads other than the test's database thread use the database.
    #: Their connections are closed when the test ends either way.
    allow_foreign_thread_db_access: ClassVar[bool] = True

    _asyncRunner: TestRunner | None = None
    _asyncTornDown: bool | None = None
    _asyncGuards: guards.TestGuards | None = None

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
            super()._setup_and_call(result, debug)  # type: ignore[misc]
        except BaseException:
            # debug() raised, or KeyboardInterrupt cut the test short: close the
            # loop and, if Django's rollback was skipped, run it.
            _close_test_loop(self, report=False)
            if self._asyncTornDown is False:
                self._post_teardown()
            raise
        else:
            # Normally closed as the last cleanup already.
            _close_test_loop(self)

    def _post_teardown(self) -> None:
        self._asyncTornDown = True
        super()._post_teardown()  # type: ignore[misc]

    # The hooks unittest.TestCase.run() and debug() call.

    def _callSetUp(self) -> None:
        if _in_running_loop():
            raise RuntimeError(
                f"{self} was run from a thread whose event loop is running; "
                f"{type(self).__name__} starts its own loop per test. Run the test "
                f"from synchronous code (a test runner), not from a coroutine."
            )
        cls = type(self)
        self._asyncTornDown = False
        debug = cls.asyncio_debug
        test_guards = guards.TestGuards(
            self, _AsyncTestMixin, ASYNCIO_DEBUG_DEFAULT if debug is None else debug
        )
        runner = self._asyncRunner = TestRunner(cls.loop_factory, debug)
        runner.budget = test_guards.budget
        self._asyncGuards = test_guards
        test_guards.start()
        # The first cleanup runs last: the loop closes (leftover tasks are
        # cancelled) after every other cleanup, before Django's rollback.
        self.addCleanup(_close_loop_cleanup)  # type: ignore[attr-defined]
        _checks.check_sync_test_hook(self, "setUp")
        runner.context.run(self.setUp)  # type: ignore[attr-defined]
        self._callAsyncHook("asyncSetUp")

    def _callTestMethod(self, method: Callable[[], Any]) -> None:
        if hasattr(method, _checks.COROUTINE_ATTR):
            returned = method()  # Runs the coroutine in the test's context.
        else:
            returned = self._runner().context.run(method)
        if returned is not None:
            forgotten = asyncio.iscoroutine(returned)
            if forgotten:
                returned.close()  # Already reported here; no "never awaited" warning.
            raise TypeError(
                f"{self} returned {returned!r}; a test method must return None"
                + (" (was an await forgotten?)" if forgotten else "")
                + "."
            )

    def _callTearDown(self) -> None:
        self._callAsyncHook("asyncTearDown")
        _checks.check_sync_test_hook(self, "tearDown")
        self._runner().context.run(self.tearDown)  # type: ignore[attr-defined]

    def _callCleanup(self, function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        if function is _close_loop_cleanup:
            # Not in the test's context: closing runs tasks in that context.
            _close_test_loop(self)
        elif _checks.is_async_callable(function):
            self._runner().run(function(*args, **kwargs))
        else:
            self._runner().context.run(function, *args, **kwargs)

    def _callAsyncHook(self, name: str) -> None:
        hook = getattr(self, name)
        if getattr(hook, "__func__", None) is getattr(_AsyncTestMixin, name):
            return  # Not overridden: no need to start the loop.
        _checks.check_async_hook(self, name)
        self._runner().run(hook())

    def _runner(self) -> TestRunner:
        runner = self._asyncRunner
        if runner is None:
            raise RuntimeError(
                f"{self} is not running: its async parts can only run while a "
                f"test runner (or test.run() / test.debug()) runs it."
            )
        return runner


def _is_test_method_name(name: str) -> bool:
    return name.startswith("test") or name == "runTest"


def _run_on_test_loop(func: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """Wrap an ``async def`` test method in a plain one that runs it on the test's loop."""

    @functools.wraps(func)
    def test_method(self: _AsyncTestMixin, *args: Any, **kwargs: Any) -> Any:
        coro = func(self, *args, **kwargs)
        if _in_running_loop():
            # Called from a coroutine (a test awaiting another test method,
            # as Django's own suite does): hand back the coroutine to await.
            return coro
        return self._runner().run(coro)

    setattr(test_method, _checks.COROUTINE_ATTR, func)
    return test_method


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _close_loop_cleanup() -> None:
    """Stands for ``_close_test_loop(test)`` in a test's cleanups; ``_callCleanup`` runs that.

    The cleanups must not refer to the test: when a subtest fails under
    Django's ``--parallel``, Django pickles the test's picklable attributes,
    and a reference back to the test makes that recurse until RecursionError.
    """


def _close_test_loop(test: _AsyncTestMixin, report: bool = True) -> None:
    """Close the test's loop, then stop its guards and raise what they caught."""
    runner, test._asyncRunner = test._asyncRunner, None
    test_guards, test._asyncGuards = test._asyncGuards, None
    try:
        if runner is not None:
            runner.close()
    finally:
        if test_guards is not None and runner is not None:
            test_guards.finish(runner.leftover_tasks, runner.loop_errors, report)


def _raise_type_error(errors: list[str]) -> Callable[[type], None]:
    def setUpClass(cls: type) -> None:
        raise TypeError("\n".join(errors))

    return setUpClass


class AsyncSimpleTestCase(_AsyncTestMixin, django_test.SimpleTestCase):
    """:class:`django.test.SimpleTestCase` with async hooks and one event loop per test."""


class AsyncTransactionTestCase(QueryToolsMixin, _AsyncTestMixin, django_test.TransactionTestCase):
    """:class:`django.test.TransactionTestCase` with async hooks and one event loop per test.

    The database is flushed after each test, as in Django's class; database
    calls from async code run on the test's thread.
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
        # TestCase._databases_names is private Django API, not in django-stubs.
        names = cls._databases_names(include_mirrors=False)  # type: ignore[attr-defined]
        undo = _connections.keep_open_in_atomic_blocks(names)
        cls.addClassCleanup(undo)
        super().setUpClass()


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
