"""Async test cases for Django: one event loop and one database thread per test."""

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
