"""The Django system check of django-async-testcase's settings.

A bad ``ASYNC_TESTCASE_TIMEOUT`` (``"5"``, ``0``, ``nan``) is reported once,
before any test runs, by ``manage.py test`` (which runs the checks after it
has imported the tests) and ``manage.py check``:

- Importing the test case classes (``django_async_testcase.testcases``)
  registers the check, so a suite that uses them is covered by ``manage.py
  test`` with no setting at all.
- ``manage.py check`` imports no tests: add ``"django_async_testcase"`` to
  ``INSTALLED_APPS`` (the app config, ``apps.py``, registers it too).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from .guards import TIMEOUT_SETTING, check_seconds

__unittest = True  # See _tracebacks.

#: The check's id, for SILENCED_SYSTEM_CHECKS.
TIMEOUT_ERROR = "django_async_testcase.E001"


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Errors for the library's settings with a wrong value."""
    seconds = getattr(settings, TIMEOUT_SETTING, None)
    try:
        check_seconds(seconds, f"settings.{TIMEOUT_SETTING}")
    except TypeError as exc:
        hint = "Set it to a number of seconds, such as 10, or None for no limit."
        if isinstance(seconds, str):
            hint = f"Write it as a number, without quotes: {TIMEOUT_SETTING} = {seconds.strip()}."
        return [checks.Error(str(exc), hint=hint, id=TIMEOUT_ERROR)]
    return []


def register() -> None:
    """Register ``check_settings`` (again is harmless: Django keeps a set)."""
    checks.register(check_settings)
