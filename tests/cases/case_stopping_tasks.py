"""Real test classes: tasks on their way out at the end of a test are not leftovers.

Each check runs on AsyncTestCase and, as the control, on django.test.TestCase
(which has no leftover-task guard: every check passes there). Code that is
already stopping its tasks when the test ends must pass, whatever the
scheduling and whenever the garbage collector runs; a task nobody asked to
stop is still a leftover. Run by tests/test_stopping_tasks.py.
"""

import asyncio
import gc

from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from django import test as django_test

from django_async_testcase import AsyncTestCase

try:
    from channels.consumer import AsyncConsumer
    from channels.generic.websocket import WebsocketConsumer
    from channels.testing import HttpCommunicator, WebsocketCommunicator
except ImportError:  # Channels is optional.
    channels_missing = True
else:
    channels_missing = False

    class SimpleHttpApp(AsyncConsumer):
        """Channels' documented HttpCommunicator example: a plain AsyncConsumer."""

        async def http_request(self, event):
            await self.send({"type": "http.response.start", "status": 200, "headers": []})
            await self.send({"type": "http.response.body", "body": b"test response"})

    class EchoWebsocketApp(WebsocketConsumer):
        def connect(self):
            self.accept()

        def receive(self, text_data=None, bytes_data=None):
            self.send(text_data=text_data, bytes_data=bytes_data)


async def sleep_forever():
    await asyncio.sleep(3600)


async def owner_of_two_children(started, names):
    """Owns two children; on its way out cancels and awaits each in turn.

    The shape of Channels' ``await_many_dispatch``: while the first child is
    being awaited, the second is pending and not yet asked to stop.
    """
    children = [asyncio.create_task(sleep_forever(), name=name) for name in names]
    started.set()
    try:
        await sleep_forever()
    finally:
        for child in children:
            child.cancel()
            try:
                await child
            except asyncio.CancelledError:
                pass


class Owner:
    """Stops its task when it is destroyed, as asgiref's ApplicationCommunicator does."""

    def __init__(self):
        self.task = asyncio.create_task(sleep_forever(), name="owned-by-a-cycle")
        self.me = self  # A reference cycle: only the garbage collector frees it.

    def __del__(self):
        self.task.cancel()


async def echo_app(scope, receive, send):
    """An ASGI application that echoes each message until it is told to stop."""
    while True:
        message = await receive()
        if message["type"] == "stop":
            return
        await send({"type": "echo", "of": message["type"]})


#: Communicators kept alive past the end of their test.
KEPT = []


async def communicator_kept_alive():
    """A communicator whose application runs; kept alive after the test (never stopped)."""
    communicator = ApplicationCommunicator(echo_app, {"type": "test"})
    await communicator.send_input({"type": "hello"})
    assert await communicator.receive_output(timeout=10) == {"type": "echo", "of": "hello"}
    KEPT.append(communicator)


async def communicator_held_by_a_handled_exception():
    """Channels' test_session_saves shape: a sync_to_async call made while an exception is
    handled (Django's SessionStore.aget) keeps it with its traceback, so this frame and the
    communicator, in a reference cycle that a single garbage collection may not free."""
    communicator = ApplicationCommunicator(echo_app, {"type": "test"})
    await communicator.send_input({"type": "hello"})
    assert await communicator.receive_output(timeout=10) == {"type": "echo", "of": "hello"}
    try:
        raise LookupError("not cached")
    except LookupError:
        await sync_to_async(len)("load")


class Stopping:
    async def test_task_cancels_its_children_on_the_way_out(self):
        started = asyncio.Event()
        owner = asyncio.create_task(owner_of_two_children(started, ["first", "second"]))
        await started.wait()
        owner.cancel()  # Not awaited: it is on its way out when the test returns.

    async def test_owner_freed_by_the_garbage_collector_stops_its_task(self):
        # With the collector off until the test has ended, the owner is alive
        # then in every run (it turns on again when the class ends).
        gc.disable()
        Owner()
        await asyncio.sleep(0)

    async def test_a_child_nobody_stops_is_a_leftover(self):
        started = asyncio.Event()
        stopping = asyncio.create_task(owner_of_two_children(started, ["stopped"]))
        asyncio.create_task(sleep_forever(), name="nobody-stops-me")
        await started.wait()
        stopping.cancel()

    async def test_communicator_alive_at_the_end(self):
        await communicator_kept_alive()

    async def test_communicator_held_by_a_handled_exception(self):
        gc.disable()
        await communicator_held_by_a_handled_exception()

    if not channels_missing:

        async def test_http_communicator_on_a_plain_consumer(self):
            communicator = HttpCommunicator(SimpleHttpApp(), "GET", "/test/")
            response = await communicator.get_response(timeout=10)
            self.assertEqual(response["status"], 200)

        async def test_websocket_communicator_without_disconnect(self):
            communicator = WebsocketCommunicator(EchoWebsocketApp(), "/testws/")
            connected, _ = await communicator.connect(timeout=10)
            self.assertTrue(connected)
            await communicator.send_to(text_data="hello")
            self.assertEqual(await communicator.receive_from(timeout=10), "hello")

        async def test_websocket_communicator_in_a_reference_cycle(self):
            gc.disable()
            communicator = WebsocketCommunicator(EchoWebsocketApp(), "/testws/")
            connected, _ = await communicator.connect(timeout=10)
            self.assertTrue(connected)
            communicator.me = communicator  # As a pytest.raises frame would keep it.

    @classmethod
    def tearDownClass(cls):
        gc.enable()
        super().tearDownClass()


class OursTests(Stopping, AsyncTestCase):
    pass


class DjangoTests(Stopping, django_test.TestCase):
    pass
