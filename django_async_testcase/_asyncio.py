"""Every use of asyncio's low-level API, in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

__unittest = True  # See _tracebacks.


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, or None (without raising)."""
    return asyncio._get_running_loop()


@contextlib.contextmanager
def running_loop_hidden() -> Iterator[None]:
    """Run the block as if no event loop ran this thread.

    Used only to enter and exit Django's query-counting and on-commit context
    managers with ``with`` in a test's coroutine (``db.py``): they touch the
    test's connection, which Django's ``async_unsafe`` check refuses to touch
    where a loop runs. ``_get_running_loop``/``_set_running_loop`` are the
    hooks asyncio exports for event loop implementations (uvloop uses them);
    covered by tests/test_query_tools.py.
    """
    loop = asyncio._get_running_loop()
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)
