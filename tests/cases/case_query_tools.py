"""assertNumQueries, captureQueries and captureOnCommitCallbacks in coroutines and sync code.

Tests whose names end in ``_fails`` fail on purpose: tests/test_query_tools.py
checks their messages.
"""

import asyncio
import threading

from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections, transaction

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item


def sql_of(queries):
    return [query["sql"] for query in queries]


class QueryCounts:
    """Shared by the TestCase and the TransactionTestCase versions."""

    databases = {"default", "other"}

    def setUp(self):
        with self.assertNumQueries(1):
            Item.objects.create(name="setUp")

    async def asyncSetUp(self):
        async with self.assertNumQueries(1):
            await Item.objects.acreate(name="asyncSetUp")
        with self.assertNumQueries(1):
            await Item.objects.acount()
        self.addAsyncCleanup(self.cleanup)

    async def cleanup(self):
        async with self.assertNumQueries(1, using="other"):
            await Item.objects.using("other").acreate(name="cleanup")

    async def asyncTearDown(self):
        with self.assertNumQueries(1):
            await Item.objects.acreate(name="asyncTearDown")

    def tearDown(self):
        with self.assertNumQueries(1):
            Item.objects.create(name="tearDown")

    async def test_with(self):
        with self.assertNumQueries(2) as context:
            await Item.objects.acreate(name="a")
            await Item.objects.acount()
        log(self, "counted", sql=sql_of(context.captured_queries))

    async def test_async_with(self):
        async with self.assertNumQueries(2) as context:
            await Item.objects.acreate(name="a")
            self.assertEqual(await Item.objects.acount(), 3)
        log(self, "counted", sql=sql_of(context.captured_queries))

    async def test_using_other_alias(self):
        async with self.assertNumQueries(1, using="other"):
            await Item.objects.using("other").acreate(name="other")
            await Item.objects.acount()  # On "default": not counted.
        with self.assertNumQueries(0, using="other"):
            await Item.objects.acount()

    async def test_concurrent_tasks_are_counted(self):
        async with self.assertNumQueries(4):
            await asyncio.gather(*(Item.objects.acreate(name=f"g{i}") for i in range(4)))

    async def test_in_child_task(self):
        async def child():
            async with self.assertNumQueries(1):
                await Item.objects.acount()

        await asyncio.create_task(child())

    async def test_inside_nested_async_to_sync(self):
        # The test's thread then serves asgiref's executor, not the test's.
        async def count():
            async with self.assertNumQueries(1):
                await Item.objects.acount()
            with self.assertNumQueries(1):
                await Item.objects.acount()

        def sync_helper():
            async_to_sync(asyncio.wait_for)(count(), 10)

        await sync_to_async(sync_helper)()

    async def test_through_async_client(self):
        async with self.assertNumQueries(1):
            response = await self.async_client.get("/items/")
        self.assertEqual(response.json()["items"], ["asyncSetUp", "setUp"])

    async def test_callable_form_runs_on_the_test_thread(self):
        threads = []

        def work():
            threads.append(threading.current_thread().name)
            Item.objects.create(name="callable")

        self.assertNumQueries(1, work)
        self.assertEqual(threads, ["MainThread"])

    def test_sync_unchanged(self):
        with self.assertNumQueries(1) as context:
            Item.objects.count()
        log(self, "sync context", type=type(context).__name__)

    async def test_loop_thread_connection_is_not_the_one_counted(self):
        # What the helpers work around: in the test's coroutine, django.db.connections
        # gives another connection than the one the ORM uses on the database worker.
        loop_connection = connections["default"]
        test_connection = await sync_to_async(lambda: connections["default"])()
        self.assertIsNot(loop_connection, test_connection)

    async def test_atomic_block(self):
        def create_in_atomic_block():
            with transaction.atomic():
                Item.objects.create(name="atomic")

        async with self.captureQueries() as captured:
            await sync_to_async(create_in_atomic_block)()
        log(self, "atomic block", statements=[query["sql"].split()[0] for query in captured])

    async def test_exception_in_block_propagates(self):
        with self.assertRaisesMessage(ValueError, "raised in block"):
            async with self.assertNumQueries(5):
                await Item.objects.acount()
                raise ValueError("raised in block")

    async def test_async_with_fails(self):
        async with self.assertNumQueries(1):
            await Item.objects.acreate(name="counted twice")
            await Item.objects.acount()

    async def test_with_fails(self):
        with self.assertNumQueries(3):
            await Item.objects.acount()


class QueryCountTests(QueryCounts, AsyncTestCase):
    pass


class TransactionQueryCountTests(QueryCounts, AsyncTransactionTestCase):
    pass


