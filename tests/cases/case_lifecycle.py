"""Real test classes exercising the lifecycle; run by tests/test_lifecycle.py."""

import asyncio
import contextvars
import threading
import unittest

from asgiref.sync import async_to_sync, sync_to_async
from django.db import connections

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item

try:
    import uvloop
except ImportError:  # Not on Windows, nor some Pythons.
    uvloop = None

VAR = contextvars.ContextVar("VAR", default="unset")


def db_state(alias="default"):
    """(thread name, in a transaction) of the connection the ORM uses here."""
    return connection_thread(alias), connections[alias].in_atomic_block


class LeakCheck:
    """Log the row count of each alias after the test's rollback or flush."""

    def _post_teardown(self):
        super()._post_teardown()
        counts = {alias: Item.objects.using(alias).count() for alias in sorted(self.databases)}
        log(self, "rows_after", counts=counts)


class Order:
    """Logs every step with the context variable and the loop it sees."""

    def setUp(self):
        log(self, "setUp", var=VAR.get(), thread=threading.current_thread().name)
        VAR.set("setUp")
        self.addCleanup(self.sync_cleanup, "first")
        self.addAsyncCleanup(self.async_cleanup, "second")

    async def asyncSetUp(self):
        log(self, "asyncSetUp", var=VAR.get())
        VAR.set("asyncSetUp")
        self.loop = asyncio.get_running_loop()
        self.queue = asyncio.Queue()
        self.consumer = asyncio.create_task(self.queue.get())
        self.addCleanup(self.sync_cleanup, "third")
        previous = getattr(type(self), "previous_loop", None)
        if previous is not None:
            log(
                self,
                "previous_loop",
                closed=previous.is_closed(),
                different=previous is not self.loop,
            )
        type(self).previous_loop = self.loop

    async def test_async(self):
        log(self, "test", var=VAR.get(), same_loop=asyncio.get_running_loop() is self.loop)
        VAR.set("test")
        await self.queue.put("item")
        self.assertEqual(await self.consumer, "item")

    def test_sync(self):
        log(self, "test", var=VAR.get(), same_loop=None)
        VAR.set("test")
        self.consumer.cancel()

    async def asyncTearDown(self):
        log(self, "asyncTearDown", var=VAR.get(), same_loop=asyncio.get_running_loop() is self.loop)
        VAR.set("asyncTearDown")

    def tearDown(self):
        log(self, "tearDown", var=VAR.get())
        VAR.set("tearDown")

    def sync_cleanup(self, name):
        log(self, f"cleanup {name}", var=VAR.get())

    async def async_cleanup(self, name):
        log(
            self,
            f"cleanup {name}",
            var=VAR.get(),
            same_loop=asyncio.get_running_loop() is self.loop,
        )


class SimpleOrderTests(Order, AsyncSimpleTestCase):
    pass


class OrderTests(LeakCheck, Order, AsyncTestCase):
    pass


class TransactionOrderTests(LeakCheck, Order, AsyncTransactionTestCase):
    pass


class Writes:
    """Write rows in every step, on every alias; check they are visible and on the test's thread."""

    databases = {"default", "other"}

    def setUp(self):
        Item.objects.create(name="setUp")
        Item.objects.using("other").create(name="setUp")

    async def asyncSetUp(self):
        await Item.objects.acreate(name="asyncSetUp")
        await Item.objects.using("other").acreate(name="asyncSetUp")
        log(
            self,
            "asyncSetUp db",
            state=await sync_to_async(db_state)(),
            other=await sync_to_async(db_state)("other"),
        )
        self.addAsyncCleanup(self.cleanup)

    async def test_writes(self):
        self.assertEqual(await Item.objects.acount(), 2)
        self.assertEqual(await Item.objects.using("other").acount(), 2)
        await Item.objects.acreate(name="test")
        names = [item.name async for item in Item.objects.order_by("pk")]
        log(self, "test db", state=await sync_to_async(db_state)(), names=names)

    async def test_gather(self):
        await asyncio.gather(*(Item.objects.acreate(name=f"g{i}") for i in range(5)))
        self.assertEqual(await Item.objects.acount(), 7)

    def test_sync_method(self):
        self.assertEqual(Item.objects.count(), 2)
        Item.objects.create(name="sync test")

    async def asyncTearDown(self):
        await Item.objects.acreate(name="asyncTearDown")

    def tearDown(self):
        Item.objects.create(name="tearDown")

    async def cleanup(self):
        await Item.objects.using("other").acreate(name="cleanup")
        log(self, "cleanup db", state=await sync_to_async(db_state)())


