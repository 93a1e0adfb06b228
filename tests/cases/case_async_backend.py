"""django-async-backend's true-async ORM in our classes, beside its own AsyncioTestCase.

Run with tests/settings_async_backend.py (its ENGINE and app, PostgreSQL);
tests/test_async_backend.py checks the runs. Each test logs what it saw; the
control class (django-async-backend's own AsyncioTestCase) runs last, under
both runners, and logs whether anything of ours was left in the database.
"""

import asyncio
import time
import unittest

import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, connections, transaction

from django_async_testcase import AsyncLiveServerTestCase, AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import log
from tests.testapp.models import Item

try:
    from django_async_backend.db import async_connections
    from django_async_backend.db.transaction import async_atomic
    from django_async_backend.test import AsyncioTestCase
except ImportError:  # Optional: tests/test_async_backend.py skips then.
    AsyncioTestCase = unittest.IsolatedAsyncioTestCase
try:
    from django_async_backend.db import async_new_connection  # 6.1.5 and later
except ImportError:
    async_new_connection = None

try:
    import pytest
except ImportError:
    pytest = None


async def async_pid(alias="default"):
    """The server process of django-async-backend's connection (its session)."""
    async with await async_connections[alias].cursor() as cursor:
        await cursor.execute("SELECT pg_backend_pid()")
        return (await cursor.fetchone())[0]


def sync_pid(alias="default"):
    """The server process of Django's connection here."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


async def async_names():
    return [item.name async for item in Item.async_objects.order_by("name")]


class SharedTransactionTests(AsyncTestCase):
    """Both ORMs in one transaction per test; setUpTestData's rows kept per class."""

    databases = {"default", "other"}

    @classmethod
    def setUpTestData(cls):
        Item.objects.create(name="class")

    def setUp(self):
        Item.objects.create(name="setup")  # A sync hook, as a factory would.

    async def asyncSetUp(self):
        log(self, "start", names=await async_names())

    async def test_async_orm_sees_sync_rows(self):
        await Item.async_objects.acreate(name="async")
        log(
            self,
            "seen",
            sync=[i.name async for i in Item.objects.order_by("name")],
            asynchronous=await async_names(),
            same_session=await async_pid() == await sync_to_async(sync_pid)(),
        )

    async def test_other_alias(self):
        await Item.async_objects.using("other").acreate(name="other")
        log(
            self,
            "other",
            sync=await Item.objects.using("other").acount(),
            same_session=await async_pid("other") == await sync_to_async(sync_pid)("other"),
        )

    async def test_task_started_by_test(self):
        async def write(name):
            await Item.async_objects.acreate(name=name)
            return await Item.async_objects.acount()

        counts = await asyncio.gather(write("task 1"), write("task 2"))
        task = asyncio.create_task(write("task 3"))
        counts.append(await task)
        if async_new_connection is not None:
            # async_new_connection() gives the task the test's connection too.
            counts.append(await async_new_connection(write("new connection")))
        else:
            counts.append(await asyncio.create_task(write("task 4")))
        log(self, "tasks", counts=sorted(counts), sync=await Item.objects.acount())

    async def test_view_behind_async_client(self):
        response = await self.async_client.get("/async-orm/items/", {"name": "view"})
        log(
            self,
            "view",
            response=response.json()["items"],
            sync=[i.name async for i in Item.objects.order_by("name")],
        )

    async def test_async_atomic_is_a_savepoint(self):
        try:
            async with async_atomic():
                await Item.async_objects.acreate(name="undone")
                raise ValueError("undo this block only")
        except ValueError:
            pass
        async with async_atomic(durable=True):  # As atomic(durable=True) in TestCase.
            await Item.async_objects.acreate(name="durable")
        nested_durable = None
        async with async_atomic():
            try:
                async with async_atomic(durable=True):
                    pass
            except RuntimeError as exc:
                nested_durable = str(exc)

        def mixed():
            # Django's atomic() inside the async block's savepoint.
            with transaction.atomic():
                Item.objects.create(name="sync in async")
            return connection.in_atomic_block

        async with async_atomic():
            in_block = await sync_to_async(mixed)()
        log(
            self,
            "atomic",
            names=await async_names(),
            nested_durable=nested_durable,
            in_block=in_block,
        )

    async def test_on_commit_captured(self):
        ran = []

        async def callback():
            ran.append(await Item.async_objects.acount())

        async with self.captureOnCommitCallbacks(execute=True) as callbacks:
            async with async_atomic():
                await async_connections["default"].on_commit(callback)
        log(self, "captured", callbacks=len(callbacks), ran=ran, equal=callbacks[0] == callback)

    async def test_on_commit_never_runs(self):
        async def callback():
            log(self, "on_commit ran")

        async with async_atomic():
            await async_connections["default"].on_commit(callback)
        await async_connections["default"].on_commit(callback)
        log(self, "registered")

    async def test_query_counting(self):
        # Django's query tools on the test's connection count the async ORM's queries.
        async with self.assertNumQueries(2):
            await Item.async_objects.acreate(name="counted")
            await Item.async_objects.acount()
        async with self.captureQueries() as queries:
            await Item.async_objects.filter(name="counted").aexists()
        log(self, "counted", sql=[query["sql"] for query in queries])

    def test_sync_test_async_to_sync(self):
        # A sync test method calling the async ORM through async_to_sync.
        async def create():
            await Item.async_objects.acreate(name="sync test")
            return await Item.async_objects.acount()

        log(self, "sync test", count=async_to_sync(create)(), sync=Item.objects.count())


