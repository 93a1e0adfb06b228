"""Mistakes the pytest plugin reports: settings at session start, forgotten awaits, wide fixtures.

``pytest_plugin.py`` calls each function from one hook, in one line. Nothing
here imports Django before a function needs it (the plugin is imported at
pytest's start-up).
"""

from __future__ import annotations

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
