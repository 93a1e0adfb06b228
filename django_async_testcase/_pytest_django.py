"""Every use of pytest-django's private API, in one place, each with the test that covers it.

Imported with the pytest plugin; pytest-django's own modules are imported
inside the functions only, which run once pytest-django is active.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

#: The fixture that opens a function test's transaction (``TestCase._pre_setup``)
#: when set up and rolls it back (``_post_teardown``) when torn down; ``db``,
#: ``transactional_db``, ``live_server`` and the ``django_db`` mark all go
#: through it (pytest-django 4.9 to 4.14). The plugin starts serving a test
#: once it is set up and stops before its tear-down. Covered by every test of
#: tests/test_pytest_plugin.py.
DB_HELPER_FIXTURE = "_django_db_helper"

#: pytest-django's fixtures that return context managers touching the test's
#: connection; the plugin makes their values usable in coroutines.
#: Covered by tests/test_pytest_plugin.py (QueryFixtureTests).
QUERY_FIXTURES = frozenset(
    {
        "django_assert_num_queries",
        "django_assert_max_num_queries",
        "django_capture_on_commit_callbacks",
    }
)


def is_transactional(request: pytest.FixtureRequest) -> bool:
    """Whether pytest-django flushes after this test rather than rolling back.

    The same rule as ``_django_db_helper``'s: the mark's ``transaction`` or
    ``reset_sequences``, or the ``transactional_db`` or ``live_server``
    fixtures. ``validate_django_db`` reads the mark's arguments (pytest-django
    internals). Covered by tests/test_pytest_plugin.py (TransactionalTests).
    """
    from pytest_django.fixtures import validate_django_db

    marker = request.node.get_closest_marker("django_db")
    transactional = reset_sequences = False
    if marker is not None:
        transactional, reset_sequences = validate_django_db(marker)[:2]
    return bool(
        transactional
        or reset_sequences
        or "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or "django_db_reset_sequences" in request.fixturenames
    )


def is_django_unittest(request: pytest.FixtureRequest) -> bool:
    """Whether the test is a unittest class's (pytest-django handles those itself)."""
    from pytest_django.django_compat import is_django_unittest as check

    return bool(check(request))


QueryFixtureValue = Callable[..., Any]
