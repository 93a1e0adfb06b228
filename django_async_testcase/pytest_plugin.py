"""The pytest plugin: function-style async tests keep their database calls in their transaction.

Loaded by the ``pytest11`` entry point ``django_async_testcase`` when the
package is installed; ``-p no:django_async_testcase`` switches it off. It acts
only with pytest-django active, and only on tests that use the database
(``django_db`` mark, ``db``, ``transactional_db``, ``live_server``...):

- pytest-django's ``_django_db_helper`` opens the test's transaction on
  pytest's main thread; once it is set up, the test is *served*
  (``_engine.ServedTest``) until just before its tear-down rolls back.
- pytest-asyncio and anyio run the test's coroutine and its function-scoped
  async fixtures on that same thread. The plugin wraps each of them (the test
  in ``pytest_runtest_call``, the fixtures in ``pytest_fixture_setup``, before
  pytest-asyncio or anyio wrap them in turn), so that each step first routes
  its thread-sensitive ``sync_to_async`` calls (every async ORM call) to a
  database worker that shares the main thread's connections: they run inside
  the test's transaction while the loop keeps running. Tasks made by the step
  inherit the routing; tasks made in other contexts are routed by a task
  factory installed for the step's duration.
- Sync fixtures run on the main thread as always: already in the transaction.
- Guards: database access from another thread fails the test (unless it is
  transactional, or marked ``allow_foreign_thread_db_access``); tasks left
  pending by the test fail it by name (``allow_leftover_tasks`` to allow);
  coroutines created during the test and never awaited fail it
  (``allow_never_awaited`` to allow); ``@pytest.mark.async_timeout(seconds)``
  or the ``async_timeout`` ini option bound the test's coroutine.
- ``close_old_connections()`` (Django's request signals, Channels'
  ``database_sync_to_async``) leaves the connections of an async
  non-transactional test open inside its transaction, as in ``AsyncTestCase``.
- pytest-django's ``django_assert_num_queries``, ``django_assert_max_num_queries``
  and ``django_capture_on_commit_callbacks`` work in coroutines, with ``with``
  and ``async with``.

Nothing here imports Django before a test uses the database: the entry point
is imported at pytest's start-up, before pytest-django configures Django.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._engine import ServedTest
    from .guards._database import DatabaseGuard
    from .guards._never_awaited import NeverAwaitedCatcher
    from .guards._timeouts import Budget

#: The entry point's name: ``-p no:django_async_testcase`` switches the plugin off.
PLUGIN_NAME = "django_async_testcase"
TIMEOUT_MARK = "async_timeout"
TIMEOUT_INI = "async_timeout"
ALLOW_TASKS_MARK = "allow_leftover_tasks"
ALLOW_THREADS_MARK = "allow_foreign_thread_db_access"
ALLOW_NEVER_AWAITED_MARK = "allow_never_awaited"

_TEST_STEP = "test"
_FIXTURE_STEP = "fixture"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        TIMEOUT_INI,
        "django-async-testcase: seconds the coroutine of each async database test may run "
        "(a test's @pytest.mark.async_timeout overrides it); unset: no limit.",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{TIMEOUT_MARK}(seconds): fail this async database test if its coroutine runs longer "
        f"than seconds (None: no limit); django-async-testcase.",
    )
    config.addinivalue_line(
        "markers",
        f"{ALLOW_TASKS_MARK}: let tasks still pending when this async database test ends be "
        f"cancelled silently; django-async-testcase.",
    )
    config.addinivalue_line(
        "markers",
        f"{ALLOW_THREADS_MARK}: let other threads use the database during this async test "
        f"(outside its transaction); django-async-testcase.",
    )
    config.addinivalue_line(
        "markers",
        f"{ALLOW_NEVER_AWAITED_MARK}: let coroutines created during this async database test "
        f"and never awaited pass silently; django-async-testcase.",
    )
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__name__", "").startswith("pytest_django_asyncio"):
            raise pytest.UsageError(
                "pytest-django-asyncio and django-async-testcase's pytest plugin both run "
                "async database tests and would fight over the test's transaction. Uninstall "
                "pytest-django-asyncio (django-async-testcase covers what it did), or switch "
                "django-async-testcase's plugin off with -p no:django_async_testcase."
            )


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _started:
        from . import _worker

        _worker.stop_spare()


class _DatabaseTest:
    """One test that uses the database, from its transaction's start to just before rollback."""

    def __init__(self, item: pytest.Item, transactional: bool) -> None:
        from ._engine import ServedTest

        self.item = item
        self.transactional = transactional
        self.served: ServedTest = ServedTest()
        function = getattr(item, "obj", None)
        self.is_async = inspect.iscoroutinefunction(function)
        self.allow_tasks = item.get_closest_marker(ALLOW_TASKS_MARK) is not None
        self.guard: DatabaseGuard | None = None
        self.budget: Budget | None = None
        self.never_awaited: NeverAwaitedCatcher | None = None
        self._undo_keep_open: Callable[[], None] | None = None
        if self.is_async:
            self.guard = _database_guard(item, transactional, self.served)
            self.budget = _budget(item, function)
            if not transactional:
                from django.db import connections

                from . import _django

                self._undo_keep_open = _django.keep_open_in_atomic_blocks(list(connections))
            if item.get_closest_marker(ALLOW_NEVER_AWAITED_MARK) is None:
                self.never_awaited = _never_awaited_catcher()

    def enter(self, kind: str) -> Callable[[], None]:
        """Serve the calling coroutine's step (``ServedTest.enter``); call the result at its end.

        A transactional test whose loop runs on another thread is not served:
        its database calls commit wherever asgiref runs them, and pytest-django
        flushes the tables after it, as without the plugin.
        """
        if self.transactional and threading.current_thread() is not self.served.thread:
            return _nothing
        return self.served.enter(kind)

    def never_awaited_failure(self) -> Exception | None:
        """The failure for the coroutines never awaited so far (forgotten once reported)."""
        catcher = self.never_awaited
        if catcher is None or not catcher.found:
            return None
        from .guards import NeverAwaited

        found, catcher.found = catcher.found, []
        return NeverAwaited(
            "Coroutines were created during the test and never awaited (add the missing "
            f"`await`, or mark the test @pytest.mark.{ALLOW_NEVER_AWAITED_MARK}):\n"
            + "\n".join(found)
        )

    def close(self) -> None:
        """Cancel what the test left, hand the worker back, stop the guard; report."""
        global _active
        __tracebackhide__ = True
        try:
            leftovers = self.served.finish_tasks((_TEST_STEP, _FIXTURE_STEP))
            idle = self.served.close()
        finally:
            if _active is self:
                _active = None
            refused = []
            if self.guard is not None:
                self.guard.stop()
                refused = self.guard.unreported()
            if self._undo_keep_open is not None:
                self._undo_keep_open()
            if self.never_awaited is not None:
                self.never_awaited.stop()
        from .guards import ForeignThreadDatabaseAccess, LeftoverTasks
        from .guards._test_guards import refused_message, stuck_sync_call_message

        if self.served.interrupted:
            return  # KeyboardInterrupt: pytest reports it, and nothing else.
        if refused:
            raise ForeignThreadDatabaseAccess(refused_message(refused))
        if not idle:
            raise LeftoverTasks(stuck_sync_call_message(self.served.cancelled_queries))
        if leftovers and not self.allow_tasks:
            raise LeftoverTasks(
                "Tasks made by the test's async fixtures were still pending when the test "
                "ended; they were cancelled before the rollback. Cancel and await them in the "
                f"fixture's tear-down, or mark the test @pytest.mark.{ALLOW_TASKS_MARK}:\n"
                + "\n".join(leftovers)
            )
        failure = self.never_awaited_failure()
        if failure is not None:
            raise failure


