"""Describe the tasks left pending at the end of a test, and the errors of background tasks."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

from ._tracebacks import clean_traceback, is_hidden_file

# unittest and pytest leave out frames of modules that set __unittest.
__unittest = True

# How long leftover tasks get to finish once cancelled at the end of a test.
CANCEL_GRACE = 1.0


def describe_task(task: asyncio.Task[Any]) -> str:
    """The task's name and coroutine, and where it was created if the loop is in debug mode."""
    text = f"  {task!r}"
    source = getattr(task, "_source_traceback", None)
    if source:
        created = [frame for frame in source if not is_hidden_file(frame.filename)]
        text += "\n  created at (most recent call last):\n" + "".join(
            "  " + line for line in traceback.format_list(created)
        )
    return text


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
