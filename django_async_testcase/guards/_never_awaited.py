"""Catch the "coroutine ... was never awaited" warnings of coroutines made during a test."""

from __future__ import annotations

import os
import sys
import warnings
from typing import Any

from .._tracebacks import drop_hidden_lines

__unittest = True  # See _tracebacks.

#: Whether new event loops start in debug mode (``-X dev`` or ``PYTHONASYNCIODEBUG``).
ASYNCIO_DEBUG_DEFAULT = sys.flags.dev_mode or (
    not sys.flags.ignore_environment and bool(os.environ.get("PYTHONASYNCIODEBUG"))
)

# What asyncio's debug mode uses (asyncio.constants.DEBUG_STACK_DEPTH).
_ORIGIN_DEPTH = 10


class NeverAwaitedCatcher:
    """Collect the "coroutine ... was never awaited" warnings of coroutines made during a test.

    A coroutine warns when it is destroyed, which for one caught in a reference
    cycle is whenever the garbage collector runs, maybe during a later test. So
    only coroutines whose origin was tracked count: a loop in debug mode tracks
    them, and so does this catcher during the test.
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
            self.found.append(drop_hidden_lines(text))
        else:
            self._showwarning(message, category, *args, **kwargs)

    def stop(self) -> None:
        self._saved.__exit__(None, None, None)
        sys.set_coroutine_origin_tracking_depth(self._depth)
