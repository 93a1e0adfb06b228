"""Async tests with the classic bugs, on purpose; run by tests/test_guards.py.

No test relies on the order the runners give them: every database test logs
the rows it starts with (CleanStart) and the rows left after its rollback or
flush (LeakCheck), and the meta-tests find in the log which test ran after a
faulty one.
"""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.db import connections
from django.test import override_settings

from django_async_testcase import (
    AsyncSimpleTestCase,
    AsyncTestCase,
    AsyncTransactionTestCase,
    timeout,
)
from tests.cases.case_lifecycle import LeakCheck
from tests.cases.log import log
from tests.testapp.models import Item

# One long-lived worker thread, reused by several tests, as a pool in a project would be.
POOL = ThreadPoolExecutor(1, thread_name_prefix="pool")


class CleanStart(LeakCheck):
    """Log the rows of each alias when the test starts: none, whichever test ran before."""

    def setUp(self):
        super().setUp()
        counts = {alias: Item.objects.using(alias).count() for alias in sorted(self.databases)}
        log(self, "rows_before", counts=counts)


def create(name):
    return Item.objects.create(name=name).pk


def pool_connection_open():
    return connections["default"].connection is not None


# Database access from other threads ----------------------------------------------


class ForeignThreadTests(CleanStart, AsyncTestCase):
    databases = {"default", "other"}

    async def test_a_to_thread(self):
        await Item.objects.acreate(name="own")
        await asyncio.to_thread(create, "to_thread")

    async def test_b_sync_to_async_not_thread_sensitive(self):
        await sync_to_async(Item.objects.using("other").create, thread_sensitive=False)(
            name="unsafe"
        )

    async def test_c_thread_swallows_error(self):
        errors = []

        def target():
            try:
                create("thread")
            except Exception as exc:
                errors.append(type(exc).__name__)

        thread = threading.Thread(target=target, name="my-worker")
        thread.start()
        await asyncio.to_thread(thread.join)
        log(self, "thread errors", errors=errors)

    async def test_d_pool_retries(self):
        # The second attempt from the same thread is refused too.
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            try:
                await loop.run_in_executor(POOL, create, f"pool {attempt}")
            except Exception as exc:
                log(self, "pool attempt", error=type(exc).__name__)

    def test_e_sync_test_thread(self):
        POOL.submit(create, "sync test").exception()

    async def test_f_clean(self):
        log(
            self,
            "clean",
            default=await Item.objects.acount(),
            other=await Item.objects.using("other").acount(),
            pool_open=POOL.submit(pool_connection_open).result(),
        )


class ForeignThreadAllowedTests(CleanStart, AsyncTestCase):
    allow_foreign_thread_db_access = True

    async def test_a_read_from_pool(self):
        count = await asyncio.get_running_loop().run_in_executor(POOL, lambda: Item.objects.count())
        log(self, "allowed read", count=count)

    async def test_b_pool_connection_closed(self):
        log(self, "pool open", open=POOL.submit(pool_connection_open).result())


class TransactionForeignThreadTests(CleanStart, AsyncTransactionTestCase):
    async def test_a_write_from_pool(self):
        await asyncio.get_running_loop().run_in_executor(POOL, create, "pool")
        self.assertEqual(await Item.objects.acount(), 1)

    async def test_b_pool_connection_closed(self):
        log(self, "pool open", open=POOL.submit(pool_connection_open).result())


# Leftover tasks ----------------------------------------------------------------------


async def sleep_forever():
    await asyncio.sleep(3600)


async def boom():
    raise ValueError("boom in background")


async def refuse_to_stop():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass


class LeftoverTaskTests(CleanStart, AsyncTestCase):
    async def test_a_pending(self):
        await Item.objects.acreate(name="before")
        asyncio.create_task(sleep_forever(), name="sleeper")

    async def test_b_background_raised(self):
        asyncio.create_task(boom(), name="boomer")
        await asyncio.sleep(0.01)

    async def test_c_refuses_cancel(self):
        self.task = asyncio.create_task(refuse_to_stop(), name="stubborn")
        await asyncio.sleep(0)

    async def test_d_task_cancelled_but_not_awaited(self):
        task = asyncio.create_task(sleep_forever())
        await asyncio.sleep(0)
        task.cancel()

    async def test_e_clean(self):
        log(self, "clean", tasks=len(asyncio.all_tasks()), rows=await Item.objects.acount())


