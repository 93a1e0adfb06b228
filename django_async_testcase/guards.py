"""Guards that turn the classic async-test bugs into clear failures of the test.

Each test gets one :class:`TestGuards`, started before ``setUp`` and finished
after its event loop has closed, before Django's rollback. It watches for:

- database access from a thread other than the test's database thread;
- tasks still pending when the test ends, and background tasks that raised;
- async steps that run over the test's time budget (``async_timeout``);
- coroutines that were never awaited (when the loop's debug mode is on).

Every check is cheap when nothing is wrong: no thread, no tracing, no copy of
anything per test; the costly work (formatting stacks) happens only on failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import linecache
import logging
import os
import sys
import threading
import time
import traceback
import types
import warnings
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import asgiref
from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.test.signals import setting_changed

# unittest and pytest leave out frames of modules that set __unittest.
__unittest = True

_F = TypeVar("_F", bound=Callable[..., Any])

#: Name of the attribute that ``timeout()`` sets on a test method.
_TIMEOUT_ATTR = "_async_timeout"
#: The Django setting with the project-wide default of ``async_timeout``.
TIMEOUT_SETTING = "ASYNC_TESTCASE_TIMEOUT"
# How long leftover tasks get to finish once cancelled at the end of a test.
CANCEL_GRACE = 1.0


class GuardFailure(AssertionError):
    """A bug in an async test that a guard of django-async-testcase caught."""


class ForeignThreadDatabaseAccess(GuardFailure):
    """A test used the database from a thread other than its database thread."""


class LeftoverTasks(GuardFailure):
    """Tasks were still pending, or background tasks had raised, when the test ended."""


class AsyncTestTimeout(GuardFailure):
    """An async step of a test ran over the test's time budget."""


class NeverAwaited(GuardFailure):
    """A coroutine was created during the test and never awaited."""


# Timeouts ---------------------------------------------------------------------


def timeout(seconds: float | None) -> Callable[[_F], _F]:
    """Give one test its own time budget, overriding ``async_timeout``.

    ``None`` turns the limit off for that test::

        @timeout(0.5)
        async def test_fast(self): ...
    """
    _check_seconds(seconds, "timeout()")

    def decorate(func: _F) -> _F:
        setattr(func, _TIMEOUT_ATTR, seconds)
        return func

    return decorate


def _check_seconds(seconds: Any, where: str) -> None:
    if seconds is None:
        return
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0:
        raise TypeError(
            f"{where} must be a positive number of seconds or None (no limit), got {seconds!r}."
        )


def test_timeout(test: Any, method: Any, base: type) -> tuple[float | None, str]:
    """The budget of ``test`` in seconds (or None) and where it was set."""
    seconds = getattr(method, _TIMEOUT_ATTR, _UNSET)
    if seconds is not _UNSET:
        return seconds, f"@timeout({seconds}) on the test method"
    cls = type(test)
    found = _class_timeouts.get(cls)
    if found is None:
        found = _class_timeouts[cls] = _class_timeout(cls, base)
    if found[0] is not _UNSET:
        return found
    global _setting_timeout
    if _setting_timeout is None:
        seconds = getattr(settings, TIMEOUT_SETTING, None)
        _check_seconds(seconds, f"settings.{TIMEOUT_SETTING}")
        _setting_timeout = seconds, f"settings.{TIMEOUT_SETTING} = {seconds}"
    return _setting_timeout


# settings.ASYNC_TESTCASE_TIMEOUT, read once, again after override_settings changes it.
_setting_timeout: tuple[float | None, str] | None = None


def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    global _setting_timeout
    if setting == TIMEOUT_SETTING:
        _setting_timeout = None


setting_changed.connect(_on_setting_changed, dispatch_uid="django_async_testcase.guards.timeout")


def _class_timeout(cls: type, base: type) -> tuple[Any, str]:
    for klass in cls.__mro__:
        if klass is not base and "async_timeout" in vars(klass):
            seconds = vars(klass)["async_timeout"]
            _check_seconds(seconds, f"{klass.__qualname__}.async_timeout")
            return seconds, f"{klass.__qualname__}.async_timeout = {seconds}"
    return _UNSET, ""


_UNSET: Any = object()
# Each test class's own async_timeout (or _UNSET), found once.
_class_timeouts: weakref.WeakKeyDictionary[type, tuple[Any, str]] = weakref.WeakKeyDictionary()


