"""Whether the suite can run its django-async-backend cases, and how.

Used by tests/test_async_backend.py and tests/test_docs.py. They need the
package (an optional extra: Python >= 3.12, Django 6.0 or 6.1) and PostgreSQL, its
only backend; otherwise their meta-tests are skipped with REASON.
"""

import importlib.util

from tests.settings import BACKEND

#: The settings of the cases: tests/settings.py with the package's ENGINE and app.
SETTINGS = "tests.settings_async_backend"
INSTALLED = importlib.util.find_spec("django_async_backend") is not None
USABLE = INSTALLED and BACKEND == "postgresql"
REASON = (
    "django-async-backend is not installed (pip install 'django-async-testcase[async-backend]', "
    "Python >= 3.12, Django 6.0 or 6.1)"
    if not INSTALLED
    else "django-async-backend supports PostgreSQL only (DJANGO_ASYNC_TESTCASE_DB=postgresql)"
)


def case_options(runner, suffix=""):
    """The extra arguments and environment of a case run with SETTINGS."""
    env = {"DJANGO_SETTINGS_MODULE": SETTINGS}
    if suffix:
        env["DAT_DB_SUFFIX"] = suffix
    return (("--ds", SETTINGS) if runner == "pytest" else ()), env