class WritesTests(LeakCheck, Writes, AsyncTestCase):
    pass


class TransactionWritesTests(LeakCheck, Writes, AsyncTransactionTestCase):
    pass


class LoopSettingsTests(AsyncSimpleTestCase):
    asyncio_debug = True
    made = []

    @staticmethod
    def loop_factory():
        loop = asyncio.new_event_loop()
        LoopSettingsTests.made.append(loop)
        return loop

    async def test_loop_factory_and_debug(self):
        loop = asyncio.get_running_loop()
        log(self, "loop", from_factory=loop is self.made[-1], debug=loop.get_debug())


@unittest.skipIf(uvloop is None, "uvloop is not installed")
class UvloopTests(LeakCheck, AsyncTestCase):
    """A third-party event loop: database calls run on the test's database worker too,
    while the loop keeps running (the other task runs during the call)."""

    loop_factory = None if uvloop is None else staticmethod(uvloop.new_event_loop)

    async def asyncSetUp(self):
        await Item.objects.acreate(name="asyncSetUp")

    async def test_database_calls(self):
        loop = asyncio.get_running_loop()
        ran = []

        async def other():
            ran.append("other")

        task = asyncio.create_task(other())
        state = await sync_to_async(db_state)()
        yielded = ran == ["other"]
        await task

        async def nested():
            return await Item.objects.acount()

        nested_count = await sync_to_async(lambda: async_to_sync(nested)())()
        log(
            self,
            "uvloop",
            loop=type(loop).__module__,
            state=state,
            yielded=yielded,
            counts=[await Item.objects.acount(), nested_count],
        )


class DebugOffTests(AsyncSimpleTestCase):
    asyncio_debug = False

    async def test_debug_off(self):
        log(self, "loop", debug=asyncio.get_running_loop().get_debug())


class Hooks(AsyncSimpleTestCase):
    """Used by DebugAndMisuseTests, not collected (no test methods of its own)."""

    events = []

    def setUp(self):
        self.events.append("setUp")

    async def asyncSetUp(self):
        self.loop = asyncio.get_running_loop()
        self.events.append("asyncSetUp")

    async def run_me(self):
        self.events.append(("test", asyncio.get_running_loop() is self.loop))

    async def fail_me(self):
        raise ValueError("boom in debug")

    async def asyncTearDown(self):
        self.events.append(("asyncTearDown", asyncio.get_running_loop() is self.loop))

    def tearDown(self):
        self.events.append("tearDown")


class DebugAndMisuseTests(AsyncSimpleTestCase):
    def test_debug_runs_hooks_on_one_loop(self):
        Hooks.events.clear()
        Hooks("run_me").debug()
        self.assertEqual(
            Hooks.events,
            ["setUp", "asyncSetUp", ("test", True), ("asyncTearDown", True), "tearDown"],
        )

    def test_debug_lets_error_propagate(self):
        with self.assertRaisesMessage(ValueError, "boom in debug"):
            Hooks("fail_me").debug()

    def test_run_from_running_loop_is_an_error(self):
        result = unittest.TestResult()

        async def main():
            Hooks("run_me")(result)

        asyncio.run(main())
        self.assertEqual(len(result.errors), 1, result.errors)
        self.assertIn("whose event loop is running", result.errors[0][1])

    async def test_add_async_cleanup_rejects_sync_function(self):
        with self.assertRaisesMessage(TypeError, "addAsyncCleanup() needs a coroutine function"):
            self.addAsyncCleanup(print)

    async def test_enter_async_context_rejects_sync_cm(self):
        with self.assertRaisesMessage(TypeError, "asynchronous context manager protocol"):
            await self.enterAsyncContext(open(__file__))

    async def test_enter_async_context(self):
        events = []

        class CM:
            async def __aenter__(self):
                events.append("enter")
                return "value"

            async def __aexit__(self, *exc):
                events.append("exit")

        self.addCleanup(lambda: self.assertEqual(events, ["enter", "exit"]))
        self.assertEqual(await self.enterAsyncContext(CM()), "value")


class AsyncTestsMixin:
    """A plain mixin (not a TestCase) holding an async test."""

    async def test_from_mixin(self):
        await Item.objects.acreate(name="from mixin")
        log(self, "mixin test", state=await sync_to_async(db_state)())


class MixinTests(LeakCheck, AsyncTestsMixin, AsyncTestCase):
    pass