class Budget:
    """The time budget shared by a test's async steps (set-up, test, tear-down, cleanups).

    The clock starts with the first async step. Once it has run out, the
    following steps (asyncTearDown, async cleanups) get a fresh budget of the
    same length, so a hung tear-down cannot hang the run either.
    """

    def __init__(self, seconds: float, origin: str, test_code: types.CodeType | None) -> None:
        self.seconds = seconds
        self.origin = origin
        self._test_code = test_code
        self._deadline: float | None = None
        self._expired: dict[int, str] = {}

    def watch(self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
        """Cancel ``task`` if it is still running when the budget runs out (on the loop)."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds
        delay = max(self._deadline - time.monotonic(), 0)
        handle = loop.call_later(delay, self._expire, task)
        task.add_done_callback(lambda _: handle.cancel())

    def _expire(self, task: asyncio.Task[Any]) -> None:
        if task.done():
            return
        self._expired[id(task)] = _await_stack(task.get_coro())
        self._deadline = None
        task.cancel()

    def check(self, task: asyncio.Task[Any]) -> None:
        """Raise AsyncTestTimeout if ``task`` (now done) was cancelled by the budget."""
        stack = self._expired.pop(id(task), None)
        if stack is not None:
            failure = AsyncTestTimeout(
                f"The test timed out after {self.seconds:g} s ({self.origin}); "
                f"it was waiting at:\n{''.join(traceback.format_list(stack))}"
            )
            user_frames = [frame for frame in stack if not _hidden_file(frame.filename)]
            if user_frames and user_frames[-1].lineno:
                where = user_frames[-1]
                raise_at(failure, where.filename, where.lineno, where.name)  # type: ignore[arg-type]
            _raise_at_code(failure, self._test_code)


def _await_stack(coro: Any) -> list[traceback.FrameSummary]:
    """The frames of the chain of coroutines that ``coro`` is awaiting, outermost first.

    Machinery frames are left out, unless the innermost one is all there is.
    """
    frames = []
    innermost = None
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        innermost = traceback.FrameSummary(
            frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
        )
        if not _is_hidden(frame):
            frames.append(innermost)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if innermost is not None and (not frames or frames[-1] is not innermost):
        frames.append(innermost)
    return frames


# Tracebacks -------------------------------------------------------------------

# Frames of these modules are machinery between the test and its failure.
_HIDDEN_MODULES = ("asgiref.", "asyncio.", "concurrent.futures.", "django_async_testcase.")
_HIDDEN_NAMES = {"threading", "contextvars"}
_HIDDEN_DIRS = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (asyncio, concurrent.futures, asgiref, sys.modules[__package__])
)


def _is_hidden(frame: types.FrameType) -> bool:
    name = frame.f_globals.get("__name__", "")
    return name in _HIDDEN_NAMES or name.startswith(_HIDDEN_MODULES)


def _hidden_file(filename: str) -> bool:
    return filename.startswith(_HIDDEN_DIRS) or filename == threading.__file__


def clean_traceback(exc: BaseException) -> None:
    """Drop asgiref, asyncio, concurrent.futures and library frames from ``exc``'s traceback.

    Also for the exceptions it was raised from or during. Keeps at least one
    frame. A refused database access ends at the user's code, not in Django's.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.__traceback__ = _kept_frames(
            exc.__traceback__, isinstance(exc, ForeignThreadDatabaseAccess)
        )
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]


def _kept_frames(
    tb: types.TracebackType | None, drop_django_tail: bool
) -> types.TracebackType | None:
    kept = []
    last = None
    while tb is not None:
        if not _is_hidden(tb.tb_frame):
            kept.append(tb)
        last = tb
        tb = tb.tb_next
    if drop_django_tail:
        while len(kept) > 1 and kept[-1].tb_frame.f_globals.get("__name__", "").startswith(
            "django."
        ):
            kept.pop()
    if not kept:
        return last
    for outer, inner in itertools.pairwise(kept):
        outer.tb_next = inner
    kept[-1].tb_next = None
    return kept[0]


# Database access from other threads ---------------------------------------------


