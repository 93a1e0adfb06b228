"""The exceptions the guards raise: one base class, one subclass per kind of bug."""

from __future__ import annotations

__unittest = True  # See _tracebacks.


class GuardFailure(AssertionError):
    """A bug in an async test that a guard of django-async-testcase caught."""


class ForeignThreadDatabaseAccess(GuardFailure):
    """A test used the database from a thread other than its database thread."""

    # Raised inside Django's connect(): tracebacks end at the user's call (_tracebacks).
    raised_for_django_call = True


class LeftoverTasks(GuardFailure):
    """Tasks were still pending, or background tasks had raised, when the test ended."""


class AsyncTestTimeout(GuardFailure):
    """An async step of a test ran over the test's time budget."""


class NeverAwaited(GuardFailure):
    """A coroutine was created during the test and never awaited."""


# Tracebacks name them by their public home: django_async_testcase.guards.<name>.
for _failure in (
    GuardFailure,
    ForeignThreadDatabaseAccess,
    LeftoverTasks,
    AsyncTestTimeout,
    NeverAwaited,
):
    _failure.__module__ = "django_async_testcase.guards"
