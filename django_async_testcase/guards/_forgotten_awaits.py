"""Name, in a test's failure, the coroutines it made and never awaited (a forgotten ``await``).

``resp = self.async_client.get("/")`` then ``resp.status_code`` fails with
``AttributeError: 'coroutine' object has no attribute 'status_code'``. The
never-awaited guard cannot see that coroutine: the failing frames still hold
it, so it is not destroyed during the test. Those frames are in the failure's
traceback: a coroutine not yet started among their locals is a forgotten await.
"""

from __future__ import annotations

import inspect
import linecache
import types
import unittest
from typing import Any

from .._compat import add_note
from .._tracebacks import is_hidden_frame

__unittest = True  # See _tracebacks.

# Frames of these modules are not the user's: the runners, Django, the event loop's libraries.
_NOT_USER = ("_pytest.", "pluggy.", "unittest.", "django.", "pytest_asyncio.", "anyio.")
# Marks a failure already noted (the classes and the pytest plugin may both see it).
_NOTED = "_django_async_testcase_noted"


def note_forgotten_awaits(exc: BaseException) -> None:
    """Add a note to ``exc`` naming the unstarted coroutines of its user frames; close them.

    Closed, they give no "never awaited" warning later (at the interpreter's
    exit, or from the guard): the failure says it. A skip is no failure: left alone.
    """
    if getattr(exc, _NOTED, False) or isinstance(exc, unittest.SkipTest):
        return
    try:
        setattr(exc, _NOTED, True)
    except AttributeError:  # An exception that takes no attributes.
        return
    found = forgotten_awaits(exc.__traceback__)
    for coro, text in found:
        add_note(exc, text)
        coro.close()


def forgotten_awaits(tb: types.TracebackType | None) -> list[tuple[Any, str]]:
    """The coroutines not yet started held by the user's frames of ``tb``, each described."""
    found: dict[int, tuple[Any, str]] = {}
    while tb is not None:
        frame = tb.tb_frame
        if _is_user_frame(frame):
            for name, value in list(frame.f_locals.items()):
                if (
                    inspect.iscoroutine(value)
                    and id(value) not in found
                    and inspect.getcoroutinestate(value) == inspect.CORO_CREATED
                ):
                    found[id(value)] = (value, _describe(value, name, tb))
        tb = tb.tb_next
    return list(found.values())


def _is_user_frame(frame: types.FrameType) -> bool:
    module = frame.f_globals.get("__name__", "")
    return not is_hidden_frame(frame) and not module.startswith(_NOT_USER)


def _describe(coro: Any, name: str, tb: types.TracebackType) -> str:
    """Which coroutine, which variable holds it, and its line (where it was made, if tracked)."""
    code = tb.tb_frame.f_code
    made = [
        lineno
        for filename, lineno, _ in getattr(coro, "cr_origin", None) or ()
        if filename == code.co_filename
    ]
    lineno = made[0] if made else tb.tb_lineno
    line = linecache.getline(code.co_filename, lineno).strip()
    return (
        f"Coroutine '{coro.__qualname__}' was never awaited (a forgotten `await`?): "
        f"`{name}` in {code.co_name}() holds it, "
        f'{"made" if made else "still unstarted"} at "{code.co_filename}", line {lineno}:\n'
        f"    {line}"
    )