class _DatabaseGuard:
    """Watch connections opened during one test by threads other than its own.

    Hooks Django's ``connection_created`` signal, sent by every backend once a
    new connection is set up. pytest-django's database blocker replaces
    ``BaseDatabaseWrapper.ensure_connection`` process-wide, so a guard there
    would be undone; the signal is left alone by everyone.
    """

    def __init__(self, test: Any, refuse: bool) -> None:
        self.test = test
        self.refuse = refuse
        self.thread = threading.current_thread()
        self.refused: list[ForeignThreadDatabaseAccess] = []
        self.opened: list[BaseDatabaseWrapper] = []
        self._previous: _DatabaseGuard | None = None

    def start(self) -> None:
        global _active_database_guard
        self._previous, _active_database_guard = _active_database_guard, self

    def connection_created(self, connection: BaseDatabaseWrapper) -> None:
        thread = threading.current_thread()
        if thread is self.thread:
            return
        if not self.refuse:
            self.opened.append(connection)
            return
        # Close it before anything runs on it: the next attempt from that
        # thread is refused the same way. SQLite's close() keeps in-memory
        # databases open, so call the base class's close directly.
        BaseDatabaseWrapper.close(connection)
        message = (
            f"{self.test} used the database {connection.alias!r} from the thread "
            f"{thread.name!r}, not from the test's database thread {self.thread.name!r}. "
            f"That connection is outside the test's transaction: its writes would "
            f"outlive the test and could lock the test database. Run database code "
            f"with `await sync_to_async(func)()` (thread_sensitive=True, the default) "
            f"or the async ORM instead of asyncio.to_thread(), "
            f"sync_to_async(thread_sensitive=False), threads or thread pools; or set "
            f"`allow_foreign_thread_db_access = True` on {type(self.test).__qualname__}."
        )
        exc = ForeignThreadDatabaseAccess(message)
        self.refused.append(exc)
        raise exc

    def unreported(self) -> list[str]:
        """Messages of the refusals that never reached the test (a thread swallowed them)."""
        return [str(exc) for exc in self.refused if not _reached_test(exc)]

    def stop(self) -> None:
        """Stop watching; close the connections other threads opened during the test."""
        global _active_database_guard
        if _active_database_guard is self:
            _active_database_guard = self._previous
        for connection in self.opened:
            if connection.connection is None:
                continue
            connection.inc_thread_sharing()
            try:
                BaseDatabaseWrapper.close(connection)
            finally:
                connection.dec_thread_sharing()
        self.opened.clear()


_active_database_guard: _DatabaseGuard | None = None


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    guard = _active_database_guard
    if guard is not None:
        guard.connection_created(connection)


connection_created.connect(_on_connection_created, dispatch_uid="django_async_testcase.guards")


# Coroutines never awaited -------------------------------------------------------


#: Whether new event loops start in debug mode (``-X dev`` or ``PYTHONASYNCIODEBUG``).
ASYNCIO_DEBUG_DEFAULT = sys.flags.dev_mode or (
    not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
)