def _nothing() -> None:
    pass


# The test being served (pytest runs one test at a time per process).
_active: _DatabaseTest | None = None
# Whether any test was served in this session (the worker then needs stopping).
_started = False


def _database_guard(item: pytest.Item, transactional: bool, served: ServedTest) -> DatabaseGuard:
    from .guards._database import DatabaseGuard

    refuse = not transactional and item.get_closest_marker(ALLOW_THREADS_MARK) is None
    guard = DatabaseGuard(
        item.nodeid,
        refuse=refuse,
        allow_hint=f"mark the test @pytest.mark.{ALLOW_THREADS_MARK}",
    )
    guard.start(served.database_threads)
    return guard


def _never_awaited_catcher() -> NeverAwaitedCatcher:
    from .guards import ASYNCIO_DEBUG_DEFAULT
    from .guards._never_awaited import FAST_ORIGIN_DEPTH, NeverAwaitedCatcher

    # As the classes do: the full origin in asyncio's debug mode, else the test's line.
    catcher = (
        NeverAwaitedCatcher() if ASYNCIO_DEBUG_DEFAULT else NeverAwaitedCatcher(FAST_ORIGIN_DEPTH)
    )
    catcher.start()
    return catcher


def _budget(item: pytest.Item, function: Any) -> Budget | None:
    from .guards._timeouts import _TIMEOUT_ATTR, Budget, _check_seconds, setting_timeout

    mark = item.get_closest_marker(TIMEOUT_MARK)
    if mark is not None:
        if len(mark.args) != 1 or mark.kwargs:
            raise TypeError(
                f"@pytest.mark.{TIMEOUT_MARK} takes one argument, the seconds (or None): "
                f"@pytest.mark.{TIMEOUT_MARK}(2.5)."
            )
        seconds = mark.args[0]
        _check_seconds(seconds, f"@pytest.mark.{TIMEOUT_MARK}()")
        origin = f"@pytest.mark.{TIMEOUT_MARK}({seconds})"
    elif hasattr(function, _TIMEOUT_ATTR):
        seconds = getattr(function, _TIMEOUT_ATTR)
        origin = f"@timeout({seconds}) on the test function"
    else:
        ini = item.config.getini(TIMEOUT_INI)
        if ini not in (None, ""):
            try:
                seconds = float(ini)
            except ValueError:
                raise TypeError(
                    f"The {TIMEOUT_INI} ini option must be a number of seconds, got {ini!r}."
                ) from None
            _check_seconds(seconds, f"The {TIMEOUT_INI} ini option")
            origin = f"{TIMEOUT_INI} = {ini} in the ini file"
        else:
            seconds, origin = setting_timeout()
    if seconds is None:
        return None
    return Budget(seconds, origin, getattr(function, "__code__", None))


