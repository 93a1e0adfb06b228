"""Tests whose sync call is stuck, in the database or outside it; run by tests/test_stuck.py.

Each stuck query runs on the backend of the run: ``pg_sleep`` on PostgreSQL,
``SLEEP`` on MariaDB/MySQL, a recursive query without end on SQLite. None
returns by itself within the run: the test ends only if it is cancelled on
the server. Every class's next test logs the rows it starts with (CleanStart)
and the rows left after its rollback (LeakCheck).
"""

import asyncio
import os
import time
import unittest

from asgiref.sync import sync_to_async
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from django_async_testcase import AsyncTestCase
from tests.cases.case_guards import CleanStart
from tests.cases.log import log
from tests.testapp.models import Item

STUCK_QUERY = {
    "postgresql": "SELECT pg_sleep(1e6)",
    "mysql": "SELECT SLEEP(1000000)",
    "sqlite": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    ),
}


def stuck_query(test):
    """Run the backend's query that never returns; log when it starts and how it ended."""
    with connection.cursor() as cursor:
        log(test, "query started")
        try:
            cursor.execute(STUCK_QUERY[connection.vendor])
        except Exception as exc:
            log(test, "query ended", error=f"{type(exc).__name__}: {exc}", at=time.time())
            raise
        log(test, "query ended", error="", result=cursor.fetchall(), at=time.time())


class StuckQueryTests(CleanStart, AsyncTestCase):
    """The budget runs out while a query runs: it is cancelled, and the rollback runs."""

    async_timeout = 1

    async def test_a_query_never_returns(self):
        await Item.objects.acreate(name="before the stuck query")
        await sync_to_async(stuck_query)(self)

    async def test_b_next(self):
        log(self, "clean", rows=await Item.objects.acount())


class QueryOutlivesTestTests(CleanStart, AsyncTestCase):
    """No budget: the test returns while a task's query still runs."""

    allow_leftover_tasks = True

    async def test_a_leaves_its_query_running(self):
        await Item.objects.acreate(name="before the stuck query")
        self.task = asyncio.create_task(sync_to_async(stuck_query)(self))
        await asyncio.sleep(0.2)

    async def test_b_next(self):
        log(self, "clean", rows=await Item.objects.acount())


class StuckOutsideDatabaseTests(CleanStart, AsyncTestCase):
    """A sync call stuck outside the database: left on its thread, as before."""

    async_timeout = 1

    async def test_a_sleeps(self):
        await Item.objects.acreate(name="before the sleep")
        await sync_to_async(time.sleep)(1e6)

    async def test_b_next(self):
        log(self, "clean", rows=await Item.objects.acount())


def lock_row(test, pk):
    """In a connection of this thread's own: wait for the test's row lock."""
    try:
        with transaction.atomic():
            list(ContentType.objects.select_for_update().filter(pk=pk))
    except Exception as exc:
        log(test, "foreign query ended", error=f"{type(exc).__name__}: {exc}")
        raise
    log(test, "foreign query ended", error="")


@unittest.skipIf(
    os.environ.get("DJANGO_ASYNC_TESTCASE_DB", "sqlite") == "sqlite", "SQLite has no row locks"
)
class ForeignConnectionWaitsTests(CleanStart, AsyncTestCase):
    """A foreign connection waits for a lock that only the test's rollback releases."""

    allow_foreign_thread_db_access = True
    async_timeout = 1

    async def test_a_deadlock(self):
        content_type = await ContentType.objects.select_for_update().afirst()
        await sync_to_async(lock_row, thread_sensitive=False)(self, content_type.pk)

    async def test_b_next(self):
        log(self, "clean", rows=await Item.objects.acount())