class CaptureQueriesTests(AsyncTestCase):
    databases = {"default", "other"}

    async def test_async_with(self):
        async with self.captureQueries() as captured:
            await Item.objects.acreate(name="a")
            await Item.objects.filter(name="a").aexists()
        self.assertEqual(len(captured), 2)
        self.assertIn("INSERT", captured[0]["sql"])
        log(self, "captured", sql=[query["sql"] for query in captured])

    async def test_with_and_returned_object(self):
        capture = self.captureQueries(using="other")
        with capture:
            await Item.objects.using("other").acount()
            await Item.objects.acount()
        self.assertEqual(len(capture), 1)
        self.assertEqual(len(capture.captured_queries), 1)
        self.assertEqual([q["sql"] for q in capture], [capture[0]["sql"]])

    async def test_exited_by_cleanups(self):
        # Cleanups run last in, first out: the log comes after both exits.
        self.addCleanup(
            lambda: log(
                self, "exited by cleanups", counts=[len(in_async_cleanup), len(in_sync_cleanup)]
            )
        )
        in_async_cleanup = await self.enterAsyncContext(self.captureQueries())
        in_sync_cleanup = self.captureQueries()
        in_sync_cleanup.__enter__()
        self.addCleanup(in_sync_cleanup.__exit__, None, None, None)
        await Item.objects.acount()

    async def test_entered_twice(self):
        capture = self.captureQueries()
        async with capture:
            pass
        with self.assertRaisesMessage(RuntimeError, "can be entered only once"):
            async with capture:
                pass

    async def test_read_before_entering(self):
        with self.assertRaisesMessage(RuntimeError, "Enter the captureQueries() block"):
            len(self.captureQueries())

    def test_sync_unchanged(self):
        with self.captureQueries() as captured:
            Item.objects.count()
        self.assertEqual(len(captured), 1)
        log(self, "sync context", type=type(captured).__name__)


class OnCommitTests(AsyncTestCase):
    databases = {"default", "other"}

    async def register(self, callback, using="default", robust=False):
        await sync_to_async(transaction.on_commit)(callback, using=using, robust=robust)

    async def test_async_with_captures(self):
        ran = []
        async with self.captureOnCommitCallbacks() as callbacks:
            await self.register(lambda: ran.append("callback"))
        self.assertEqual((len(callbacks), ran), (1, []))
        callbacks[0]()
        self.assertEqual(ran, ["callback"])

    async def test_with_captures(self):
        with self.captureOnCommitCallbacks() as callbacks:
            await self.register(print)
        self.assertEqual(callbacks, [print])

    async def test_other_alias(self):
        async with self.captureOnCommitCallbacks(using="other") as callbacks:
            await self.register(print, using="other")
            await self.register(repr)
        self.assertEqual(callbacks, [print])

    async def execute(self, use_async_with):
        ran = []

        def nested():
            ran.append(("nested", connection_thread()))

        def callback():
            ran.append(("callback", connection_thread()))
            Item.objects.create(name="from callback")
            transaction.on_commit(nested)

        if use_async_with:
            async with self.captureOnCommitCallbacks(execute=True) as callbacks:
                await self.register(callback)
        else:
            with self.captureOnCommitCallbacks(execute=True) as callbacks:
                await self.register(callback)
        self.assertEqual(callbacks, [callback, nested])
        self.assertEqual(ran, [("callback", "MainThread"), ("nested", "MainThread")])
        self.assertEqual(await Item.objects.filter(name="from callback").acount(), 1)

    async def test_async_with_execute(self):
        await self.execute(use_async_with=True)

    async def test_with_execute(self):
        await self.execute(use_async_with=False)

    async def test_robust_callback_error_is_logged(self):
        def broken():
            raise ValueError("robust callback")

        with self.assertLogs("django.test", "ERROR") as logs:
            async with self.captureOnCommitCallbacks(execute=True) as callbacks:
                await self.register(broken, robust=True)
                await self.register(print)
        self.assertEqual(callbacks, [broken, print])
        self.assertIn("robust callback", logs.output[0])

    async def test_callback_error_propagates(self):
        def broken():
            raise ValueError("plain callback")

        with self.assertRaisesMessage(ValueError, "plain callback"):
            async with self.captureOnCommitCallbacks(execute=True):
                await self.register(broken)

    def test_sync_unchanged(self):
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            transaction.on_commit(print)
        self.assertEqual(callbacks, [print])

    async def test_real_commit_never_happens(self):
        ran = []
        await self.register(lambda: ran.append("committed"))
        self.addCleanup(lambda: log(self, "after test", ran=list(ran)))
