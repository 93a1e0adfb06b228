"""Real test classes: async code in a test behaves as in production and in Django's TestCase.

Each check in ``Semantics`` runs four times: on AsyncTestCase and, as the
control, on ``django.test.TestCase``; each with the project's middleware and
with one sync-only middleware in front (Django adapts it with sync_to_async,
and it calls the rest of the chain, the async view included, through
async_to_sync). The ``Ours*`` classes below them fail on purpose or use what
only this library has (timeouts, leftover-task and foreign-thread guards,
asyncio debug mode). Run by tests/test_production_semantics.py.
"""

import asyncio
import logging
import threading
import time
import unittest

import django
import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django import test as django_test
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.dispatch import Signal
from django.http import JsonResponse
from django.test import AsyncRequestFactory, override_settings
from django.urls import path

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase, timeout
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item

# What the views saw, for the test that called them (one test at a time).
SEEN = {}


class SyncOnlyMiddleware:
    """A plain middleware: ``async_capable`` is False, so Django adapts it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        SEEN["middleware_thread"] = threading.current_thread().name
        return self.get_response(request)


async def loop_view(request):
    SEEN["view_loop"] = asyncio.get_running_loop()
    return JsonResponse({})


async def event_view(request):
    # Waits for an asyncio.Event that the test made on its loop.
    SEEN["started"].set()
    await SEEN["event"].wait()
    return JsonResponse({"waited": True})


async def slow_view(request):
    SEEN["view_started"].set()
    try:
        await asyncio.sleep(float(request.GET.get("seconds", "2")))
    except asyncio.CancelledError:
        SEEN["view_cancelled"] = True
        raise
    SEEN["view_finished"] = True
    return JsonResponse({})


async def write_view(request):
    item = await Item.objects.acreate(name=request.GET["name"])
    SEEN["view_connection"] = await sync_to_async(connection_thread)()
    return JsonResponse({"pk": item.pk})


async def leftover_view(request):
    SEEN["task"] = asyncio.create_task(asyncio.sleep(30), name="view-leftover")
    return JsonResponse({})


async def background_view(request):
    # A task that outlives the request, then uses the ORM. Behind a sync-only
    # middleware it is made inside an async_to_sync call that has returned by
    # the time it runs its query (asgiref then walks its executor chain).
    async def later():
        await SEEN["event"].wait()
        item = await Item.objects.acreate(name="background")
        SEEN["background_connection"] = await sync_to_async(connection_thread)()
        return item

    SEEN["task"] = asyncio.create_task(later())
    return JsonResponse({})


async def foreign_thread_view(request):
    await asyncio.to_thread(Item.objects.count)
    return JsonResponse({})


urlpatterns = [
    path("loop/", loop_view),
    path("event/", event_view),
    path("slow/", slow_view),
    path("write/", write_view),
    path("leftover/", leftover_view),
    path("foreign/", foreign_thread_view),
    path("background/", background_view),
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
WITH_SYNC_MIDDLEWARE = [*MIDDLEWARE, f"{__name__}.SyncOnlyMiddleware"]

signal = Signal()


class Semantics:
    """Checks that hold in production: each must pass on Django's TestCase too."""

    def setUp(self):
        SEEN.clear()

    async def test_view_runs_on_the_test_loop(self):
        await self.async_client.get("/loop/")
        self.assertIs(SEEN["view_loop"], asyncio.get_running_loop())

    async def test_view_shares_an_event_with_the_test(self):
        SEEN["started"], SEEN["event"] = asyncio.Event(), asyncio.Event()
        request = asyncio.create_task(self.async_client.get("/event/"))
        await asyncio.wait_for(SEEN["started"].wait(), 5)
        SEEN["event"].set()
        response = await asyncio.wait_for(request, 5)
        self.assertEqual(response.json(), {"waited": True})

    async def test_cancellation_reaches_the_view(self):
        # Cancelled once the view runs: the first request of a process may
        # take longer than any fixed delay to get there on a loaded machine.
        SEEN["view_started"] = asyncio.Event()
        request = asyncio.create_task(self.async_client.get("/slow/?seconds=5"))
        await asyncio.wait_for(SEEN["view_started"].wait(), 10)
        started = time.monotonic()
        request.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await request
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 1.5)
        self.assertEqual(SEEN.get("view_cancelled"), True)
        self.assertNotIn("view_finished", SEEN)
        log(self, "cancelled", elapsed=elapsed)

    async def test_view_writes_in_the_test_transaction(self):
        response = await self.async_client.get("/write/?name=view")
        self.assertEqual(await Item.objects.filter(pk=response.json()["pk"]).acount(), 1)
        self.assertEqual(SEEN["view_connection"], "MainThread")

    async def test_views_background_task_uses_the_orm_after_the_response(self):
        SEEN["event"] = asyncio.Event()
        await self.async_client.get("/background/")
        SEEN["event"].set()
        item = await asyncio.wait_for(SEEN["task"], 5)
        self.assertEqual(await Item.objects.filter(pk=item.pk).acount(), 1)
        self.assertEqual(SEEN["background_connection"], "MainThread")

    async def test_request_factory_view_runs_on_the_test_loop(self):
        await loop_view(AsyncRequestFactory().get("/loop/"))
        self.assertIs(SEEN["view_loop"], asyncio.get_running_loop())

    async def test_asgi_app_through_httpx_runs_on_the_test_loop(self):
        # As Django's test client does: its request signals must not close
        # the test's connection (close_old_connections).
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            transport = httpx.ASGITransport(app=ASGIHandler())
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                response = await c.get("/loop/")
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        self.assertEqual(response.status_code, 200)
        self.assertIs(SEEN["view_loop"], asyncio.get_running_loop())

    async def test_loop_runs_while_sync_code_waits_for_a_task(self):
        done = threading.Event()

        async def set_it():
            await asyncio.sleep(0.05)
            done.set()

        task = asyncio.create_task(set_it())
        started = time.monotonic()
        self.assertTrue(await sync_to_async(done.wait)(2))
        self.assertLess(time.monotonic() - started, 1.5)
        await task

    async def test_timers_run_during_a_sync_call(self):
        ticks = []

        async def heartbeat():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        task = asyncio.create_task(heartbeat())
        await asyncio.sleep(0)
        await sync_to_async(time.sleep)(0.3)
        task.cancel()
        log(self, "ticks", count=len(ticks))
        self.assertGreaterEqual(len(ticks), 4)

    async def test_nested_async_to_sync_runs_on_the_test_loop(self):
        async def where():
            await Item.objects.acreate(name="nested")
            return asyncio.get_running_loop()

        loop = await sync_to_async(async_to_sync(where))()
        self.assertIs(loop, asyncio.get_running_loop())
        self.assertEqual(await Item.objects.filter(name="nested").acount(), 1)

    @unittest.skipIf(django.VERSION < (5, 0), "async signal receivers need Django 5.0")
    async def test_async_receiver_of_a_sync_send_runs_on_the_test_loop(self):
        loops = []

        async def receiver(sender, **kwargs):
            loops.append(asyncio.get_running_loop())

        signal.connect(receiver, weak=False)
        try:
            await sync_to_async(signal.send)(sender=None)
        finally:
            signal.disconnect(receiver)
        self.assertEqual(loops, [asyncio.get_running_loop()])


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE)
class OursTests(Semantics, AsyncTestCase):
    pass


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=WITH_SYNC_MIDDLEWARE)
class OursSyncMiddlewareTests(Semantics, AsyncTestCase):
    pass


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=WITH_SYNC_MIDDLEWARE)
class OursTransactionSyncMiddlewareTests(Semantics, AsyncTransactionTestCase):
    pass


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE)
class DjangoTests(Semantics, django_test.TestCase):
    pass


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=WITH_SYNC_MIDDLEWARE)
class DjangoSyncMiddlewareTests(Semantics, django_test.TestCase):
    pass


