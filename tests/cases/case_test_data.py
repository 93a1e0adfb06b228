"""asyncSetUpTestData on AsyncTestCase: class-wide data, per-test isolation, errors, misuse."""

import asyncio
import threading
import unittest

from asgiref.sync import sync_to_async
from django.db import connections, transaction
from django.test import TestCase
from django.test.testcases import TestData

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item


def db_state(alias="default"):
    """(thread name, in a transaction) of the connection the ORM uses here."""
    return connection_thread(alias), connections[alias].in_atomic_block


def row_counts(aliases=("default", "other")):
    return {alias: Item.objects.using(alias).count() for alias in aliases}


class LogRowsAfterClass:
    """Log each alias's row count once the class's transaction is rolled back."""

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        log(None, "rows after class", cls=cls.__name__, counts=row_counts())


class TestDataTests(LogRowsAfterClass, AsyncTestCase):
    databases = {"default", "other"}

    @classmethod
    def setUpTestData(cls):
        cls.sync_item = Item.objects.create(name="setUpTestData")
        log(None, "setUpTestData")

    @classmethod
    async def asyncSetUpTestData(cls):
        loop_thread = threading.current_thread().name
        names = [item.name async for item in Item.objects.order_by("pk")]
        log(
            None,
            "asyncSetUpTestData",
            loop_thread=loop_thread,
            db=await sync_to_async(db_state)(),
            other=await sync_to_async(db_state)("other"),
            names=names,
            sees_sync_attribute=cls.sync_item.name,
        )
        cls.item = await Item.objects.acreate(name="asyncSetUpTestData")
        cls.other_item = await Item.objects.using("other").acreate(name="other")
        cls.payload = {"seen_by": []}
        cls.sync_item = await Item.objects.aget(name="setUpTestData")
        ran = []
        async with cls.captureOnCommitCallbacks(execute=True) as callbacks:
            await sync_to_async(transaction.on_commit)(lambda: ran.append(connection_thread()))
        log(None, "on commit in asyncSetUpTestData", captured=len(callbacks), ran=ran)

    async def check_isolation(self):
        self.assertEqual(self.payload, {"seen_by": []})
        self.assertEqual(self.item.name, "asyncSetUpTestData")
        self.payload["seen_by"].append(self._testMethodName)
        self.item.name = "changed"
        await self.item.asave()
        await Item.objects.acreate(name=self._testMethodName)
        self.assertEqual(await Item.objects.acount(), 3)
        self.assertEqual(await Item.objects.using("other").acount(), 1)

    async def test_a(self):
        await self.check_isolation()
        log(self, "descriptors", names=sorted(_test_data_names(type(self))))

    async def test_b(self):
        await self.check_isolation()

    def test_sync(self):
        self.assertEqual(self.payload, {"seen_by": []})
        self.assertEqual(Item.objects.get(pk=self.item.pk).name, "asyncSetUpTestData")
        self.payload["seen_by"].append("sync")


def _test_data_names(cls):
    return [name for name, value in vars(cls).items() if isinstance(value, TestData)]


class FailingTestDataTests(AsyncTestCase):
    databases = {"default", "other"}

    @classmethod
    async def asyncSetUpTestData(cls):
        await Item.objects.acreate(name="doomed")
        await Item.objects.using("other").acreate(name="doomed")
        cls.addClassCleanup(cls.log_leftovers)
        raise ValueError("boom in asyncSetUpTestData")

    @classmethod
    def log_leftovers(cls):
        log(None, "leftovers after failed set-up", counts=row_counts())

    def test_never_runs(self):
        log(self, "ran")


SET_UP_STATE = {}


class LoopTaskTestData(AsyncTestCase):
    """Tasks left by asyncSetUpTestData are cancelled; the loop is not the tests' loop."""

    @classmethod
    async def asyncSetUpTestData(cls):
        SET_UP_STATE["loop"] = asyncio.get_running_loop()
        SET_UP_STATE["leftover"] = asyncio.create_task(asyncio.sleep(3600))

    async def test_leftover_cancelled(self):
        self.assertTrue(SET_UP_STATE["leftover"].cancelled())
        self.assertTrue(SET_UP_STATE["loop"].is_closed())
        self.assertIsNot(asyncio.get_running_loop(), SET_UP_STATE["loop"])


class NoTransactionsTestData(AsyncTestCase):
    """As on a backend without transactions: Django runs setUpTestData before each test."""

    databases = {"default", "other"}
    runs = 0

    @classmethod
    def _databases_support_transactions(cls):
        return False

    @classmethod
    def setUpTestData(cls):
        log(None, "no transactions: setUpTestData")

    @classmethod
    async def asyncSetUpTestData(cls):
        cls.runs += 1
        cls.item = await Item.objects.acreate(name="per test")
        await Item.objects.using("other").acreate(name="per test")
        log(None, "no transactions: asyncSetUpTestData", db=await sync_to_async(db_state)())

    async def test_a(self):
        await self.check()

    async def test_b(self):
        await self.check()

    async def check(self):
        self.assertEqual(await Item.objects.acount(), 1)
        self.assertEqual(await Item.objects.using("other").acount(), 1)
        self.assertFalse(isinstance(vars(type(self))["item"], TestData))
        await Item.objects.acreate(name="flushed")


@unittest.skipUnless(
    hasattr(TestCase, "_databases_support_savepoints"), "Django < 5.2 ignores savepoints"
)
class NoSavepointsTestData(AsyncTestCase):
    """As on a backend without savepoints: per-test transaction and data."""

    @classmethod
    def _databases_support_savepoints(cls):
        return False

    @classmethod
    async def asyncSetUpTestData(cls):
        cls.item = await Item.objects.acreate(name="per test")
        log(None, "no savepoints: asyncSetUpTestData", db=await sync_to_async(db_state)())

    async def test_a(self):
        self.assertEqual(await Item.objects.acount(), 1)

    async def test_b(self):
        self.assertEqual(await Item.objects.acount(), 1)


class NotAClassmethod(AsyncTestCase):
    async def asyncSetUpTestData(cls):
        pass

    def test_it(self):
        log(self, "ran")


class SyncTestData(AsyncTestCase):
    @classmethod
    def asyncSetUpTestData(cls):
        pass

    def test_it(self):
        log(self, "ran")


class TestDataOnTransactionTestCase(AsyncTransactionTestCase):
    @classmethod
    async def asyncSetUpTestData(cls):
        pass

    def test_it(self):
        log(self, "ran")
