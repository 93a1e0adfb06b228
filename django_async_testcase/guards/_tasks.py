"""Describe the errors of background tasks that the test's loop received."""

from __future__ import annotations

import traceback
from typing import Any

from .._tracebacks import clean_traceback

__unittest = True  # See _tracebacks.


def format_loop_error(context: dict[str, Any]) -> str:
    """What the loop's exception handler received, with the traceback cleaned."""
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