class TimeoutTests(AsyncTestCase):
    """A stuck async-backend query is cancelled when the time budget runs out."""

    async_timeout = 1

    async def test_stuck_query(self):
        started = time.monotonic()
        self.addCleanup(lambda: log(self, "cleanup", seconds=time.monotonic() - started))
        async with await async_connections["default"].cursor() as cursor:
            await cursor.execute("SELECT pg_sleep(30)")

    async def test_after_stuck_query(self):
        log(self, "after", names=await async_names())


class ForeignThreadTests(AsyncTestCase):
    """The async ORM on a loop of another thread: outside the transaction, refused."""

    async def test_foreign_thread(self):
        def in_thread():
            return asyncio.run(async_pid())

        # asgiref < 3.13 hands the test's routing to the thread with the copied
        # context (its calls then run on the test's worker, in the transaction);
        # 3.13 does not, and the database guard refuses the connection.
        pid = await asyncio.to_thread(in_thread)
        log(self, "foreign", same_session=pid == await sync_to_async(sync_pid)())

    async def test_after_foreign_thread(self):
        log(self, "after foreign", names=await async_names())


class InterleavedAtomicTests(AsyncTestCase):
    """Two tasks whose async_atomic() blocks end out of order: an error, not a wrong savepoint."""

    async def test_interleaved_atomic_blocks(self):
        first_in, second_in = asyncio.Event(), asyncio.Event()

        async def first():
            async with async_atomic():
                await Item.async_objects.acreate(name="first")
                first_in.set()
                await second_in.wait()  # Ends while the second block is open.

        async def second():
            await first_in.wait()
            async with async_atomic():
                await Item.async_objects.acreate(name="second")
                second_in.set()
                await asyncio.sleep(0.1)

        await asyncio.gather(first(), second())

    async def test_after_interleaved_blocks(self):
        log(self, "after interleaved", names=await async_names())


class TransactionTests(AsyncTransactionTestCase):
    """AsyncTransactionTestCase: async writes commit, on-commit callbacks run, then flush."""

    async def test_commits(self):
        ran = []

        async def callback():
            ran.append(await Item.async_objects.acount())

        log(self, "start", names=await async_names())
        async with async_atomic():
            await Item.async_objects.acreate(name="committed")
            await async_connections["default"].on_commit(callback)
        log(
            self,
            "committed",
            ran=ran,
            in_transaction=await sync_to_async(lambda: connection.in_atomic_block)(),
            sync=await Item.objects.acount(),
        )

    async def test_flushed(self):
        log(self, "start", names=await async_names())
        await Item.async_objects.acreate(name="flushed")


class LiveServerTests(AsyncLiveServerTestCase):
    """The live server's thread uses the package's own connection (committed, then closed)."""

    async def test_view_on_the_live_server(self):
        await Item.async_objects.acreate(name="test")
        async with httpx.AsyncClient() as client:
            url = f"{self.live_server_url}/async-orm/items/"
            response = await client.get(url, params={"name": "view"})
        log(self, "live", items=response.json()["items"], sync=await Item.objects.acount())


class ZzAsyncioTestCaseControl(AsyncioTestCase):
    """The control: django-async-backend's own AsyncioTestCase, run after ours.

    Named to sort last (pytest runs classes in file order; Django's runner
    runs plain unittest classes after Django's).
    """

    if pytest is not None:
        # Under pytest-django, sync database access in a plain unittest class
        # needs unblocking (Django's runner does not block it).
        @pytest.fixture(autouse=True)
        def _database_access(self, django_db_blocker):
            with django_db_blocker.unblock():
                yield

    async def test_its_own_class(self):
        # Nothing we wrote is left (our tests ran first).
        names = await async_names()
        await Item.async_objects.acreate(name="theirs")  # Rolled back by its class.

        def write_in_transaction():
            transaction.set_autocommit(False)
            Item.objects.create(name="sync, uncommitted")

        def roll_back():
            transaction.rollback()
            transaction.set_autocommit(True)
            connection.close()  # asgiref's thread's connection: else it keeps the database.

        await sync_to_async(write_in_transaction)()
        try:
            seen = await async_names()
            same_session = await async_pid() == await sync_to_async(sync_pid)()
        finally:
            await sync_to_async(roll_back)()
        log(self, "control", names=names, seen=seen, same_session=same_session)
