"""Turn async hooks that unittest or Django would never await into clear errors."""

from __future__ import annotations

import asyncio
import inspect
import types
import unittest
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.test import TestCase

from ._tracebacks import raise_at_code

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
    return errors + _mixin_errors(cls) + class_attribute_errors(cls)


def _mixin_errors(cls: type) -> list[str]:
    """A message if ``unittest.IsolatedAsyncioTestCase`` comes before the library's hooks.

    Its ``_callSetUp`` and the rest would then run the async hooks on a loop
    of its own, outside the test's transaction (rows commit and leak). Behind
    the library's class it is harmless: the library's hooks win.
    """
    mro = cls.__mro__
    mixin = unittest.IsolatedAsyncioTestCase
    ours = next((k for k in mro if "_callAsyncHook" in vars(k)), None)
    if mixin not in mro or ours is None or mro.index(mixin) > mro.index(ours):
        return []
    return [
        f"{cls.__qualname__} puts unittest.IsolatedAsyncioTestCase in front of "
        f"django-async-testcase's class, whose async hooks it would replace: the test would "
        f"run outside its transaction, and what it writes would be committed. Remove "
        f"IsolatedAsyncioTestCase from the bases of {cls.__qualname__}: the library's "
        f"classes already have its hooks (asyncSetUp, asyncTearDown, addAsyncCleanup, "
        f"enterAsyncContext)."
    ]


# Class attributes that must be True or False (asyncio_debug may also be None).
_BOOL_ATTRIBUTES = ("allow_leftover_tasks", "allow_foreign_thread_db_access", "allow_never_awaited")


def class_attribute_errors(cls: type) -> list[str]:
    """Messages for each of the library's class attributes of ``cls`` with a wrong value."""
    errors = []
    for name in ("asyncio_debug", *_BOOL_ATTRIBUTES):
        if not hasattr(cls, name):
            continue  # Not one of the library's classes (a plain mixin).
        value = getattr(cls, name)
        if not isinstance(value, bool) and (value is not None or name != "asyncio_debug"):
            errors.append(
                f"{cls.__qualname__}.{name} must be True or False"
                + (" (or None for asyncio's default)" if name == "asyncio_debug" else "")
                + f", got {value!r}."
            )
    factory = getattr(cls, "loop_factory", None)
    if factory is not None and not callable(factory):
        errors.append(
            f"{cls.__qualname__}.loop_factory must be a callable that returns a new event "
            f"loop (such as asyncio.new_event_loop or uvloop.new_event_loop), or None, "
            f"got {factory!r}."
        )
    return errors


def check_loop(loop: Any, factory: Any) -> None:
    """Raise TypeError or ValueError unless ``loop``, made by ``factory``, is a usable new loop."""
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            f"loop_factory {_name(factory)} returned {loop!r}, not an event loop: it must "
            f"return a new asyncio event loop (as asyncio.new_event_loop does)."
        )
    if loop.is_closed() or loop.is_running():
        state = "closed" if loop.is_closed() else "running"
        raise ValueError(
            f"loop_factory {_name(factory)} returned a {state} event loop: it must return "
            f"a new loop for each test (as asyncio.new_event_loop does), not a loop it "
            f"made before; each test's loop is closed when the test ends."
        )


def _name(func: Any) -> str:
    name = getattr(func, "__qualname__", None)
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if name and module else repr(func)


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
    """Raise TypeError if ``test.<name>`` (setUp or tearDown) is a coroutine function.

    Raised from the hook's first line (see ``_tracebacks.raise_at``): the
    traceback shows the user's definition, under pytest too.
    """
    __tracebackhide__ = True
    hook = getattr(test, name)
    if iscoroutinefunction(hook):
        raise_at_code(
            TypeError(
                f"{type(test).__qualname__}.{name} is defined with `async def`, so its "
                f"body would never run. Define `async def {_SYNC_ONLY_TEST_HOOKS[name]}"
                f"(self)` instead."
            ),
            code_of(hook),
        )


def check_async_hook(test: Any, name: str) -> None:
    """Raise TypeError if ``test.<name>`` (asyncSetUp or asyncTearDown) is not async."""
    __tracebackhide__ = True
    hook = getattr(test, name)
    if not is_async_callable(hook):
        sync_name = (
            name.replace("async", "").replace("SetUp", "setUp").replace("TearDown", "tearDown")
        )
        raise_at_code(
            TypeError(
                f"{type(test).__qualname__}.{name} must be defined with `async def`; "
                f"put synchronous code in {sync_name}."
            ),
            code_of(hook),
        )


def code_of(func: Any) -> types.CodeType | None:
    """The code of the user's function behind ``func`` (a method, an async test's wrapper)."""
    func = getattr(func, "__func__", func)
    func = getattr(func, COROUTINE_ATTR, func)
    return getattr(func, "__code__", None)


def check_async_cleanup(func: Any) -> None:
    """Raise TypeError unless ``func`` is a coroutine function, for addAsyncCleanup."""
    if not is_async_callable(func):
        if inspect.iscoroutine(func):
            func.close()  # Reported here: no "never awaited" warning as well.
            raise TypeError(
                f"addAsyncCleanup() needs a coroutine function, got the coroutine {func!r}: "
                f"pass the function and its arguments, not its call: "
                f"addAsyncCleanup(func, *args) instead of addAsyncCleanup(func(*args))."
            )
        raise TypeError(
            f"addAsyncCleanup() needs a coroutine function (async def), got {func!r}; "
            f"register synchronous callables with addCleanup()."
        )
