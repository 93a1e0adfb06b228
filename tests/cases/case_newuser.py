"""What a new user hit (issue 13): forgotten awaits, frozen clocks, bad settings.

Run by tests/test_newuser.py under Django's runner and under pytest. Most
tests here fail on purpose; the meta-test checks each message.
"""

import asyncio
import time
import unittest

import django
import time_machine
from django.core.handlers.asgi import ASGIHandler
from django.test import override_settings
from freezegun import freeze_time

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from django_async_testcase.guards import timeout
from tests.cases.log import log
from tests.testapp.models import Item

# What names and places the coroutine of an unawaited ``async_client.get()``:
# Django 5.0 made AsyncClient.get a coroutine function; 4.2's get returns the
# coroutine of AsyncClient.request, made too deep for its origin to be tracked.
CLIENT_GET, CLIENT_GET_WHERE = (
    ("AsyncClient.get", "made at")
    if django.VERSION >= (5, 0)
    else ("AsyncClient.request", "still unstarted at")
)


class Resource:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        return None


# Forgotten awaits fail by default ------------------------------------------------------


class NeverAwaitedTests(AsyncTestCase):
    async def test_a_orm_call_not_awaited(self):
        Item.objects.acreate(name="forgotten")

    async def test_b_enter_async_context_not_awaited(self):
        self.enterAsyncContext(Resource())

    async def test_c_not_awaited_in_async_set_up(self):
        await asyncio.sleep(0)

    async def asyncSetUp(self):
        if self._testMethodName == "test_c_not_awaited_in_async_set_up":
            asyncio.sleep(0)

    async def test_d_awaited_and_closed(self):
        await Item.objects.acreate(name="awaited")
        coro = asyncio.sleep(0)
        coro.close()  # Closed on purpose: not a forgotten await.
        self.assertEqual(await Item.objects.acount(), 1)

    def test_e_sync_test_not_awaited(self):
        asyncio.sleep(0)


class NeverAwaitedAllowedTests(AsyncSimpleTestCase):
    allow_never_awaited = True

    async def test_not_awaited_allowed(self):
        asyncio.sleep(0)


class AddAsyncCleanupWithCoroutineTests(AsyncSimpleTestCase):
    async def cleanup(self):
        pass

    async def test_coroutine_passed(self):
        with self.assertRaises(TypeError) as caught:
            self.addAsyncCleanup(self.cleanup())
        log(self, "error", message=str(caught.exception))


# Frozen clocks -------------------------------------------------------------------------


class FrozenClockTests(AsyncSimpleTestCase):
    async_timeout = 1

    def setUp(self):
        self.started = time.perf_counter()

    def tearDown(self):
        log(self, "took", seconds=time.perf_counter() - self.started)

    @freeze_time("2020-01-01")
    async def test_a_frozen(self):
        await asyncio.sleep(0.01)

    @freeze_time("2020-01-01", real_asyncio=True)
    async def test_b_frozen_real_asyncio(self):
        await asyncio.sleep(0.01)
        log(self, "now", year=__import__("datetime").date.today().year)

    @time_machine.travel("2020-01-01", tick=False)
    async def test_c_time_machine(self):
        await asyncio.sleep(0.01)
        log(self, "now", year=__import__("datetime").date.today().year)


@freeze_time("2020-01-01")
class FrozenClassTests(AsyncSimpleTestCase):
    async_timeout = 1

    async def test_frozen_for_the_class(self):
        await asyncio.sleep(0.01)


class MethodSettingTimeoutTests(AsyncSimpleTestCase):
    @override_settings(ASYNC_TESTCASE_TIMEOUT=0.2)
    async def test_hangs(self):
        await asyncio.sleep(10)


# Django's own request tasks left pending ------------------------------------------------


@unittest.skipIf(django.VERSION < (5, 0), "Django's ASGIHandler has its own tasks from 5.0")
class DjangoHandlerTaskTests(AsyncSimpleTestCase):
    async def test_request_task_left(self):
        never = asyncio.Event()

        async def receive():
            await never.wait()

        # Kept referenced, as Django's handler keeps its tasks: an unreferenced
        # pending task may be garbage-collected before the test ends (then
        # reported as "Task was destroyed but it is pending", not as a leftover).
        self.task = asyncio.get_running_loop().create_task(
            ASGIHandler().listen_for_disconnect(receive)
        )
        await asyncio.sleep(0)


# Bad input -------------------------------------------------------------------------------


def returns_none():
    return None


def returns_closed_loop():
    loop = asyncio.new_event_loop()
    loop.close()
    return loop


class LoopFactoryNoneTests(AsyncSimpleTestCase):
    loop_factory = returns_none  # A plain function: no staticmethod needed.

    async def test_it(self):
        log(self, "test body ran")


class LoopFactoryClosedTests(AsyncSimpleTestCase):
    loop_factory = returns_closed_loop

    async def test_it(self):
        log(self, "test body ran")


class NanTimeoutTests(AsyncSimpleTestCase):
    async_timeout = float("nan")

    async def test_it(self):
        log(self, "test body ran")


class DebugNotBoolTests(AsyncSimpleTestCase):
    asyncio_debug = "no"

    async def test_it(self):
        log(self, "test body ran")


class SyncTimeoutTests(AsyncSimpleTestCase):
    @timeout(0.1)
    def test_sync(self):
        log(self, "test body ran")


# A forgotten await whose coroutine the failing frame still holds (issue 18) -------------


class ForgottenAwaitTests(AsyncTestCase):
    async def test_client_get_not_awaited(self):
        response = self.async_client.get("/items/")
        self.assertEqual(response.status_code, 200)


async def pause():
    pass


class ForgottenAwaitAllowedTests(AsyncSimpleTestCase):
    allow_never_awaited = True  # No origin tracked: the note names the line that failed.

    async def test_sleep_not_awaited(self):
        pending = pause()
        pending.done()
