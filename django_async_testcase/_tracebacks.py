"""Keep the machinery's frames (asgiref, asyncio, this library) out of what the user sees.

A failing test's traceback should start at the user's code, under both
runners. Three mechanisms, each for what the others cannot do:

- ``__unittest = True`` in every module of the package: unittest and pytest
  leave out the frames of modules that set it. It covers the library's frames
  still on the stack when an exception leaves the test (the hooks, the
  engine's ``run``). Each module says ``See _tracebacks`` next to it.
- ``clean_traceback`` relinks ``tb_next`` to drop asyncio's, asgiref's and
  concurrent.futures' frames (which set no ``__unittest``) from an exception
  that crossed the event loop or a thread, and its chained exceptions.
  Django's ``--parallel`` pickles tracebacks without the modules' globals, so
  there ``for_parallel_result`` drops the ``__unittest`` frames before the
  worker process sends them, as unittest would have in the main process.
- ``raise_at`` raises a guard's failure, found after the test's code ran
  (leftover tasks, a timeout), from a frame that points at the user's line:
  there is no frame of the user's left to raise it from, and a failure raised
  by hidden frames only would show them all.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import linecache
import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any, cast

import asgiref
from django.test.runner import RemoteTestResult

__unittest = True  # See above.

# Frames of these modules are machinery between the test and its failure.
_HIDDEN_MODULES = ("asgiref.", "asyncio.", "concurrent.futures.", "django_async_testcase.")
_HIDDEN_NAMES = {"threading", "contextvars"}
_HIDDEN_DIRS = tuple(
    # Packages loaded from files: each has a __file__.
    os.path.dirname(cast(str, module.__file__)) + os.sep
    for module in (asyncio, concurrent.futures, asgiref, sys.modules["django_async_testcase"])
)


def _module_name(frame: types.FrameType) -> str:
    name: str = frame.f_globals.get("__name__", "")
    return name


def is_hidden_frame(frame: types.FrameType) -> bool:
    """Whether ``frame`` runs code of the machinery, by its module's name."""
    name = _module_name(frame)
    return name in _HIDDEN_NAMES or name.startswith(_HIDDEN_MODULES)


def is_hidden_file(filename: str) -> bool:
    """Whether ``filename`` is a source file of the machinery."""
    return filename.startswith(_HIDDEN_DIRS) or filename == threading.__file__


def drop_hidden_lines(text: str) -> str:
    """Drop the machinery's frames from a formatted stack (and their source lines)."""
    kept = []
    skipping = False
    for line in text.splitlines():
        if line.startswith('  File "'):
            skipping = is_hidden_file(line[len('  File "') :].split('"', 1)[0])
        elif not line.startswith("    "):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def clean_traceback(exc: BaseException) -> None:
    """Drop asgiref, asyncio, concurrent.futures and library frames from ``exc``'s traceback.

    Also for the exceptions it was raised from or during. Keeps at least one
    frame. An exception whose class sets ``raised_for_django_call`` (a refused
    database access) ends at the user's code, not in Django's.
    """
    for each in _chain(exc):
        drop_django_tail = getattr(each, "raised_for_django_call", False)
        each.__traceback__ = _kept_frames(
            each.__traceback__, lambda frame: not is_hidden_frame(frame), drop_django_tail
        )


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _kept_frames(
    tb: types.TracebackType | None,
    keep: Callable[[types.FrameType], bool],
    drop_django_tail: bool = False,
) -> types.TracebackType | None:
    """The entries of ``tb`` whose frame ``keep`` accepts, relinked; at least one entry."""
    kept = []
    last = None
    while tb is not None:
        if keep(tb.tb_frame):
            kept.append(tb)
        last = tb
        tb = tb.tb_next
    if drop_django_tail:
        while len(kept) > 1 and _module_name(kept[-1].tb_frame).startswith("django."):
            kept.pop()
    if not kept:
        return last
    for outer, inner in itertools.pairwise(kept):
        outer.tb_next = inner
    kept[-1].tb_next = None
    return kept[0]


def raise_at(failure: BaseException, filename: str, lineno: int, name: str) -> None:
    """Raise ``failure`` from a frame that appears to run line ``lineno`` of ``filename``.

    A failure found by a guard after the test's code has run is raised by this
    library's frames only, which unittest and pytest hide (pytest then shows
    them all, having nothing else). This puts one frame on top that points at
    the user's code: the test method, or where the test was waiting.
    """
    __tracebackhide__ = True
    # The raise statement spans that line's text exactly, so that tracebacks
    # show the line without pointing carets at a part of it.
    line = linecache.getline(filename, lineno).rstrip()
    # At least one space: the raise sits in an `if` block (a test function's
    # first line, unlike a method's, starts at column 0).
    indent = max(len(line) - len(line.lstrip()), 1)
    variable = "__guard_failure__".ljust(len(line) - indent - len("raise "), "_")
    source = f"if 1:\n{' ' * indent}raise {variable}\n"
    code = compile(source, filename, "exec")
    exec(code.replace(co_firstlineno=lineno - 1, co_name=name), {variable: failure})


def raise_at_code(failure: BaseException, code: types.CodeType | None) -> None:
    """Raise ``failure`` from the first line of ``code`` (the test method), if known."""
    __tracebackhide__ = True  # pytest's equivalent of __unittest, per frame.
    if code is None:
        raise failure
    raise_at(failure, code.co_filename, code.co_firstlineno, code.co_name)


def drop_unittest_frames(exc: BaseException) -> None:
    """Drop the frames of modules that set ``__unittest``, as unittest's result does.

    For ``exc`` and the exceptions it was raised from or during; keeps at least
    one frame.
    """
    for each in _chain(exc):
        each.__traceback__ = _kept_frames(
            each.__traceback__, lambda frame: "__unittest" not in frame.f_globals
        )


_ErrInfo = tuple[type[BaseException], BaseException, types.TracebackType | None]


def for_parallel_result(result: Any) -> Any:
    """``result``, or, for Django's ``--parallel`` worker result, one that cleans first.

    The worker pickles each outcome's traceback (with tblib) for the main
    process, where the frames have lost their ``__unittest`` mark; so the
    frames it would hide are dropped before the outcome is recorded.
    """
    if not isinstance(result, RemoteTestResult):
        return result
    return _CleaningResult(result)


class _CleaningResult:
    """Hands every outcome to the wrapped result with ``drop_unittest_frames`` applied."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def __getattr__(self, name: str) -> Any:
        if name == "_result":  # Not set yet: an unpickled copy being built.
            raise AttributeError(name)
        return getattr(self._result, name)

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        # Python 3.10 pickles a test's _outcome, and with it this result, when
        # a subtest fails under --parallel; without this, pickle would look for
        # __getstate__/__setstate__ through __getattr__.
        return _CleaningResult, (self._result,)

    def addError(self, test: Any, err: _ErrInfo) -> None:
        self._result.addError(test, _cleaned(err))

    def addFailure(self, test: Any, err: _ErrInfo) -> None:
        self._result.addFailure(test, _cleaned(err))

    def addSubTest(self, test: Any, subtest: Any, err: _ErrInfo | None) -> None:
        self._result.addSubTest(test, subtest, None if err is None else _cleaned(err))

    def addExpectedFailure(self, test: Any, err: _ErrInfo) -> None:
        self._result.addExpectedFailure(test, _cleaned(err))


def _cleaned(err: _ErrInfo) -> _ErrInfo:
    exc_type, exc, _ = err
    drop_unittest_frames(exc)
    return exc_type, exc, exc.__traceback__
