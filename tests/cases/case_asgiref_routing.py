"""Real test classes: every thread-sensitive call reaches the test's thread and transaction.

Covers the private asgiref touch-point, _compat.route_thread_sensitive_calls.
Each test logs what the database code it triggers saw: the thread it ran on,
whether that thread's connection was inside an atomic block (AsyncTestCase's
transaction) and how many rows it could see. In AsyncTestCase the row written
by setUp is only visible to the same connection inside the same transaction.
Run by tests/test_asgiref_routing.py.
"""

import asyncio
import json
import unittest

import django
from asgiref.sync import ThreadSensitiveContext, async_to_sync, sync_to_async
from django.core.exceptions import SynchronousOnlyOperation
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.db.models.signals import post_save
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item


def db_state():
    """What the database code sees on the thread it runs on."""
    return {
        "thread": connection_thread(),
        "in_atomic": connection.in_atomic_block,
        "rows": Item.objects.count(),
    }


async def state_view(request):
    """Write a row with the async ORM, then report the state a sync helper sees."""
    await Item.objects.acreate(name=request.GET["name"])
    return JsonResponse(await sync_to_async(db_state)())


urlpatterns = [path("state/", state_view)]


async def asgi_get(url):
    """GET ``url`` through Django's ASGIHandler, as an ASGI server would; the JSON body."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    # The request body, then nothing until the handler stops listening.
    incoming = asyncio.Queue()
    incoming.put_nowait({"type": "http.request", "body": b"", "more_body": False})
    sent = []

    async def send(message):
        sent.append(message)

    await ASGIHandler()(scope, incoming.get, send)
    status = sent[0]["status"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


class Routing:
    """One row is written by setUp, on the test's thread (in the test's transaction)."""

    def setUp(self):
        Item.objects.create(name="setUp")

    def _post_teardown(self):
        super()._post_teardown()
        log(self, "rows_after", rows=Item.objects.count())

    async def test_sync_to_async(self):
        log(self, "state", **await sync_to_async(db_state)())

    async def test_sync_to_async_in_child_tasks(self):
        states = await asyncio.gather(*(sync_to_async(db_state)() for _ in range(3)))
        states.append(await asyncio.create_task(sync_to_async(db_state)()))
        for state in states:
            log(self, "state", **state)

    async def test_async_orm(self):
        await Item.objects.acreate(name="test")
        log(self, "state", **await sync_to_async(db_state)(), orm_rows=await Item.objects.acount())

    async def test_thread_sensitive_context(self):
        async with ThreadSensitiveContext():
            log(self, "state", **await sync_to_async(db_state)())

    async def test_sync_orm_call_is_refused(self):
        # As in production: sync database code in a coroutine is an error.
        with self.assertRaises(SynchronousOnlyOperation):
            Item.objects.count()
        log(self, "state", **await sync_to_async(db_state)())

    async def test_await_yields_to_other_tasks(self):
        # As in production, awaiting a database call lets ready tasks run.
        ran = []

        async def other():
            ran.append("other")

        task = asyncio.create_task(other())
        state = await sync_to_async(db_state)()
        self.assertEqual(ran, ["other"])
        await task
        log(self, "state", **state)

    async def test_nested_async_to_sync(self):
        # Sync code that runs a coroutine with async_to_sync: its database
        # calls still reach the test's thread and transaction.
        async def write_and_report():
            await Item.objects.acreate(name="nested")
            return await sync_to_async(db_state)()

        def sync_code():
            return async_to_sync(write_and_report)()

        log(self, "state", **await sync_to_async(sync_code)())

    @unittest.skipIf(django.VERSION < (5, 0), "async signal receivers need Django 5.0")
    async def test_async_signal_receiver(self):
        # Saving sends post_save from sync code: Django runs async receivers
        # through async_to_sync.
        states = []

        async def receiver(sender, instance, **kwargs):
            states.append(await sync_to_async(db_state)())

        post_save.connect(receiver, sender=Item, weak=False)
        self.addCleanup(post_save.disconnect, receiver, sender=Item)
        await Item.objects.acreate(name="signal")
        self.assertEqual(len(states), 1)
        log(self, "state", **states[0])

    async def test_async_client(self):
        response = await self.async_client.get("/state/", {"name": "client"})
        self.assertEqual(response.status_code, 200, response.content)
        log(self, "state", **response.json())

    async def test_asgi_handler(self):
        # ASGIHandler opens a ThreadSensitiveContext per request. Like Django's
        # test client, keep the request signals from closing the test's connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            status, body = await asgi_get("/state/?name=asgi")
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        self.assertEqual(status, 200, body)
        log(self, "state", **json.loads(body))


@override_settings(ROOT_URLCONF=__name__)
class RoutingTests(Routing, AsyncTestCase):
    pass


@override_settings(ROOT_URLCONF=__name__)
class TransactionRoutingTests(Routing, AsyncTransactionTestCase):
    pass
