"""Mistakes the pytest plugin reports: settings at session start, forgotten awaits, wide fixtures.

``pytest_plugin.py`` calls each function from one hook, in one line. Nothing
here imports Django before a function needs it (the plugin is imported at
pytest's start-up).
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from typing import Any

import pytest

__unittest = True  # See _tracebacks.


def check_settings(config: pytest.Config, ini_name: str) -> None:
    """At session start: raise UsageError for a bad ASYNC_TESTCASE_TIMEOUT or ini option.

    Once, before any test runs, instead of an error in every test.
    """
    problems = []
    ini = config.getini(ini_name)
    if ini not in (None, ""):
        try:
            seconds = float(ini)
        except ValueError:
            seconds = -1.0
        if not 0 < seconds < float("inf"):
            problems.append(
                f"The {ini_name} ini option must be a positive, finite number of seconds "
                f"(or unset: no limit), got {ini!r}."
            )
    if "django" in sys.modules:  # pytest-django has configured Django, or nobody has.
        from django.conf import settings

        value = getattr(settings, "ASYNC_TESTCASE_TIMEOUT", None) if settings.configured else None
        if value is not None and not _plain_seconds(value):
            # Only now: the check imports the library's Django modules.
            from .checks import check_settings as django_check

            problems += [f"{e.msg} {e.hint or ''}".strip() for e in django_check()]
    if problems:
        raise pytest.UsageError(
            "django-async-testcase: " + "\n".join(problems) + " (No test was run.)"
        )


def _plain_seconds(value: Any) -> bool:
    """Whether ``value`` is a positive, finite int or float (the common, valid case)."""
    return type(value) in (int, float) and 0 < value < float("inf")


def note_forgotten_awaits(call: pytest.CallInfo[Any]) -> None:
    """Before a failure's report is made: name the coroutines its test never awaited."""
    if call.excinfo is not None and isinstance(call.excinfo.value, Exception):
        from .guards import note_forgotten_awaits as note

        note(call.excinfo.value)


class CommittingFixtureWarning(UserWarning):
    """A fixture's database writes escape every test's transaction."""


#: What the warning says about a module- or session-scoped async fixture that unblocks the DB.
WIDE_FIXTURE_WARNING = (
    "The {scope}-scoped async fixture {name!r} uses django_db_blocker: what it writes "
    "under django_db_blocker.unblock() is committed, outside every test's transaction, and "
    "is never rolled back; on PostgreSQL the test database may not be dropped at the end "
    "(asgiref's thread keeps a connection to it). Make it a function-scoped fixture that "
    "asks for `db` (its rows are then rolled back with each test), or a sync fixture (it "
    "runs on pytest's thread) that deletes its rows in its tear-down. See 'Limitations' in "
    "django-async-testcase's docs on pytest functions."
)


def warn_wide_async_fixture(fixturedef: pytest.FixtureDef[Any]) -> None:
    """Warn when a module- or session-scoped async fixture asks for django_db_blocker."""
    import inspect

    func = fixturedef.func
    if (
        fixturedef.scope in ("module", "session", "package", "class")
        and "django_db_blocker" in fixturedef.argnames
        and (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func))
    ):
        code = getattr(func, "__code__", None)
        warnings.warn_explicit(
            WIDE_FIXTURE_WARNING.format(scope=fixturedef.scope, name=fixturedef.argname),
            CommittingFixtureWarning,
            filename=code.co_filename if code else "<fixture>",
            lineno=code.co_firstlineno if code else 0,
        )


#: What may escape a served step as it is: pytest's outcomes, interrupts, and exceptions.
_PASSED_THROUGH: tuple[type[BaseException], ...] = (
    Exception,
    KeyboardInterrupt,
    SystemExit,
    GeneratorExit,
    pytest.skip.Exception,
    pytest.fail.Exception,  # pytest.xfail's exception is one too.
)


def as_test_error(exc: BaseException, step: str, cancel_requested: bool) -> BaseException:
    """What to raise for ``exc``, escaping the served ``step`` ("the test", "the set-up of...").

    pytest runs a test's finalizers catching only ``Exception`` and its own
    outcomes: another ``BaseException`` raised by one of them (a tear-down
    that cancels a task and awaits it without catching its ``CancelledError``)
    skips the rest, pytest-django's rollback among them, and its rows stay for
    the next tests. Such an exception becomes an ordinary error of the test.
    A ``CancelledError`` that cancels the step itself (``cancel_requested``:
    Ctrl-C under pytest-asyncio's runner, the time budget, anyio's cancel
    scopes) goes on as it is.
    """
    if isinstance(exc, _PASSED_THROUGH) or (
        cancel_requested and isinstance(exc, asyncio.CancelledError)
    ):
        return exc
    error = RuntimeError(
        f"{step.capitalize()} raised {type(exc).__name__}, which is not an Exception: pytest "
        f"would skip the test's remaining tear-downs (its rollback among them), so it is "
        f"reported as this error. Code that cancels a task and then awaits it should "
        f"catch the CancelledError: `task.cancel()`, then `with "
        f"contextlib.suppress(asyncio.CancelledError): await task`."
    )
    error.__cause__ = exc
    return error
