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
- Guards: the same guards as the classes' (``guards.TestGuards``), built from
  a policy of marks and ini options, watch every step of an async test (the
  test and each async fixture's set-up and tear-down): database access from
  another thread (unless the test is transactional, or marked
  ``allow_foreign_thread_db_access``), tasks left pending and errors of
  background tasks (``allow_leftover_tasks``), coroutines never awaited
  (``allow_never_awaited``), and the time budget of the steps
  (``@pytest.mark.async_timeout(seconds)``, the ``async_timeout`` ini option,
  ``settings.ASYNC_TESTCASE_TIMEOUT``). What the test left fails it in the call
  phase; what a fixture's tear-down left, in its tear-down.
- ``close_old_connections()`` (Django's request signals, Channels'
  ``database_sync_to_async``) leaves the connections of an async
  non-transactional test open inside its transaction, as in ``AsyncTestCase``.
- On PostgreSQL, the end of every non-transactional test's transaction (sync
  tests too) is one server round trip, with pytest-django's semantics
  (``_roundtrips``): its statements are gathered during ``_django_db_helper``'s
  tear-down.
- pytest-django's ``django_assert_num_queries``, ``django_assert_max_num_queries``
  and ``django_capture_on_commit_callbacks`` work in coroutines, with ``with``
  and ``async with``.

Nothing here imports Django before a test uses the database: the entry point
is imported at pytest's start-up, before pytest-django configures Django.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
import types
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any

import pytest

from . import _pytest_django, _pytest_misuse
from ._compat import TELLS_CANCEL_REQUESTS, cancel_requested

if TYPE_CHECKING:
    from ._engine import ServedTest
    from .guards import GuardPolicy

#: The entry point's name: ``-p no:django_async_testcase`` switches the plugin off.
PLUGIN_NAME = "django_async_testcase"
TIMEOUT_MARK = "async_timeout"
TIMEOUT_INI = "async_timeout"
ALLOW_TASKS_MARK = "allow_leftover_tasks"
ALLOW_THREADS_MARK = "allow_foreign_thread_db_access"
ALLOW_NEVER_AWAITED_MARK = "allow_never_awaited"

