"""Settings for the suite's django-async-backend cases (PostgreSQL only).

tests/settings.py with django-async-backend's ENGINE on both aliases and its app
installed, as its documentation says to set it up. Used by the case modules of
tests/test_async_backend.py (run with DJANGO_ASYNC_TESTCASE_DB=postgresql).
"""

from tests.settings import *  # noqa: F403
from tests.settings import BACKEND, DATABASES, INSTALLED_APPS

if BACKEND != "postgresql":
    raise RuntimeError(
        "tests.settings_async_backend needs DJANGO_ASYNC_TESTCASE_DB=postgresql: "
        "django-async-backend supports PostgreSQL only."
    )

for _database in DATABASES.values():
    _database["ENGINE"] = "django_async_backend.db.backends.postgresql"
INSTALLED_APPS = [*INSTALLED_APPS, "django_async_backend"]
ROOT_URLCONF = "tests.async_backend_urls"
