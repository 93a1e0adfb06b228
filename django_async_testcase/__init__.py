"""Async test cases for Django: one event loop and one database thread per test."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .guards import timeout
    from .testcases import (
        AsyncLiveServerTestCase,
        AsyncSimpleTestCase,
        AsyncTestCase,
        AsyncTransactionTestCase,
    )

__version__ = "0.1.0"

__all__ = [
    "AsyncLiveServerTestCase",
    "AsyncSimpleTestCase",
    "AsyncTestCase",
    "AsyncTransactionTestCase",
    "__version__",
    "timeout",
]

# Imported on first use: the pytest plugin (django_async_testcase.pytest_plugin,
# loaded by an entry point at pytest's start-up) must not import Django for
# sessions that never use it.
_LAZY = {
    "AsyncLiveServerTestCase": ".testcases",
    "AsyncSimpleTestCase": ".testcases",
    "AsyncTestCase": ".testcases",
    "AsyncTransactionTestCase": ".testcases",
    "timeout": ".guards",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
