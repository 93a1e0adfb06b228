"""The test matrix: each supported Django on its Pythons, on each database backend.

    nox -l                                  # list the sessions
    nox -t sqlite                           # every Django/Python pair on SQLite
    nox -t django6.1                        # one Django series on every Python and backend
    nox -s "tests(django6.1-py3.13-mysql)"  # one session
    nox -s asgiref_min                      # the oldest asgiref the package allows
    nox -s parallel                         # Django's --parallel 2 and pytest -n 2
    nox -t async-backend                    # django-async-backend's ORM (PostgreSQL)
    nox -t ci                               # the subset CI runs

Each session installs the package with its test extras, the Django series and
the database driver, then runs ``python runtests.py`` (Django's runner) and
``python -m pytest tests``. The backend is picked by DJANGO_ASYNC_TESTCASE_DB
(see tests/settings.py). Interpreters are looked up on PATH; pyenv's installed
versions are added to it, so ``pyenv install 3.10 3.11 3.12 3.13`` is enough.
Sessions use uv to make their virtualenvs when it is installed, else venv.
Each meta-test runs case modules in subprocesses, DAT_CASE_JOBS at a time (see
tests/harness.py and CONTRIBUTING.rst); none of them needs pytest-xdist except
the parallel session's.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

# Which Pythons each supported Django series is tested on.
DJANGO_PYTHONS = {
    "4.2": ["3.10", "3.11", "3.12"],
    "5.2": ["3.10", "3.11", "3.12", "3.13"],
    "6.0": ["3.12", "3.13"],
    "6.1": ["3.12", "3.13"],
}
NEWEST_DJANGO = "6.1"
NEWEST_PYTHON = DJANGO_PYTHONS[NEWEST_DJANGO][-1]
DATABASES = ["sqlite", "postgresql", "mysql"]
DRIVERS = {"sqlite": [], "postgresql": ["psycopg[binary]>=3.1"], "mysql": ["mysqlclient>=2.2.1"]}
# The oldest asgiref that pyproject.toml allows, with a Django that accepts it.
ASGIREF_MIN = "3.8.1"
ASGIREF_MIN_DJANGO = "5.2"
# What CI runs (`nox -t ci`), besides the newest Django on every backend that
# .ci/run tests on Python 3.12: each other Django series once, on SQLite, with
# Pythons 3.10, 3.11 and 3.13 between them.
CI_RUNS = {
    ("4.2", "3.10", "sqlite"),
    ("5.2", "3.11", "sqlite"),
    ("6.0", "3.13", "sqlite"),
}

nox.options.default_venv_backend = "uv|venv"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["tests", "asgiref_min", "parallel"]


def _add_pyenv_pythons() -> None:
    """Put the bin folder of each pyenv-installed Python on PATH (pyenv's shims
    only expose the versions that are selected)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted((root / "versions").glob("3.*/bin"), reverse=True)
    if found:
        os.environ["PATH"] = os.pathsep.join([*map(str, found), os.environ.get("PATH", "")])


_add_pyenv_pythons()
# pip compiles installed modules to bytecode; uv does not unless asked. Without
# it, a session's first imports compile Django and Channels from source, and
# run slower than any user's install (seen as a 1 s Channels timeout hit once).
os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


def _install(session: nox.Session, db: str, *requirements: str) -> dict[str, str]:
    """Install the package, ``requirements`` and the driver for ``db``; the run's env."""
    session.install("-e", ".[test]", *requirements, *DRIVERS[db])
    session.run(
        "python",
        "-c",
        "import sys, django, asgiref; "
        "print('Python', sys.version.split()[0], 'Django', django.__version__, "
        "'asgiref', asgiref.__version__)",
    )
    return {"DJANGO_ASYNC_TESTCASE_DB": db}


def _run_suite(session: nox.Session, db: str, *requirements: str) -> None:
    env = _install(session, db, *requirements)
    session.run("python", "runtests.py", env=env)
    # Each meta-test already runs its case module under both Django's runner
    # and pytest; running the suite itself under pytest as well is skipped when
    # NOX_RUNTESTS_ONLY=1 (CI checks that once, on the newest Django).
    if os.environ.get("NOX_RUNTESTS_ONLY") != "1":
        session.run("python", "-m", "pytest", "tests", env=env)


@nox.session
@nox.parametrize(
    ("python", "django", "db"),
    [
        nox.param(
            python,
            django,
            db,
            id=f"django{django}-py{python}-{db}",
            tags=[f"django{django}", db, *(["ci"] if (django, python, db) in CI_RUNS else [])],
        )
        for django, pythons in DJANGO_PYTHONS.items()
        for python in pythons
        for db in DATABASES
    ],
)
def tests(session: nox.Session, django: str, db: str) -> None:
    """Django's runner and pytest, on one Django series, Python and backend."""
    _run_suite(session, db, f"Django~={django}.0")


@nox.session(python=DJANGO_PYTHONS[ASGIREF_MIN_DJANGO][0], tags=["asgiref"])
@nox.parametrize(
    "db", [nox.param(db, id=db, tags=[db, *(["ci"] if db == "sqlite" else [])]) for db in DATABASES]
)
def asgiref_min(session: nox.Session, db: str) -> None:
    """The suite with the oldest asgiref the package declares."""
    _run_suite(session, db, f"Django~={ASGIREF_MIN_DJANGO}.0", f"asgiref=={ASGIREF_MIN}")


@nox.session(python=NEWEST_PYTHON, tags=["parallel"])
@nox.parametrize(
    "db",
    [
        nox.param(db, id=db, tags=[db, *(["ci"] if db == "postgresql" else [])])
        for db in DATABASES[:2]
    ],
)
def parallel(session: nox.Session, db: str) -> None:
    """The suite in two worker processes: Django's --parallel 2, pytest-xdist's -n 2."""
    env = _install(session, db, f"Django~={NEWEST_DJANGO}.0")
    session.run("python", "runtests.py", "--parallel", "2", env=env)
    session.run("python", "-m", "pytest", "-n", "2", "tests", env=env)


# django-async-backend (the async-backend extra): a release line per Django
# series (6.0.x for Django 6.0, 6.1.x for 6.1), Python >= 3.12, PostgreSQL
# only. Its meta-tests and the docs' examples that use it (the other docs
# examples run too, in the same case runs). CI runs the newest line.
ASYNC_BACKEND = {"6.1": "django-async-backend>=6.1,<6.2", "6.0": "django-async-backend>=6.0,<6.1"}


@nox.session(python=NEWEST_PYTHON, tags=["async-backend", "postgresql"])
@nox.parametrize(
    "django",
    [
        nox.param(django, id=f"django{django}", tags=["ci"] if django == NEWEST_DJANGO else [])
        for django in ASYNC_BACKEND
    ],
)
def async_backend(session: nox.Session, django: str) -> None:
    """django-async-backend's async connections in the test's transaction (its meta-tests)."""
    env = _install(session, "postgresql", f"Django~={django}.0", ASYNC_BACKEND[django])
    docs = "tests.test_docs.DocsExamplesTests.test_async_backend_examples_pass"
    session.run("python", "runtests.py", "tests.test_async_backend", docs, env=env)
    if os.environ.get("NOX_RUNTESTS_ONLY") != "1":
        session.run("python", "-m", "pytest", "tests/test_async_backend.py", env=env)
