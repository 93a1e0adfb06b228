"""Rows written in asyncSetUp stay in the test's transaction; the usual workaround leaks them.

Runs tests/cases/case_leak.py (AsyncTestCase) and its control
tests/cases/case_leak_control.py (Django's TestCase with
unittest.IsolatedAsyncioTestCase mixed in) under both runners, each run with
its own test database names so that whatever the control leaves behind can be
found and dropped.
"""

import os
import unittest

from django.conf import settings
from django.test import SimpleTestCase

from tests.harness import RUNNERS, Cases, run_all
from tests.settings import BACKEND

WRITERS = ["LeakAsyncWrites.test_writes_1", "LeakAsyncWrites.test_writes_2"]
CHECKERS = ["LeakRowsLeftBehind.test_rows_1", "LeakRowsLeftBehind.test_rows_2"]


def _admin_connection():
    import psycopg

    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    )


def existing_test_databases(suffix):
    """Names of the test databases that exist for runs with DAT_DB_SUFFIX=suffix."""
    with _admin_connection() as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname IN (%s, %s) ORDER BY datname",
            [f"test_dat_default_{suffix}", f"test_dat_other_{suffix}"],
        ).fetchall()
    return [name for (name,) in rows]


def drop_test_databases(suffix):
    with _admin_connection() as conn:
        for name in (f"test_dat_default_{suffix}", f"test_dat_other_{suffix}"):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@unittest.skipUnless(
    BACKEND == "postgresql",
    "the control's leak is only observable on PostgreSQL (SQLite fails it with "
    "'database table is locked'); run with DJANGO_ASYNC_TESTCASE_DB=postgresql",
)
class LeakTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.runs, cls.left_behind = {}, {}
        wanted = []
        for kind, module in (
            ("ours", "tests.cases.case_leak"),
            ("control", "tests.cases.case_leak_control"),
        ):
            for runner in RUNNERS:
                suffix = f"leak{os.getpid()}{kind}{runner}"
                cls.addClassCleanup(drop_test_databases, suffix)
                env = {"DAT_DB_SUFFIX": suffix}
                wanted.append((kind, runner, suffix, Cases.of(module, runner, env=env)))
        runs = run_all([cases for *_, cases in wanted])
        for (kind, runner, suffix, _), run in zip(wanted, runs, strict=True):
            cls.runs[kind, runner] = run
            cls.left_behind[kind, runner] = existing_test_databases(suffix)
            drop_test_databases(suffix)

    def rows(self, run, event):
        """{test: data} of ``event`` (one per test)."""
        found = {e["test"]: e for e in run.events if e["event"] == event}
        self.assertEqual(len(found), len(run.event_data(event)), run.output)
        return found

    def test_async_test_case_rows_are_rolled_back(self):
        for runner in RUNNERS:
            with self.subTest(runner=runner):
                run = self.runs["ours", runner]
                self.assertEqual(run.returncode, 0, run.output)
                in_test = self.rows(run, "rows in test")
                self.assertEqual(
                    {t: in_test[t]["count"] for t in WRITERS}, dict.fromkeys(WRITERS, 1)
                )
                left = self.rows(run, "rows left")
                self.assertEqual(
                    {t: left[t]["names"] for t in CHECKERS}, dict.fromkeys(CHECKERS, [])
                )
                self.assertEqual(self.left_behind["ours", runner], [])

    def test_control_commits_rows_that_leak_into_later_tests(self):
        for runner in RUNNERS:
            with self.subTest(runner=runner):
                run = self.runs["control", runner]
                in_test = self.rows(run, "rows in test")
                # The second writer already sees the first one's row...
                self.assertEqual([in_test[t]["count"] for t in WRITERS], [1, 2], run.output)
                # ...because the ORM ran on asgiref's global thread, outside the transaction.
                self.assertNotEqual(in_test[WRITERS[0]]["thread"], "MainThread")
                left = self.rows(run, "rows left")
                self.assertEqual(
                    {t: left[t]["names"] for t in CHECKERS}, dict.fromkeys(CHECKERS, WRITERS)
                )

    def test_control_cannot_drop_its_test_database(self):
        for runner in RUNNERS:
            with self.subTest(runner=runner):
                run = self.runs["control", runner]
                self.assertIn("is being accessed by other users", run.output)
                self.assertEqual(len(self.left_behind["control", runner]), 1, run.output)

    def test_no_test_database_is_left(self):
        for kind, runner in self.runs:
            suffix = f"leak{os.getpid()}{kind}{runner}"
            self.assertEqual(existing_test_databases(suffix), [])