# --- hooks -------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Generator[Any]:
    from . import _pytest_django

    name = fixturedef.argname
    if name == _pytest_django.DB_HELPER_FIXTURE:
        result = yield
        _start(request, fixturedef)
        return result
    func = fixturedef.func
    if name in _pytest_django.QUERY_FIXTURES:
        replacement: Callable[..., Any] | None = _coroutine_aware_fixture(func, name)
    else:
        state = _active
        replacement = None
        if (
            state is not None
            and state.item is request.node
            and fixturedef.scope == "function"
            and (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))
        ):
            replacement = _serve_fixture(func, state)
    if replacement is None:
        return (yield)
    # Replaced for the set-up only, as pytest-asyncio and anyio replace it
    # (they wrap what they find, so this hook runs first: tryfirst).
    # FixtureDef.func is Final to type checkers only; pytest-asyncio and anyio set it too.
    setattr(fixturedef, "func", replacement)  # noqa: B010
    try:
        return (yield)
    finally:
        setattr(fixturedef, "func", func)  # noqa: B010


def _start(request: Any, fixturedef: pytest.FixtureDef[Any]) -> None:
    global _active, _started
    from . import _pytest_django

    if _pytest_django.is_django_unittest(request) or fixturedef.scope != "function":
        return
    state = _DatabaseTest(request.node, _pytest_django.is_transactional(request))
    _active = state
    _started = True
    # Runs before _django_db_helper's own tear-down (the rollback): finalizers run LIFO.
    fixturedef.addfinalizer(state.close)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    state = _active
    if state is None or state.item is not item or not state.is_async:
        return (yield)
    __tracebackhide__ = True
    function = item.obj  # type: ignore[attr-defined]
    # pytest-asyncio's runtest and anyio's pytest_pyfunc_call read item.obj
    # when the test runs: they run this wrapper on their loop.
    item.obj = _serve_test(function, state)  # type: ignore[attr-defined]
    try:
        result = yield
    except BaseException as exc:
        item.obj = function  # type: ignore[attr-defined]
        if isinstance(exc, KeyboardInterrupt):
            # Ctrl-C: the queries in flight are cancelled at once, nothing more reported.
            state.served.interrupt()
        if state.guard is not None:
            state.guard.cancel_queries()
        state.served.finish_tasks((_TEST_STEP,))
        raise
    item.obj = function  # type: ignore[attr-defined]
    if state.guard is not None:
        # Before pytest-asyncio's runner waits for the loop's default executor.
        state.guard.cancel_queries()
    leftovers = state.served.finish_tasks((_TEST_STEP,))
    from ._tracebacks import raise_at_code

    if leftovers and not state.allow_tasks:
        from .guards import LeftoverTasks

        raise_at_code(
            LeftoverTasks(
                "Tasks were still pending when the test ended; they were cancelled. Await "
                "them (or cancel and await them before the test returns), or mark the test "
                f"@pytest.mark.{ALLOW_TASKS_MARK}:\n" + "\n".join(leftovers)
            ),
            getattr(function, "__code__", None),
        )
    failure = state.never_awaited_failure()
    if failure is not None:
        raise_at_code(failure, getattr(function, "__code__", None))
    return result