class _NeverAwaitedCatcher:
    """Collect the "coroutine ... was never awaited" warnings of coroutines made during a test.

    A coroutine warns when it is destroyed, which for one caught in a reference
    cycle is whenever the garbage collector runs, maybe during a later test. So
    only coroutines whose origin was tracked count: the loop thread tracks them
    in debug mode, and the test's thread does during the test.
    """

    def __init__(self) -> None:
        self.found: list[str] = []
        self._saved = warnings.catch_warnings()
        self._depth = 0

    def start(self) -> None:
        self._depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self._depth, _ORIGIN_DEPTH))
        self._saved.__enter__()
        self._showwarning = warnings.showwarning
        warnings.filterwarnings(
            "always", message="coroutine .* was never awaited", category=RuntimeWarning
        )
        warnings.showwarning = self._show

    def _show(self, message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
        text = str(message)
        if (
            issubclass(category, RuntimeWarning)
            and "was never awaited" in text
            and "Coroutine created at" in text
        ):
            self.found.append(_drop_hidden_lines(text))
        else:
            self._showwarning(message, category, *args, **kwargs)

    def stop(self) -> None:
        self._saved.__exit__(None, None, None)
        sys.set_coroutine_origin_tracking_depth(self._depth)


# What asyncio's debug mode uses (asyncio.constants.DEBUG_STACK_DEPTH).
_ORIGIN_DEPTH = 10


def _drop_hidden_lines(text: str) -> str:
    """Drop the machinery's frames from a formatted stack (and their source lines)."""
    kept = []
    skipping = False
    for line in text.splitlines():
        if line.startswith('  File "'):
            skipping = _hidden_file(line[len('  File "') :].split('"', 1)[0])
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


# The guards of one test ---------------------------------------------------------


class TestGuards:
    """The guards of one test, from before ``setUp`` to after its loop has closed."""

    __test__ = False  # Not a test, whatever pytest's name patterns say.

    def __init__(self, test: Any, base: type, debug: bool) -> None:
        cls = type(test)
        self.test = test
        self._allow_tasks = cls.allow_leftover_tasks
        self._database = _DatabaseGuard(test, refuse=not cls.allow_foreign_thread_db_access)
        self._never_awaited = _NeverAwaitedCatcher() if debug else None
        method = getattr(test, test._testMethodName, None)
        self._test_code = _test_code(method)
        seconds, origin = test_timeout(test, method, base)
        self.budget = Budget(seconds, origin, self._test_code) if seconds is not None else None

    def start(self) -> None:
        self._database.start()
        if self._never_awaited is not None:
            self._never_awaited.start()

    def finish(self, leftovers: list[str], loop_errors: list[dict[str, Any]], report: bool) -> None:
        """Stop the guards; raise a GuardFailure for what they caught, if ``report``."""
        self._database.stop()
        if self._never_awaited is not None:
            self._never_awaited.stop()
        if not report:
            return
        failures = []
        refused = self._database.unreported()
        self._database.refused.clear()
        if refused:
            failures.append(
                "Database access from another thread was refused, and the error "
                "did not reach the test:\n" + "\n".join(refused)
            )
        if self._allow_tasks:
            for context in loop_errors:
                _logger.error("%s", _format_loop_error(context))
        else:
            if leftovers:
                failures.append(
                    "Tasks were still pending when the test ended; they were cancelled. "
                    "Await them (or cancel and await them in asyncTearDown or an async "
                    "cleanup), or set `allow_leftover_tasks = True` on "
                    f"{type(self.test).__qualname__}:\n" + "\n".join(leftovers)
                )
            if loop_errors:
                failures.append(
                    "Background tasks or callbacks raised, and nothing retrieved the "
                    "exception:\n" + "\n".join(_format_loop_error(c) for c in loop_errors)
                )
        if self._never_awaited is not None and self._never_awaited.found:
            failures.append(
                "Coroutines were created and never awaited (add the missing `await`):\n"
                + "\n".join(self._never_awaited.found)
            )
        if failures:
            kind = _failure_kind(refused, leftovers, loop_errors)
            _raise_at_code(kind("\n\n".join(failures)), self._test_code)


def _raise_at_code(failure: BaseException, code: types.CodeType | None) -> None:
    if code is None:
        raise failure
    raise_at(failure, code.co_filename, code.co_firstlineno, code.co_name)


def _test_code(method: Any) -> types.CodeType | None:
    func = getattr(method, "__func__", method)
    func = getattr(func, "_async_test_coroutine_function", func)
    return getattr(func, "__code__", None)


def raise_at(failure: BaseException, filename: str, lineno: int, name: str) -> None:
    """Raise ``failure`` from a frame that appears to run line ``lineno`` of ``filename``.

    A failure found by a guard after the test's code has run is raised by this
    library's frames only, which unittest and pytest hide (pytest then shows
    them all, having nothing else). This puts one frame on top that points at
    the user's code: the test method, or where the test was waiting.
    """
    # The raise statement spans that line's text exactly, so that tracebacks
    # show the line without pointing carets at a part of it.
    line = linecache.getline(filename, lineno).rstrip()
    indent = len(line) - len(line.lstrip())
    variable = "__guard_failure__".ljust(len(line) - indent - len("raise "), "_")
    source = f"if 1:\n{' ' * indent}raise {variable}\n"
    code = compile(source, filename, "exec")
    exec(code.replace(co_firstlineno=lineno - 1, co_name=name), {variable: failure})


def _failure_kind(refused: list[str], leftovers: list[str], errors: list[Any]) -> type:
    if refused:
        return ForeignThreadDatabaseAccess
    if leftovers or errors:
        return LeftoverTasks
    return NeverAwaited


def _reached_test(exc: BaseException) -> bool:
    """Whether ``exc`` propagated up to unittest's TestCase.run (or debug)."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "unittest.case":
            return True
        tb = tb.tb_next
    return False


def describe_task(task: asyncio.Task[Any]) -> str:
    """The task's name and coroutine, and where it was created if the loop is in debug mode."""
    text = f"  {task!r}"
    source = getattr(task, "_source_traceback", None)
    if source:
        created = [frame for frame in source if not _hidden_file(frame.filename)]
        text += "\n  created at (most recent call last):\n" + "".join(
            "  " + line for line in traceback.format_list(created)
        )
    return text


_logger = logging.getLogger("asyncio")


def _format_loop_error(context: dict[str, Any]) -> str:
    text = f"  {context.get('message', 'error')}"
    for key in ("task", "future", "handle"):
        if key in context:
            text += f"\n  {key}: {context[key]!r}"
    exc = context.get("exception")
    if exc is not None:
        clean_traceback(exc)
        text += "\n" + "".join(
            "  " + line for line in traceback.format_exception(type(exc), exc, exc.__traceback__)
        )
    return text


__all__ = [
    "AsyncTestTimeout",
    "ForeignThreadDatabaseAccess",
    "GuardFailure",
    "LeftoverTasks",
    "NeverAwaited",
    "timeout",
]
