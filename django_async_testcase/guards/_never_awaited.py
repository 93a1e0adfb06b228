"""Catch the "coroutine ... was never awaited" warnings of coroutines made during a test."""

from __future__ import annotations

import linecache
import os
import sys
import traceback
import warnings
from typing import Any

from .._stdlib import hook_unawaited_coroutines
from .._tracebacks import drop_hidden_lines

__unittest = True  # See _tracebacks.

#: Whether new event loops start in debug mode (``-X dev`` or ``PYTHONASYNCIODEBUG``).
ASYNCIO_DEBUG_DEFAULT = sys.flags.dev_mode or (
    not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
)

# What asyncio's debug mode uses (asyncio.constants.DEBUG_STACK_DEPTH).
_ORIGIN_DEPTH = 10
# Outside debug mode: enough for the test's line when it calls a coroutine
# function directly or through one helper (``Item.objects.acreate`` is a
# manager method that calls ``QuerySet.acreate``). Tracking costs about 75 ns
# per frame per coroutine created (measured on CPython 3.12); a test that
# makes one ORM write and one count: depth 1 costs it about 5 us, 2 about
# 10 to 20 us, 3 about 17 us or more (of 0.6 ms of CPU), measured in turns.
FAST_ORIGIN_DEPTH = 2

_active: NeverAwaitedCatcher | None = None


def _warn_unawaited_coroutine(coro: Any) -> None:
    """What CPython calls for each coroutine destroyed unawaited (as warnings' own does)."""
    origin = getattr(coro, "cr_origin", None)
    text = f"coroutine '{coro.__qualname__}' was never awaited"
    if origin is not None:
        frames = [
            (filename, lineno, name, linecache.getline(filename, lineno))
            for filename, lineno, name in reversed(origin)
        ]
        text += "\nCoroutine created at (most recent call last)\n" + "".join(
            traceback.format_list(frames)
        ).rstrip("\n")
    catcher = _active
    if catcher is not None and origin is not None:
        catcher.found.append(drop_hidden_lines(text))
    else:
        # Not during a test, or made before it (a reference cycle collected now):
        # warn as Python would, from the frame where the coroutine was dropped.
        warnings.warn(text, category=RuntimeWarning, stacklevel=2, source=coro)


class NeverAwaitedCatcher:
    """Collect the "coroutine ... was never awaited" reports of coroutines made during a test.

    A coroutine reports when it is destroyed, which for one caught in a
    reference cycle is whenever the garbage collector runs, maybe during a
    later test. So only coroutines whose origin was tracked count: the catcher
    tracks it during the test (a loop in debug mode tracks it too).

    CPython reports through a hook of the warnings module (``_stdlib``): the
    catcher answers that hook while it runs (a global and the tracking depth to set,
    nothing else per test). Where the hook is missing, it catches the warning.
    """

    def __init__(self, depth: int = _ORIGIN_DEPTH) -> None:
        self.found: list[str] = []
        self._saved: Any = None
        self._depth = 0
        self._origin_depth = depth
        self._previous: NeverAwaitedCatcher | None = None

    def start(self) -> None:
        global _active
        self._depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self._depth, self._origin_depth))
        if hook_unawaited_coroutines(_warn_unawaited_coroutine):
            self._previous, _active = _active, self
            return
        self._saved = warnings.catch_warnings()
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
            self.found.append(drop_hidden_lines(text))
        else:
            self._showwarning(message, category, *args, **kwargs)

    def stop(self) -> None:
        global _active
        if self._saved is not None:
            self._saved.__exit__(None, None, None)
            self._saved = None
        elif _active is self:
            _active = self._previous
        sys.set_coroutine_origin_tracking_depth(self._depth)