# --- the wrappers --------------------------------------------------------------


def _serve_test(func: Callable[..., Awaitable[Any]], state: _DatabaseTest) -> Callable[..., Any]:
    @functools.wraps(func)
    async def test_function(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        exit = state.enter(_TEST_STEP)
        try:
            if state.budget is None:
                return await func(*args, **kwargs)
            return await _run_with_budget(state.budget, func(*args, **kwargs))
        finally:
            exit()

    return test_function


async def _run_with_budget(budget: Budget, coro: Any) -> Any:
    """Run ``coro`` as a task that ``budget`` may cancel; raise AsyncTestTimeout if it did."""
    __tracebackhide__ = True
    loop = asyncio.get_running_loop()
    task = loop.create_task(coro)
    budget.watch(loop, task)
    try:
        await asyncio.wait([task])
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.wait([task])
        raise
    budget.check(task)
    return task.result()


def _serve_fixture(func: Callable[..., Any], state: _DatabaseTest) -> Callable[..., Any]:
    """Wrap an async fixture's function so that each of its steps is served.

    A fixture defined as a method of a test class is a method bound to the
    instance pytest made at collection; pytest-asyncio and anyio bind it to
    each test's instance in turn. The wrapper stays a method of the same
    instance, so that they bind it (and the fixture) to the test's instance.
    """
    if inspect.ismethod(func):
        wrapped = _serve_fixture_function(func.__func__, state)
        return types.MethodType(wrapped, func.__self__)
    return _serve_fixture_function(func, state)


def _serve_fixture_function(func: Callable[..., Any], state: _DatabaseTest) -> Callable[..., Any]:
    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def asyncgen_fixture(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            __tracebackhide__ = True
            generator = func(*args, **kwargs)
            while True:
                exit = state.enter(_FIXTURE_STEP)
                try:
                    value = await generator.__anext__()
                except StopAsyncIteration:
                    return
                finally:
                    exit()
                try:
                    yield value
                except GeneratorExit:
                    exit = state.enter(_FIXTURE_STEP)
                    try:
                        await generator.aclose()
                    finally:
                        exit()
                    raise

        return asyncgen_fixture

    @functools.wraps(func)
    async def async_fixture(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        exit = state.enter(_FIXTURE_STEP)
        try:
            return await func(*args, **kwargs)
        finally:
            exit()

    return async_fixture


def _coroutine_aware_fixture(func: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Wrap a query fixture's function: its value works in the test's coroutines too."""
    queries = "num_queries" in name

    @functools.wraps(func)
    def fixture(*args: Any, **kwargs: Any) -> Any:
        return _CoroutineAware(func(*args, **kwargs), queries)

    return fixture


class _CoroutineAware:
    """A pytest-django fixture's value that, in a test's coroutine, enters where the ORM runs.

    Outside one (sync tests and fixtures) it returns what pytest-django's does.
    In a coroutine, ``with`` enters pytest-django's context manager on the
    test's thread, and ``async with`` on its database worker, in turn with the
    ORM calls (``db.DatabaseThreadContext``, as the classes' helpers do).
    """

    def __init__(self, value: Callable[..., Any], queries: bool) -> None:
        self._value = value
        self._queries = queries

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        state = _active
        if state is not None and _in_served_coroutine(state):
            from .db import DatabaseThreadContext

            return DatabaseThreadContext(state.served, functools.partial(self._enter, args, kwargs))
        return self._value(*args, **kwargs)

    def _enter(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # Called where the block is entered (the test's thread or its worker).
        # pytest-django's query fixtures default to django.db.connection, a
        # proxy that, read later in the coroutine, is not the test's
        # connection: name the test's connection itself.
        if self._queries and len(args) < 3 and not {"connection", "using"} & kwargs.keys():
            from django.db import DEFAULT_DB_ALIAS, connections

            kwargs = {**kwargs, "connection": connections[DEFAULT_DB_ALIAS]}
        return self._value(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._value, name)


def _in_served_coroutine(state: _DatabaseTest) -> bool:
    from ._stdlib import running_loop

    return (
        running_loop() is not None
        and threading.current_thread() is state.served.thread
        and state.served.worker is not None
    )
