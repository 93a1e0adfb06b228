"""Every use of the private API of Python's standard library (asyncio, warnings), in one place."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any

__unittest = True  # See _tracebacks.


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None (without raising).

    ``_get_running_loop`` is what asyncio exports for event loop implementations.
    """
    return asyncio._get_running_loop()


@contextlib.contextmanager
def running_loop_hidden() -> Iterator[None]:
    """Run the block as if no event loop ran this thread.

    Used to enter and exit Django's query-counting and on-commit context
    managers with ``with`` in a test's coroutine (``db.py``): they touch the
    test's connection, which Django's ``async_unsafe`` check refuses to touch
    where a loop runs; and to cancel a query with a connection of its own
    when a step of a served test runs over its budget (``_engine``).
    ``_get_running_loop``/``_set_running_loop`` are the hooks asyncio exports
    for event loop implementations (uvloop uses them); covered by
    tests/test_query_tools.py and tests/test_stuck.py (MariaDB, the plugin).
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


#: What ``default_executor`` returns for a loop that does not say.
UNKNOWN: Any = object()


def default_executor(loop: asyncio.AbstractEventLoop) -> Executor | None:
    """The executor ``loop.run_in_executor(None, ...)`` used, None if none yet, or UNKNOWN.

    ``BaseEventLoop._default_executor``, which ``shutdown_default_executor()``
    waits for without a bound before Python 3.12; UNKNOWN for a loop without
    it. Covered by tests/test_stuck.py (a foreign connection waiting for the
    test's rollback).
    """
    executor: Executor | None = getattr(loop, "_default_executor", UNKNOWN)
    return executor


def task_creation_stack(task: asyncio.Task[Any]) -> traceback.StackSummary | None:
    """Where ``task`` was created, if its loop is in debug mode (``Task._source_traceback``).

    Covered by tests/test_guards.py (leftover tasks in debug mode).
    """
    stack: traceback.StackSummary | None = getattr(task, "_source_traceback", None)
    return stack


# CPython reports a coroutine destroyed unawaited by calling this function of
# the warnings module (3.8 and later), which issues the RuntimeWarning.
_UNAWAITED_HOOK = "_warn_unawaited_coroutine"


def hook_unawaited_coroutines(hook: Callable[[Any], None]) -> bool:
    """Make CPython call ``hook(coro)`` for each coroutine destroyed unawaited.

    Replaces ``warnings._warn_unawaited_coroutine`` (once); False where this
    Python has no such hook. Covered by tests/test_guards.py and test_newuser.py.
    """
    current = getattr(warnings, _UNAWAITED_HOOK, None)
    if current is hook:
        return True
    if current is None:
        return False
    setattr(warnings, _UNAWAITED_HOOK, hook)
    return True