class LeftoverTaskDebugTests(AsyncSimpleTestCase):
    asyncio_debug = True

    async def test_pending_created_here(self):
        asyncio.create_task(sleep_forever(), name="debug-sleeper")


class LeftoverTaskAllowedTests(AsyncSimpleTestCase):
    allow_leftover_tasks = True

    async def test_pending_allowed(self):
        asyncio.create_task(sleep_forever())
        # Only logged.
        asyncio.create_task(boom(), name="allowed-boomer")
        await asyncio.sleep(0.01)


# Timeouts ------------------------------------------------------------------------------


class TimeoutTests(CleanStart, AsyncTestCase):
    async_timeout = 0.3

    async def asyncSetUp(self):
        log(self, "asyncSetUp")

    async def test_a_hangs(self):
        await Item.objects.acreate(name="before hanging")
        await self.wait_for_ever()

    async def wait_for_ever(self):
        await asyncio.Event().wait()

    @timeout(0.1)
    async def test_b_decorated(self):
        await asyncio.sleep(1)

    @timeout(None)
    async def test_c_no_limit(self):
        await asyncio.sleep(0.5)

    async def test_d_budget_shared_with_teardown(self):
        self.addAsyncCleanup(asyncio.sleep, 0.2)
        await asyncio.sleep(0.2)

    @timeout(0.1)
    async def test_e_blocked_on_the_database_thread(self):
        # Cannot be interrupted; reported once the blocking call returns.
        await sync_to_async(time.sleep)(0.4)
        log(self, "after blocking call")

    async def asyncTearDown(self):
        log(self, "asyncTearDown")

    def tearDown(self):
        log(self, "tearDown")


class TimeoutInSetUpTests(CleanStart, AsyncTestCase):
    async_timeout = 0.2

    async def asyncSetUp(self):
        self.addAsyncCleanup(self.cleanup)
        await asyncio.sleep(10)

    async def cleanup(self):
        log(self, "cleanup")

    async def test_never_runs(self):
        log(self, "test ran")


@override_settings(ASYNC_TESTCASE_TIMEOUT=0.2)
class TimeoutFromSettingTests(AsyncSimpleTestCase):
    async def test_hangs(self):
        await asyncio.sleep(10)


# Forgotten awaits ---------------------------------------------------------------------


class ForgottenAwaitTests(AsyncSimpleTestCase):
    async def test_returns_value(self):
        return 42

    async def test_returns_coroutine(self):
        return asyncio.sleep(0)

    def test_sync_returns_coroutine(self):
        return sleep_forever()

    async def test_not_awaited_without_debug(self):
        asyncio.sleep(0)


class ForgottenAwaitDebugTests(AsyncSimpleTestCase):
    asyncio_debug = True

    async def test_not_awaited(self):
        asyncio.sleep(0)

    async def test_awaited(self):
        await asyncio.sleep(0)


# Tracebacks ----------------------------------------------------------------------------


def helper_that_fails():
    raise AssertionError("failed in helper")


class TracebackTests(CleanStart, AsyncTestCase):
    async def test_assert_in_test(self):
        self.assertEqual(1, 2)

    async def test_fails_in_sync_to_async(self):
        await sync_to_async(helper_that_fails)()

    async def test_fails_in_orm(self):
        await Item.objects.aget(name="does not exist")

    async def test_fails_in_child_task(self):
        await asyncio.gather(sync_to_async(helper_that_fails)())


# Faults ---------------------------------------------------------------------------------


class FaultInAsyncSetUp(CleanStart, AsyncTestCase):
    async def asyncSetUp(self):
        await Item.objects.acreate(name="asyncSetUp")
        raise ValueError("error in asyncSetUp")

    async def test_never(self):
        log(self, "test ran")


class FaultInAsyncTearDown(CleanStart, AsyncTestCase):
    async def test_writes(self):
        await Item.objects.acreate(name="test")

    async def asyncTearDown(self):
        await Item.objects.acreate(name="asyncTearDown")
        raise ValueError("error in asyncTearDown")


class FaultInAsyncCleanup(CleanStart, AsyncTransactionTestCase):
    async def test_writes(self):
        async def cleanup():
            await Item.objects.acreate(name="cleanup")
            raise ValueError("error in async cleanup")

        self.addAsyncCleanup(cleanup)
