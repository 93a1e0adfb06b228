"""Turn async hooks that unittest or Django would never await into clear errors."""

from __future__ import annotations

import inspect
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.test import TestCase

# The checks raise on the test's behalf: keep their frames out of tracebacks.
__unittest = True

#: Set on the plain method that runs an ``async def`` test method; holds that
#: coroutine function (testcases._run_on_test_loop sets it, guards read it).
COROUTINE_ATTR = "_async_test_coroutine_function"

# Hooks that unittest or Django call synchronously, and what to use instead.
_SYNC_ONLY_CLASS_HOOKS = {
    "setUpClass": "override it with a plain def (class-wide async set-up is "
    "asyncSetUpTestData on AsyncTestCase)",
    "tearDownClass": "override it with a plain def",
    "setUpTestData": "define it as a plain classmethod, or define "
    "`async def asyncSetUpTestData(cls)` instead",
}
_SYNC_ONLY_TEST_HOOKS = {
    "setUp": "asyncSetUp",
    "tearDown": "asyncTearDown",
}


def is_async_callable(obj: Any) -> bool:
    """Whether calling ``obj`` returns a coroutine (functions, partials, async ``__call__``)."""
    if iscoroutinefunction(obj):
        return True
    if inspect.isroutine(obj) or isinstance(obj, type):
        return False
    return iscoroutinefunction(type(obj).__call__) if callable(obj) else False


def async_class_hook_errors(cls: type) -> list[str]:
    """Messages for each class-level hook of ``cls`` defined with ``async def``."""
    errors = [
        f"{cls.__qualname__}.{name} is defined with `async def`, but it is called "
        f"synchronously and would never be awaited: {fix}."
        for name, fix in _SYNC_ONLY_CLASS_HOOKS.items()
        if iscoroutinefunction(getattr(cls, name, None))
    ]
    if hasattr(cls, "asyncSetUpTestData") and not issubclass(cls, TestCase):
        errors.append(
            f"{cls.__qualname__}.asyncSetUpTestData would never run: only AsyncTestCase "
            f"runs it. Use asyncSetUp, or subclass AsyncTestCase."
        )
    return errors


def check_async_test_data(cls: type) -> None:
    """Raise TypeError unless ``cls.asyncSetUpTestData`` is an async classmethod."""
    hook = inspect.getattr_static(cls, "asyncSetUpTestData")
    if not isinstance(hook, classmethod) or not iscoroutinefunction(hook.__func__):
        sync = isinstance(hook, classmethod) or not iscoroutinefunction(hook)
        raise TypeError(
            f"{cls.__qualname__}.asyncSetUpTestData must be defined as "
            f"`@classmethod async def asyncSetUpTestData(cls)`"
            + ("; put synchronous code in setUpTestData." if sync else ".")
        )


def check_sync_test_hook(test: Any, name: str) -> None:
    """Raise TypeError if ``test.<name>`` (setUp or tearDown) is a coroutine function."""
    if iscoroutinefunction(getattr(test, name)):
        raise TypeError(
            f"{type(test).__qualname__}.{name} is defined with `async def`, so its "
            f"body would never run. Define `async def {_SYNC_ONLY_TEST_HOOKS[name]}"
            f"(self)` instead."
        )


def check_async_hook(test: Any, name: str) -> None:
    """Raise TypeError if ``test.<name>`` (asyncSetUp or asyncTearDown) is not async."""
    if not is_async_callable(getattr(test, name)):
        sync_name = (
            name.replace("async", "").replace("SetUp", "setUp").replace("TearDown", "tearDown")
        )
        raise TypeError(
            f"{type(test).__qualname__}.{name} must be defined with `async def`; "
            f"put synchronous code in {sync_name}."
        )


def check_async_cleanup(func: Any) -> None:
    """Raise TypeError unless ``func`` is a coroutine function, for addAsyncCleanup."""
    if not is_async_callable(func):
        raise TypeError(
            f"addAsyncCleanup() needs a coroutine function (async def), got {func!r}; "
            f"register synchronous callables with addCleanup()."
        )
