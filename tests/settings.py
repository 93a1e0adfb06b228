"""Settings for the project's own tests.

DJANGO_ASYNC_TESTCASE_DB selects the backend: sqlite (default), postgresql or
mysql (MariaDB or MySQL). Connection details come from the usual libpq / MySQL
defaults and can be changed with DAT_DB_HOST, DAT_DB_PORT, DAT_DB_USER and
DAT_DB_PASSWORD.
"""

import os

BACKEND = os.environ.get("DJANGO_ASYNC_TESTCASE_DB", "sqlite")
# Test databases are made from the models (MIGRATE False): about 0.15 s less for
# each of the suite's case runs, and nothing here tests migrations.
# A distinct test database name per process, so runs can go side by side.
_SUFFIX = os.environ.get("DAT_DB_SUFFIX", str(os.getpid()))


def _database(name):
    if BACKEND == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": f"{name}.sqlite3",
            "TEST": {"MIGRATE": False},
        }
    if BACKEND == "postgresql":
        engine, port, user = "django.db.backends.postgresql", "5432", "postgres"
    elif BACKEND == "mysql":
        engine, port, user = "django.db.backends.mysql", "3306", "root"
    else:
        raise ValueError(f"DJANGO_ASYNC_TESTCASE_DB={BACKEND!r}: use sqlite, postgresql or mysql")
    database = {
        "ENGINE": engine,
        "NAME": name,
        "HOST": os.environ.get("DAT_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("DAT_DB_PORT", port),
        "USER": os.environ.get("DAT_DB_USER", user),
        "PASSWORD": os.environ.get("DAT_DB_PASSWORD", ""),
        "TEST": {"NAME": f"test_dat_{name}_{_SUFFIX}", "MIGRATE": False},
    }
    if BACKEND == "mysql":
        database["TEST"]["CHARSET"] = "utf8mb4"
        database["OPTIONS"] = {"charset": "utf8mb4"}
    return database


DATABASES = {"default": _database("default"), "other": _database("other")}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tests.testapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
ROOT_URLCONF = "tests.testapp.urls"
SECRET_KEY = "django-async-testcase-tests"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ALLOWED_HOSTS = ["*"]
# LiveServerTestCase serves static files under STATIC_URL.
STATIC_URL = "/static/"