# Who made a task: the test and plain async fixtures (judged when the test
# returns), or the async generator fixture of that name (at its tear-down's end).
_TEST_STEP = "test"
_FIXTURE_STEP = "fixture"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        TIMEOUT_INI,
        "django-async-testcase: seconds the async steps of each async database test (the "
        "test and its async fixtures) may take together (a test's @pytest.mark.async_timeout "
        "overrides it); unset: settings.ASYNC_TESTCASE_TIMEOUT.",
        default=None,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{TIMEOUT_MARK}(seconds): fail this async database test if its async steps (the test "
        f"and its async fixtures) run longer than seconds (None: no limit); "
        f"django-async-testcase.",
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
    if session.config.stash.get(_SERVED_ANY, False):
        from . import _worker

        _worker.stop_spare()


@pytest.hookimpl(tryfirst=True, wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: Any) -> Generator[Any]:
    _pytest_misuse.warn_wide_async_fixture(fixturedef)
    name = fixturedef.argname
    if name == _pytest_django.DB_HELPER_FIXTURE:
        # Registered before the fixture's own tear-down, so run after it (LIFO).
        test_end = contextlib.ExitStack()
        fixturedef.addfinalizer(test_end.close)
        result = yield
        _start(request, fixturedef, test_end)
        return result
    func = fixturedef.func
    replacement: Callable[..., Any] | None = None
    if name in _pytest_django.QUERY_FIXTURES:
        replacement = _coroutine_aware_fixture(func, name, request.node)
    elif fixturedef.scope == "function" and (
        inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
    ):
        slot = request.node.stash.get(_SLOT, None)
        if slot is not None:
            state = slot.state()
            replacement = _keep_bound(func, _serve_fixture, state, name)
        elif inspect.isasyncgenfunction(func) and _uses_database(request):
            # Set up before the test's transaction (so torn down after it), not
            # served; counted, as it may stop tasks of the test (_OpenFixtures).
            replacement = _keep_bound(func, _counted_fixture, _open_fixtures(request.node))
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    state = _made_state(item)
    if state is None or not state.is_async:
        return (yield)
    function = item.obj  # type: ignore[attr-defined]
    # pytest-asyncio's runtest and anyio's pytest_pyfunc_call read item.obj
    # when the test runs: they run this wrapper on their loop.
    item.obj = _serve_test(function, state)  # type: ignore[attr-defined]
    try:
        return (yield)
    except KeyboardInterrupt:
        # Ctrl-C: the queries in flight are cancelled at once, nothing more reported.
        state.served.interrupt()
        raise
    finally:
        item.obj = function  # type: ignore[attr-defined]
        # Before pytest-asyncio's runner waits for the loop's default executor.
        state.guards.cancel_foreign_queries()


# --- per-test state ------------------------------------------------------------


class _DatabaseTest:
    """One test that uses the database, from its transaction's start to just before rollback."""

    def __init__(self, item: pytest.Item, transactional: bool) -> None:
        from . import _django
        from ._engine import ServedTest
        from .guards import TestGuards

        self.transactional = transactional
        function = getattr(item, "obj", None)
        self.is_async = inspect.iscoroutinefunction(function)
        self._undo_keep_open: Callable[[], None] | None = None
        self.guards = TestGuards(_guard_policy(item, function, transactional, self.is_async))
        self.served: ServedTest = ServedTest([self.guards])
        self._opened = False
        self.fixtures = _open_fixtures(item)
        if self.is_async:
            self.open()
            if not transactional:
                from django.db import connections

                self._undo_keep_open = _django.keep_open_in_atomic_blocks(list(connections))

    def open(self) -> None:
        """Start the guards: at once for an async test; for a sync one, at its first async step.

        A sync test without async fixtures is left exactly as pytest-django runs it.
        """
        if not self._opened:
            self._opened = True
            self.served.open()

    def serves_here(self) -> bool:
        """Whether steps running now are served.

        A transactional test whose loop runs on another thread is not: its
        database calls commit wherever asgiref runs them, and pytest-django
        flushes the tables after it, as without the plugin.
        """
        return not self.transactional or threading.current_thread() is self.served.thread

    def close(self) -> None:
        """Cancel what the test left, hand the worker back, stop the guards; report."""
        __tracebackhide__ = True
        try:
            # Interrupted (KeyboardInterrupt): pytest reports that, and nothing else.
            # Tasks of the test whose verdict still waits for an async fixture
            # set up before the transaction (torn down after the rollback) are
            # cancelled now, and not judged: that fixture may be their owner.
            self.served.close(
                report=not self.served.interrupted, judge_tasks=not self.fixtures.verdict_due
            )
        finally:
            if self._undo_keep_open is not None:
                self._undo_keep_open()


class _OpenFixtures:
    """A test's async generator fixtures that are set up, and whether its tasks await a verdict.

    A task the test starts may be stopped by a fixture's tear-down (a
    communicator the fixture made, a list of tasks it cancels): the test's
    tasks are judged once the last of its async generator fixtures is torn
    down, as the classes judge after asyncTearDown and the cleanups.
    """

    def __init__(self) -> None:
        self.count = 0
        self.verdict_due = False


def _open_fixtures(item: pytest.Item) -> _OpenFixtures:
    found = item.stash.get(_OPEN_FIXTURES, None)
    if found is None:
        found = item.stash[_OPEN_FIXTURES] = _OpenFixtures()
    return found


def _uses_database(request: Any) -> bool:
    return _pytest_django.DB_HELPER_FIXTURE in request.node.fixturenames and not (
        _pytest_django.is_django_unittest(request)
    )


class _Slot:
    """A test that uses the database, from its transaction's start to just before rollback.

    Its ``_DatabaseTest`` (guards, served steps) is made at once for an async
    test, and for a sync one only at its first function-scoped async fixture:
    a sync test without one costs the plugin nothing more. With
    django-async-backend in use it is made at once for every test: a sync
    test's ``async_to_sync`` calls reach the async ORM, which the served test
    gives the test's own connections (``_async_backend``).
    """

    def __init__(self, item: pytest.Item, transactional: bool) -> None:
        from . import _async_backend

        self._item = item
        self._transactional = transactional
        self._state: _DatabaseTest | None = None
        if inspect.iscoroutinefunction(getattr(item, "obj", None)) or _async_backend.in_use():
            self.state()

    def state(self) -> _DatabaseTest:
        if self._state is None:
            self._state = _DatabaseTest(self._item, self._transactional)
        return self._state

    def made(self) -> _DatabaseTest | None:
        return self._state

    def close(self) -> None:
        __tracebackhide__ = True
        if self._state is not None:
            self._state.close()


def _made_state(item: pytest.Item) -> _DatabaseTest | None:
    """The test's ``_DatabaseTest``, if it uses the database and it was made."""
    slot = item.stash.get(_SLOT, None)
    return slot.made() if slot is not None else None


_SLOT = pytest.StashKey[_Slot]()
_OPEN_FIXTURES = pytest.StashKey[_OpenFixtures]()
# Whether any test was served in this session (the worker then needs stopping).
_SERVED_ANY = pytest.StashKey[bool]()
# The async_timeout ini option, checked, and where it was set (once per session).
_INI_TIMEOUT = pytest.StashKey[tuple[float | None, str] | None]()


def _start(
    request: Any, fixturedef: pytest.FixtureDef[Any], test_end: contextlib.ExitStack
) -> None:
    if _pytest_django.is_django_unittest(request) or fixturedef.scope != "function":
        return
    item = request.node
    transactional = _pytest_django.is_transactional(request)
    if not transactional:
        # Runs last of these, just before _django_db_helper's tear-down: Django's
        # TestCase protocol there sends its statements in one round trip per
        # PostgreSQL connection, as in AsyncTestCase (see _roundtrips).
        fixturedef.addfinalizer(functools.partial(_batch_test_end, test_end))
    slot = item.stash[_SLOT] = _Slot(item, transactional)
    request.config.stash[_SERVED_ANY] = True
    # Runs before _django_db_helper's own tear-down (the rollback): finalizers run LIFO.
    fixturedef.addfinalizer(slot.close)
    fixturedef.addfinalizer(functools.partial(item.stash.__delitem__, _SLOT))


def _batch_test_end(test_end: contextlib.ExitStack) -> None:
    from django.db import connections

    from ._roundtrips import batched_test_end

    test_end.enter_context(batched_test_end(list(connections)))


# --- the guards' policy, from marks and ini options -------------------------------


def _guard_policy(
    item: pytest.Item, function: Any, transactional: bool, is_async: bool
) -> GuardPolicy:
    """The guards' policy of the test. Those of a sync test watch only its async fixtures'
    steps: their time budget and leftover tasks."""
    from .guards import ASYNCIO_DEBUG_DEFAULT, GuardPolicy

    marks: dict[str, pytest.Mark] = {}
    for mark in item.iter_markers():  # The closest first, as get_closest_marker() finds.
        marks.setdefault(mark.name, mark)
    seconds, origin = _timeout(item, function, marks.get(TIMEOUT_MARK))
    allow_threads = _flag(marks, ALLOW_THREADS_MARK)
    allow_never_awaited = _flag(marks, ALLOW_NEVER_AWAITED_MARK)
    return GuardPolicy(
        test=item.nodeid,
        timeout=seconds,
        timeout_origin=origin,
        allow_leftover_tasks=_flag(marks, ALLOW_TASKS_MARK),
        allow_foreign_thread_db_access=transactional or allow_threads or not is_async,
        allow_never_awaited=allow_never_awaited or not is_async,
        opt_out="mark the test @pytest.mark.{option}",
        cleanup_steps="before the test returns, or in the tear-down of the fixture that made them",
        test_code=getattr(function, "__code__", None),
        debug=ASYNCIO_DEBUG_DEFAULT,
    )


def _flag(marks: dict[str, pytest.Mark], name: str) -> bool:
    """Whether the test carries the mark ``name``, which takes no arguments."""
    mark = marks.get(name)
    if mark is None:
        return False
    _MARK_SIGNATURES[name](*mark.args, **mark.kwargs)
    return True


def allow_leftover_tasks() -> None:
    """The signature of ``@pytest.mark.allow_leftover_tasks``."""


def allow_foreign_thread_db_access() -> None:
    """The signature of ``@pytest.mark.allow_foreign_thread_db_access``."""


def allow_never_awaited() -> None:
    """The signature of ``@pytest.mark.allow_never_awaited``."""


def async_timeout(seconds: float | None) -> float | None:
    """The signature of ``@pytest.mark.async_timeout``."""
    from .guards import check_seconds

    check_seconds(seconds, f"@pytest.mark.{TIMEOUT_MARK}()")
    return seconds


_MARK_SIGNATURES: dict[str, Callable[..., Any]] = {
    ALLOW_TASKS_MARK: allow_leftover_tasks,
    ALLOW_THREADS_MARK: allow_foreign_thread_db_access,
    ALLOW_NEVER_AWAITED_MARK: allow_never_awaited,
}


def _timeout(
    item: pytest.Item, function: Any, mark: pytest.Mark | None
) -> tuple[float | None, str]:
    """The test's budget and where it was set: ``mark``, @timeout, ini option, setting."""
    from .guards import function_timeout, setting_timeout

    if mark is not None:
        seconds = async_timeout(*mark.args, **mark.kwargs)
        return seconds, f"@pytest.mark.{TIMEOUT_MARK}({seconds})"
    found = function_timeout(function)
    if found is not None:
        return found
    config = item.config
    if _INI_TIMEOUT not in config.stash:
        config.stash[_INI_TIMEOUT] = _ini_timeout(config)
    return config.stash[_INI_TIMEOUT] or setting_timeout()


def _ini_timeout(config: pytest.Config) -> tuple[float | None, str] | None:
    """The ``async_timeout`` ini option, checked, and where it came from; None if unset."""
    from .guards import check_seconds

    value = config.getini(TIMEOUT_INI)
    if value in (None, ""):
        return None
    origin = _ini_origin(config, value)
    try:
        seconds = float(value)
    except ValueError:
        raise TypeError(
            f"The {TIMEOUT_INI} ini option must be a number of seconds, got {value!r} ({origin})."
        ) from None
    check_seconds(seconds, f"The {TIMEOUT_INI} ini option ({origin})")
    return seconds, origin


def _ini_origin(config: pytest.Config, value: str) -> str:
    """Where the ini option's ``value`` came from: ``-o`` on the command line, addopts, a file."""
    override = f"{TIMEOUT_INI}="
    # -o / --override-ini, from the command line, PYTEST_ADDOPTS or the file's addopts.
    if any(option.startswith(override) for option in config.option.override_ini or ()):
        if any(override in arg for arg in config.invocation_params.args):
            return f"-o {TIMEOUT_INI}={value} on the command line"
        return f"-o {TIMEOUT_INI}={value} in PYTEST_ADDOPTS or the addopts ini option"
    where = config.inipath.name if config.inipath is not None else "the ini file"
    return f"{TIMEOUT_INI} = {value} in {where}"


# --- the wrappers --------------------------------------------------------------


def _serve_test(func: Callable[..., Awaitable[Any]], state: _DatabaseTest) -> Callable[..., Any]:
    @functools.wraps(func)
    async def test_function(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if not state.serves_here():
            return await func(*args, **kwargs)
        served = state.served
        try:
            return await _step(served, _TEST_STEP, "the test", func(*args, **kwargs))
        finally:
            # What the test (and its plain async fixtures) left fails it here,
            # in the call phase, together with the test's own failure; but its
            # tasks, if it has async generator fixtures, only after the last
            # of them is torn down (_OpenFixtures).
            owners: tuple[str, ...] = (_TEST_STEP, _FIXTURE_STEP)
            if state.fixtures.count:
                state.fixtures.verdict_due = True
                owners = ()
            await served.settle(owners, "the test")

    return test_function


async def _step(
    served: ServedTest,
    owner: str,
    step: str,
    awaitable: Any,
    source: object = None,
    tear_down: bool = False,
) -> Any:
    """Run one served step; a BaseException it raises becomes an error (_pytest_misuse).

    Python 3.10 cannot tell whether the runner's task was asked to cancel
    (Ctrl-C): there, only a tear-down's is turned into an error, the one that
    would skip the rollback (pytest runs every finalizer after a set-up or
    test that raised one).
    """
    __tracebackhide__ = True
    try:
        return await served.run_step(owner, awaitable, source)
    except BaseException as exc:
        if not (tear_down or TELLS_CANCEL_REQUESTS):
            raise
        task = asyncio.current_task()
        error = _pytest_misuse.as_test_error(exc, step, task is not None and cancel_requested(task))
        try:
            raise error
        finally:
            del exc, error


def _keep_bound(
    func: Callable[..., Any], wrap: Callable[..., Callable[..., Any]], *args: Any
) -> Callable[..., Any]:
    """``wrap(func, *args)``; a fixture's method stays a method of the same instance.

    A fixture defined as a method of a test class is a method bound to the
    instance pytest made at collection; pytest-asyncio and anyio bind it to
    each test's instance in turn. The wrapper stays a method of that instance,
    so that they bind it (and the fixture) to the test's instance.
    """
    if inspect.ismethod(func):
        return types.MethodType(wrap(func.__func__, *args), func.__self__)
    return wrap(func, *args)


def _serve_fixture(func: Callable[..., Any], state: _DatabaseTest, name: str) -> Callable[..., Any]:
    """Wrap an async fixture's function so that each of its steps is served and watched."""
    if inspect.isasyncgenfunction(func):
        owner = f"fixture {name}"

        @functools.wraps(func)
        async def asyncgen_fixture(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            __tracebackhide__ = True
            generator = func(*args, **kwargs)
            if not state.serves_here():
                async with contextlib.aclosing(generator):
                    async for value in generator:
                        yield value
                return
            served = state.served
            state.open()
            set_up = f"the set-up of the fixture {name!r}"
            torn_down = f"the tear-down of the fixture {name!r}"
            try:
                value = await _step(served, owner, set_up, generator.__anext__(), generator)
            except StopAsyncIteration:
                return
            state.fixtures.count += 1
            try:
                try:
                    yield value
                except GeneratorExit:
                    await _step(served, owner, torn_down, generator.aclose(), generator, True)
                    raise
                try:
                    value = await _step(
                        served, owner, torn_down, generator.__anext__(), generator, True
                    )
                except StopAsyncIteration:
                    return
                yield value  # pytest-asyncio or anyio says it yielded twice.
            finally:
                state.fixtures.count -= 1
                await _settle_fixture(state, owner, torn_down)

        return asyncgen_fixture

    @functools.wraps(func)
    async def async_fixture(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        if not state.serves_here():
            return await func(*args, **kwargs)
        state.open()
        step = f"the set-up of the fixture {name!r}"
        return await _step(state.served, _FIXTURE_STEP, step, func(*args, **kwargs))

    return async_fixture


async def _settle_fixture(state: _DatabaseTest, owner: str, torn_down: str) -> None:
    """Judge the tasks of the fixture ``owner`` (and the test's, after its last fixture)."""
    __tracebackhide__ = True
    owners: tuple[str, ...] = (owner,)
    ended = torn_down
    fixtures = state.fixtures
    if fixtures.verdict_due and not fixtures.count:
        fixtures.verdict_due = False
        owners += (_TEST_STEP, _FIXTURE_STEP)
        ended = f"the test and {torn_down}"
    await state.served.settle(owners, ended)


def _counted_fixture(func: Callable[..., Any], fixtures: _OpenFixtures) -> Callable[..., Any]:
    """Wrap an async generator fixture that is not served: count it while it is set up."""

    @functools.wraps(func)
    async def asyncgen_fixture(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        counted = False
        try:
            async with contextlib.aclosing(func(*args, **kwargs)) as generator:
                async for value in generator:
                    if not counted:
                        counted = True
                        fixtures.count += 1
                    yield value
        finally:
            if counted:
                fixtures.count -= 1

    return asyncgen_fixture


def _coroutine_aware_fixture(
    func: Callable[..., Any], name: str, item: pytest.Item
) -> Callable[..., Any]:
    """Wrap a query fixture's function: its value works in the test's coroutines too."""
    queries = "num_queries" in name

    @functools.wraps(func)
    def fixture(*args: Any, **kwargs: Any) -> Any:
        return _CoroutineAware(func(*args, **kwargs), queries, item)

    return fixture


class _CoroutineAware:
    """A pytest-django fixture's value that, in a test's coroutine, enters where the ORM runs.

    Outside one (sync tests and fixtures) it returns what pytest-django's does.
    In a coroutine, ``with`` enters pytest-django's context manager on the
    test's thread, and ``async with`` on its database worker, in turn with the
    ORM calls (``db.DatabaseThreadContext``, as the classes' helpers do).
    """

    def __init__(self, value: Callable[..., Any], queries: bool, item: pytest.Item) -> None:
        self._value = value
        self._queries = queries
        self._item = item

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        state = _made_state(self._item)
        if state is not None and _in_served_coroutine(state.served):
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


def _in_served_coroutine(served: ServedTest) -> bool:
    from ._stdlib import running_loop

    return (
        running_loop() is not None
        and threading.current_thread() is served.thread
        and served.worker is not None
    )


# --- Mistakes reported once, or named in a failure: see _pytest_misuse ---
# (pytest_fixture_setup above also calls _pytest_misuse.warn_wide_async_fixture.)


def pytest_sessionstart(session: pytest.Session) -> None:
    _pytest_misuse.check_settings(session.config, TIMEOUT_INI)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[Any]:
    _pytest_misuse.note_forgotten_awaits(call)
    return (yield)
