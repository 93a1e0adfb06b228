"""Channels' communicators and database_sync_to_async inside AsyncTestCase."""

import asyncio
import contextvars
import unittest

from asgiref.sync import sync_to_async
from django.core.asgi import get_asgi_application
from django.db import close_old_connections, connections

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.case_live_server import other_sessions
from tests.cases.log import log
from tests.testapp.models import Item

try:
    from channels.db import database_sync_to_async
    from channels.generic.websocket import AsyncJsonWebsocketConsumer
    from channels.testing import ApplicationCommunicator, HttpCommunicator, WebsocketCommunicator
except ImportError:  # Channels is optional.
    channels_missing = True
else:
    channels_missing = False

    class ItemsConsumer(AsyncJsonWebsocketConsumer):
        async def connect(self):
            await self.accept()
            await self.send_json({"items": await self.names()})

        async def receive_json(self, content):
            await self.create(content["name"])
            await self.send_json({"items": await self.names()})

        @database_sync_to_async
        def names(self):
            return list(Item.objects.order_by("name").values_list("name", flat=True))

        @database_sync_to_async
        def create(self, name):
            Item.objects.create(name=name)


async def count_app(scope, receive, send):
    """A bare ASGI application that counts rows with database_sync_to_async."""
    await receive()
    count = await database_sync_to_async(Item.objects.count)()
    await send({"type": "count", "count": count})


def connection_state():
    """The test connection's state: still the same DB connection, still usable."""
    connection = connections["default"]
    return {
        "in_atomic": connection.in_atomic_block,
        "closed_in_transaction": connection.closed_in_transaction,
        "raw": id(connection.connection),
    }


# Channels' communicators time out after 1 s by default. That is not what these
# tests check, and on a loaded machine the first request of a process (imports,
# URL resolving, middleware loading) can take longer: give each step 10 s.
STEP = 10


class Channels:
    @classmethod
    def setUpClass(cls):
        # The first class cleanup runs last, after Django's own.
        cls.addClassCleanup(cls.log_class_end)
        super().setUpClass()

    @classmethod
    def log_class_end(cls):
        log(
            None,
            "class end",
            cls=cls.__name__,
            rows=Item.objects.count(),
            other_sessions=other_sessions(),
            guard_left="close_if_unusable_or_obsolete" in vars(connections["default"]),
        )

    @classmethod
    def setUpTestData(cls):
        Item.objects.create(name="class")

    def setUp(self):
        Item.objects.create(name="setUp")

    async def asyncSetUp(self):
        self.state = await sync_to_async(connection_state)()

    async def test_websocket_communicator(self):
        communicator = WebsocketCommunicator(ItemsConsumer.as_asgi(), "/ws/")
        connected, _ = await communicator.connect(timeout=STEP)
        self.assertTrue(connected)
        first = await communicator.receive_json_from(timeout=STEP)
        await communicator.send_json_to({"name": "sent"})
        second = await communicator.receive_json_from(timeout=STEP)
        await communicator.disconnect(timeout=STEP)
        log(self, "websocket", first=first["items"], second=second["items"])
        log(self, "test sees", count=await Item.objects.acount())
        await self.check_connection()

    async def test_application_communicator(self):
        await Item.objects.acreate(name="test")
        communicator = ApplicationCommunicator(count_app, {"type": "test"})
        await communicator.send_input({"type": "go"})
        message = await communicator.receive_output(timeout=STEP)
        await communicator.wait(timeout=STEP)
        log(self, "app count", count=message["count"])
        await self.check_connection()

    async def test_database_sync_to_async_directly(self):
        await database_sync_to_async(Item.objects.create)(name="direct")
        names = await database_sync_to_async(
            lambda: list(Item.objects.order_by("name").values_list("name", flat=True))
        )()
        log(self, "direct", names=names)
        await self.check_connection()

    async def test_django_asgi_handler(self):
        communicator = HttpCommunicator(get_asgi_application(), "GET", "/items/")
        response = await communicator.get_response(timeout=STEP)
        # get_response() returns once the body has arrived, while Django's
        # handler is still finishing the request (response.close(), through
        # sync_to_async on the test's thread): wait for it, or the handler's
        # task may still be pending when the test ends, which fails the test
        # (LeftoverTasks), depending on thread timing. See the docs' example.
        await communicator.wait(timeout=STEP)
        log(self, "asgi", status=response["status"], body=response["body"].decode())
        await self.check_connection()

    async def test_close_old_connections(self):
        await sync_to_async(close_old_connections)()
        await self.check_connection()

    async def check_connection(self):
        state = await sync_to_async(connection_state)()
        log(self, "connection", same=state == self.state, state=state, before=self.state)
        self.assertEqual(state, self.state)
        # The connection still works in the test's transaction.
        self.assertGreaterEqual(await Item.objects.acount(), 2)

    def _post_teardown(self):
        super()._post_teardown()
        log(self, "rows_after", count=Item.objects.count())


@unittest.skipIf(channels_missing, "Channels is not installed")
class ChannelsTests(Channels, AsyncTestCase):
    pass


@unittest.skipIf(channels_missing, "Channels is not installed")
class TransactionChannelsTests(Channels, AsyncTransactionTestCase):
    async def test_close_old_connections(self):
        await sync_to_async(close_old_connections)()
        await self.check_connection()

    async def check_connection(self):
        # Outside a transaction, close_old_connections may replace the
        # connection (CONN_MAX_AGE = 0); only the rows matter here.
        self.assertGreaterEqual(await Item.objects.acount(), 1)


def counting_loop():
    """A loop with a task factory of its own, which the test's routing must keep."""
    loop = asyncio.new_event_loop()

    def task_factory(loop, coro, **kwargs):
        EmptyContextTaskTests.factory_calls += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(task_factory)
    return loop


class EmptyContextTaskTests(AsyncTestCase):
    """What Channels' communicators do, without Channels: a task in an empty context."""

    loop_factory = staticmethod(counting_loop)
    factory_calls = 0

    async def test_task_in_empty_context(self):
        await Item.objects.acreate(name="test")
        calls = self.factory_calls
        task = contextvars.Context().run(asyncio.create_task, Item.objects.acount())
        log(
            self,
            "empty context",
            count=await task,
            same_connection=await contextvars.Context().run(
                asyncio.create_task, sync_to_async(connection_state)()
            )
            == self.state,
            factory_called=self.factory_calls > calls,
        )

    async def asyncSetUp(self):
        self.state = await sync_to_async(connection_state)()
