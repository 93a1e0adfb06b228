"""The time budget of a test's async steps: ``@timeout``, ``async_timeout`` and the setting.

A test's budget comes from its method's ``@timeout``, else its class's
``async_timeout``, else ``settings.ASYNC_TESTCASE_TIMEOUT``; :class:`Budget`
cancels the step that runs over it and reports where the test was waiting.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import itertools
import math
import os
import threading
import time
import traceback
import types
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.test.signals import setting_changed
from django.test.utils import override_settings

from .._checks import COROUTINE_ATTR
from .._compat import uncancel
from .._tracebacks import is_hidden_file, is_hidden_frame, raise_at, raise_at_code
from ._failures import AsyncTestTimeout

__unittest = True  # See _tracebacks.

_F = TypeVar("_F", bound=Callable[..., Any])

#: Name of the attribute that ``timeout()`` sets on a test method.
_TIMEOUT_ATTR = "_async_timeout"
#: The Django setting with the project-wide default of ``async_timeout``.
TIMEOUT_SETTING = "ASYNC_TESTCASE_TIMEOUT"


def timeout(seconds: float | None) -> Callable[[_F], _F]:
    """Give one test its own time budget, overriding ``async_timeout``.

    ``None`` turns the limit off for that test::

        @timeout(0.5)
        async def test_fast(self): ...
    """
    if callable(seconds):
        raise TypeError(
            f"@timeout needs the number of seconds: use @timeout(seconds) (or @timeout(None) "
            f"for no limit) above {getattr(seconds, '__qualname__', seconds)!s}, with the "
            f"parentheses."
        )
    check_seconds(seconds, "timeout()")

    def decorate(func: _F) -> _F:
        setattr(func, _TIMEOUT_ATTR, seconds)
        return func

    return decorate


def check_seconds(seconds: Any, where: str) -> None:
    """Raise TypeError, saying ``where`` it was set, unless ``seconds`` is a budget or None."""
    if seconds is None:
        return
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        raise TypeError(
            f"{where} must be a positive, finite number of seconds or None (no limit), "
            f"got {seconds!r}."
        )


def test_timeout(test: Any, method: Any) -> tuple[float | None, str]:
    """The budget of ``test`` in seconds (or None) and where it was set."""
    seconds = getattr(method, _TIMEOUT_ATTR, _UNSET)
    if seconds is not _UNSET:
        if not hasattr(method, COROUTINE_ATTR):
            raise TypeError(
                f"@timeout({seconds}) is on {type(test).__qualname__}.{test._testMethodName}, "
                f"a synchronous test: only the async steps of a test are timed. Make the test "
                f"`async def`, or remove @timeout()."
            )
        return seconds, f"@timeout({seconds}) on the test method"
    cls = type(test)
    found = _class_timeouts.get(cls)
    if found is None:
        found = _class_timeouts[cls] = _class_timeout(cls)
    if found[0] is not _UNSET:
        return found
    seconds = _method_setting(method)
    if seconds is not _UNSET:
        check_seconds(seconds, f"settings.{TIMEOUT_SETTING}")
        return seconds, f"@override_settings({TIMEOUT_SETTING}={seconds}) on the test method"
    return setting_timeout()


def function_timeout(function: Any) -> tuple[float | None, str] | None:
    """The budget that ``@timeout()`` gives a test function, and where; None if it has none."""
    seconds = getattr(function, _TIMEOUT_ATTR, _UNSET)
    if seconds is _UNSET:
        return None
    return seconds, f"@timeout({seconds}) on the test function"


class FromSetting:
    """The ``async_timeout`` of a class that sets none: ``settings.ASYNC_TESTCASE_TIMEOUT``.

    Reading ``SomeTestCase.async_timeout`` then gives the setting's value.
    """

    def __get__(self, obj: Any, cls: Any = None) -> float | None:
        return setting_timeout()[0]


def setting_timeout() -> tuple[float | None, str]:
    """``settings.ASYNC_TESTCASE_TIMEOUT`` (checked) and where it was set."""
    global _setting_timeout
    if _setting_timeout is None:
        seconds = getattr(settings, TIMEOUT_SETTING, None)
        check_seconds(seconds, f"settings.{TIMEOUT_SETTING}")
        _setting_timeout = seconds, f"settings.{TIMEOUT_SETTING} = {seconds}"
    return _setting_timeout


# settings.ASYNC_TESTCASE_TIMEOUT, read once, again after override_settings changes it.
_setting_timeout: tuple[float | None, str] | None = None


def _on_setting_changed(setting: str, **kwargs: Any) -> None:
    global _setting_timeout
    if setting == TIMEOUT_SETTING:
        _setting_timeout = None


setting_changed.connect(_on_setting_changed, dispatch_uid="django_async_testcase.guards.timeout")


def _method_setting(method: Any) -> Any:
    """``ASYNC_TESTCASE_TIMEOUT`` set by ``@override_settings`` on the test method, or _UNSET.

    Such an override only applies while the method's body runs, after the
    budget was read: read it from the decorator itself (the innermost wins).
    """
    func = getattr(method, "__func__", method)
    func = getattr(func, COROUTINE_ATTR, func)
    found = _UNSET
    for _ in range(20):  # A chain of decorators (functools.wraps sets __wrapped__).
        for cell in getattr(func, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:  # An empty cell.
                continue
            options = getattr(value, "options", None)  # modify_settings has none.
            if isinstance(value, override_settings) and isinstance(options, dict):
                found = options.get(TIMEOUT_SETTING, found)
        func = getattr(func, "__wrapped__", None)
        if func is None:
            break
    return found


def _class_timeout(cls: type) -> tuple[Any, str]:
    for klass in cls.__mro__:
        seconds = vars(klass).get("async_timeout", _UNSET)
        if isinstance(seconds, FromSetting):
            break
        if seconds is not _UNSET:
            check_seconds(seconds, f"{klass.__qualname__}.async_timeout")
            return seconds, f"{klass.__qualname__}.async_timeout = {seconds}"
    return _UNSET, ""


_UNSET: Any = object()
# Each test class's own async_timeout (or _UNSET), found once.
_class_timeouts: weakref.WeakKeyDictionary[type, tuple[Any, str]] = weakref.WeakKeyDictionary()


# The real monotonic clock, out of reach of freezegun (which replaces
# time.monotonic and every module attribute that refers to it while time is frozen).
_REAL_CLOCK = (time.monotonic,)


def _now() -> float:
    return _REAL_CLOCK[0]()


class Budget:
    """The time budget shared by a test's async steps (set-up, test, tear-down, cleanups).

    The clock starts with the first async step. Once it has run out, the
    following steps (asyncTearDown, async cleanups) get a fresh budget of the
    same length, so a hung tear-down cannot hang the run either.

    The budget is real time, kept by a watchdog thread (:class:`_Watchdog`), not
    by the event loop's clock: a frozen clock (freezegun) must neither make the
    budget run out at once nor keep it from ever running out.
    """

    def __init__(self, seconds: float, origin: str, test_code: types.CodeType | None) -> None:
        self.seconds = seconds
        self.origin = origin
        self._test_code = test_code
        self._deadline: float | None = None
        self._started = 0.0
        self._loop_started = 0.0
        self._expired: dict[int, tuple[list[traceback.FrameSummary], str]] = {}
        # The step being watched in each task, by the task's id.
        self._steps: dict[int, _Step] = {}

    def watch(
        self, loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], source: object = None
    ) -> None:
        """Cancel ``task`` if its step still runs when the budget runs out (on the loop).

        The step ends with ``check(task)``: a task may run several steps (anyio
        runs a test and its fixtures in one task). ``source`` (else the task's
        coroutine) shows where the step waits.
        """
        if self._deadline is None:
            self._started = _now()
            self._loop_started = loop.time()
            self._deadline = self._started + self.seconds
        step = _Step(task.get_coro() if source is None else source)
        step.entry = _watchdog.add(
            self._deadline, functools.partial(_wake, loop, self._expire, task, step)
        )
        self._steps[id(task)] = step

    def _expire(self, task: asyncio.Task[Any], step: _Step) -> None:
        if task.done() or self._steps.get(id(task)) is not step:
            return  # The step ended meanwhile.
        self._expired[id(task)] = (_await_stack(step.source), self._clock_note(task))
        self._deadline = None
        task.cancel()

    def _clock_note(self, task: asyncio.Task[Any]) -> str:
        """What to say when the loop's clock did not follow real time (frozen or moved)."""
        real = _now() - self._started
        try:
            moved = task.get_loop().time() - self._loop_started
        except Exception:  # A clock that fails is not worth a second error.
            return ""
        if abs(moved - real) <= max(0.5, real / 2):
            return ""
        if abs(moved) < 0.001:
            what = "stood still"
        else:
            # The jump in the largest unit that makes it at least 2 (e.g. "about 54 years").
            units = [("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)]
            size = next(
                (f"about {abs(moved) / s:.0f} {n}" for n, s in units if abs(moved) >= 2 * s),
                f"{abs(moved):.3g} s",
            )
            what = f"jumped {size} {'forward' if moved > 0 else 'back'}"
        return (
            f"\nThe event loop's clock {what} while {real:.3g} s of real time passed: a "
            f"frozen or moved clock is the cause (time frozen or travelled in the test). "
            f"Timers and asyncio.sleep() wait on that clock. freezegun needs "
            f"`@freeze_time(..., real_asyncio=True)` in async tests; time-machine leaves the "
            f"loop's clock alone."
        )

    def check(self, task: asyncio.Task[Any]) -> None:
        """The step of ``task`` ended: raise AsyncTestTimeout if the budget cancelled it."""
        step = self._steps.pop(id(task), None)
        if step is not None:
            _Watchdog.cancel(step.entry)
        expired = self._expired.pop(id(task), None)
        if expired is not None:
            if not task.done():
                uncancel(task)  # The task goes on to its next step.
            stack, note = expired
            failure = AsyncTestTimeout(
                f"The test timed out after {self.seconds:g} s ({self.origin}); "
                f"it was waiting at:\n{''.join(traceback.format_list(stack))}".rstrip("\n")
                + note
            )
            user_frames = [frame for frame in stack if not is_hidden_file(frame.filename)]
            if user_frames and user_frames[-1].lineno:
                where = user_frames[-1]
                raise_at(failure, where.filename, where.lineno, where.name)  # type: ignore[arg-type]
            raise_at_code(failure, self._test_code)


class _Step:
    """One step being watched: what shows where it waits, and its watchdog entry."""

    def __init__(self, source: object) -> None:
        self.source = source
        self.entry: list[Any] = []


def _wake(
    loop: asyncio.AbstractEventLoop,
    expire: Callable[[asyncio.Task[Any], _Step], None],
    task: asyncio.Task[Any],
    step: _Step,
) -> None:
    """On the watchdog's thread: have ``loop`` run ``expire(task, step)``."""
    try:
        loop.call_soon_threadsafe(expire, task, step)
    except RuntimeError:  # The loop has closed meanwhile.
        pass


class _Watchdog:
    """One daemon thread that calls each budget's callback at its deadline, in real time.

    Started with the first budget of the process (again in a forked child).
    Adding a deadline costs a lock and a heap push; cancelled entries are
    dropped when their deadline comes.
    """

    def __init__(self) -> None:
        self._pid = -1
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []
        self._counter = itertools.count()

    def add(self, deadline: float, callback: Callable[[], None]) -> list[Any]:
        if self._pid != os.getpid():
            self._start()
        entry = [deadline, next(self._counter), callback]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()
        return entry

    @staticmethod
    def cancel(entry: list[Any], *args: Any) -> None:
        entry[2] = None

    def _start(self) -> None:
        # After a fork, the parent's thread is gone and its lock may be held.
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._heap = []
        threading.Thread(
            target=self._run,
            args=(self._cond, self._heap),
            name="async-testcase-timeouts",
            daemon=True,
        ).start()

    def _run(self, cond: threading.Condition, heap: list[list[Any]]) -> None:
        with cond:
            while True:
                while heap and heap[0][2] is None:
                    heapq.heappop(heap)
                if not heap:
                    cond.wait()
                    continue
                delay = heap[0][0] - _now()
                if delay > 0:
                    cond.wait(delay)
                    continue
                callback = heapq.heappop(heap)[2]
                try:
                    callback()
                except Exception:  # Never let the watchdog die.
                    pass


_watchdog = _Watchdog()


def _await_stack(coro: Any) -> list[traceback.FrameSummary]:
    """The frames of the chain of coroutines that ``coro`` is awaiting, outermost first.

    Machinery frames are left out, unless the innermost one is all there is.
    """
    frames = []
    innermost = None
    while coro is not None:
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "gi_frame", None)
            or getattr(coro, "ag_frame", None)
        )
        if frame is None:
            break
        innermost = traceback.FrameSummary(
            frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name
        )
        if not is_hidden_frame(frame):
            frames.append(innermost)
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
    if innermost is not None and (not frames or frames[-1] is not innermost):
        frames.append(innermost)
    return frames
