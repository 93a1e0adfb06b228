"""The time budget of a test's async steps: ``@timeout``, ``async_timeout`` and the setting.

A test's budget comes from its method's ``@timeout``, else its class's
``async_timeout``, else ``settings.ASYNC_TESTCASE_TIMEOUT``; :class:`Budget`
cancels the step that runs over it and reports where the test was waiting.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import types
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.test.signals import setting_changed

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


def test_timeout(test: Any, method: Any) -> tuple[float | None, str]:
    """The budget of ``test`` in seconds (or None) and where it was set."""
    seconds = getattr(method, _TIMEOUT_ATTR, _UNSET)
    if seconds is not _UNSET:
        return seconds, f"@timeout({seconds}) on the test method"
    cls = type(test)
    found = _class_timeouts.get(cls)
    if found is None:
        found = _class_timeouts[cls] = _class_timeout(cls)
    if found[0] is not _UNSET:
        return found
    return setting_timeout()


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


def _class_timeout(cls: type) -> tuple[Any, str]:
    for klass in cls.__mro__:
        seconds = vars(klass).get("async_timeout", _UNSET)
        if isinstance(seconds, FromSetting):
            break
        if seconds is not _UNSET:
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
        self._expired: dict[int, list[traceback.FrameSummary]] = {}

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
            user_frames = [frame for frame in stack if not is_hidden_file(frame.filename)]
            if user_frames and user_frames[-1].lineno:
                where = user_frames[-1]
                raise_at(failure, where.filename, where.lineno, where.name)  # type: ignore[arg-type]
            raise_at_code(failure, self._test_code)


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
        if not is_hidden_frame(frame):
            frames.append(innermost)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if innermost is not None and (not frames or frames[-1] is not innermost):
        frames.append(innermost)
    return frames