class LogsRowsAfter:
    """Logs the rows left once Django has rolled the test back (there must be none)."""

    def _post_teardown(self):
        super()._post_teardown()
        log(self, "rows_after", rows=Item.objects.count())


class Guarded(LogsRowsAfter):
    """What only this library checks; each test fails on purpose, and leaves nothing."""

    def setUp(self):
        SEEN.clear()

    @timeout(0.5)
    async def test_a_timeout_fires_while_a_view_waits(self):
        SEEN["started"], SEEN["event"] = asyncio.Event(), asyncio.Event()
        await Item.objects.acreate(name="rolled back")
        await self.async_client.get("/event/")  # Never set: hangs without the timeout.

    async def test_a_views_leftover_task_fails_the_test(self):
        await self.async_client.get("/write/?name=rolled-back")
        await self.async_client.get("/leftover/")

    async def test_a_views_foreign_thread_access_fails_the_test(self):
        await self.async_client.get("/foreign/")


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=MIDDLEWARE)
class GuardedTests(Guarded, AsyncTestCase):
    pass


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=WITH_SYNC_MIDDLEWARE)
class GuardedSyncMiddlewareTests(Guarded, AsyncTestCase):
    pass


class DebugModeTests(AsyncTestCase):
    """asyncio's debug mode reports the user's slow code, not the library's."""

    asyncio_debug = True

    async def test_slow_sync_calls_are_not_reported(self):
        with self.assertNoLogs("asyncio", logging.WARNING):
            await sync_to_async(time.sleep)(0.15)
            await Item.objects.acreate(name="debug")
            self.assertEqual(await Item.objects.acount(), 1)

    async def test_slow_user_code_is_reported(self):
        with self.assertLogs("asyncio", logging.WARNING) as logs:
            time.sleep(0.15)  # Blocks the loop: asyncio says so.
            await asyncio.sleep(0)
        self.assertIn("took", "\n".join(logs.output))


class HungSyncCallTests(LogsRowsAfter, AsyncTestCase):
    """A sync call that outlives its test: the timeout fires, the test fails, the next runs."""

    @timeout(0.3)
    async def test_hung_sync_call(self):
        await Item.objects.acreate(name="rolled back")
        log(self, "started", at=time.monotonic())
        await sync_to_async(time.sleep)(2.5)

    async def test_loop_run_inside_sync_code_is_refused(self):
        async def count():
            return await Item.objects.acount()

        def sync_code():
            # A new loop in the worker thread, whose ORM calls would wait for
            # that very thread: refused, as asgiref refuses it under Django's
            # TestCase ("cannot submit onto CurrentThreadExecutor from its own thread").
            return asyncio.run(count())

        with self.assertRaisesRegex(RuntimeError, "from the test's database worker thread"):
            await sync_to_async(sync_code)()
        log(self, "finished", at=time.monotonic())
