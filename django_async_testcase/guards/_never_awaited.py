"""Catch the "coroutine ... was never awaited" warnings of coroutines made during a test."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from ._tracebacks import drop_hidden_lines

# unittest and pytest leave out frames of modules that set __unittest.
__unittest = True

#: Whether new event loops start in debug mode (``-X dev`` or ``PYTHONASYNCIODEBUG``).
ASYNCIO_DEBUG_DEFAULT = sys.flags.dev_mode or (
    not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
)

# What asyncio's debug mode uses (asyncio.constants.DEBUG_STACK_DEPTH).
_ORIGIN_DEPTH = 10
# Outside debug mode: enough for the test's line when it calls a coroutine
# function directly or through one helper (``Item.objects.acreate`` is a
# manager method that calls ``QuerySet.acreate``). Tracking costs about 75 ns
# per frame per coroutine created (measured on CPython 3.12).
FAST_ORIGIN_DEPTH = 3


class NeverAwaitedCatcher:
    """Collect the "coroutine ... was never awaited" warnings of coroutines made during a test.

    A coroutine warns when it is destroyed, which for one caught in a reference
    cycle is whenever the garbage collector runs, maybe during a later test. So
    only coroutines whose origin was tracked count: a loop in debug mode tracks
    them, and so does this catcher during the test.
    """

    def __init__(self, depth: int = _ORIGIN_DEPTH) -> None:
        self.found: list[str] = []
        self._saved = warnings.catch_warnings()
        self._depth = 0
        self._origin_depth = depth

    def start(self) -> None:
        self._depth = sys.get_coroutine_origin_tracking_depth()
        sys.set_coroutine_origin_tracking_depth(max(self._depth, self._origin_depth))
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
        self._saved.__exit__(None, None, None)
        sys.set_coroutine_origin_tracking_depth(self._depth)
