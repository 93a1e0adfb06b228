"""Function tests: tasks on their way out are not leftovers; a task nobody stops is.

The same shapes as tests/cases/case_stopping_tasks.py (the classes), as pytest
functions, plus a view's background task behind a sync-only middleware that
uses the ORM once the response is sent (asgiref's executor chain). The
control (-p no:django_async_testcase) has no leftover-task guard: everything
but the ORM rows' check passes there too.
"""

import asyncio
import gc

import pytest
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path

from tests.cases.case_stopping_tasks import (
    Owner,
    channels_missing,
    communicator_held_by_a_handled_exception,
    communicator_kept_alive,
    owner_of_two_children,
)
from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = [mark, pytest.mark.django_db]

SEEN = {}


class SyncOnlyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)


async def background_view(request):
    async def later():
        await SEEN["event"].wait()
        return await Item.objects.acreate(name="background")

    SEEN["task"] = asyncio.create_task(later())
    return JsonResponse({})


urlpatterns = [path("background/", background_view)]


async def test_task_cancels_its_children_on_the_way_out():
    started = asyncio.Event()
    owner = asyncio.create_task(owner_of_two_children(started, ["first", "second"]))
    await started.wait()
    owner.cancel()


@pytest.fixture
def collector_off():
    """The garbage collector off until the test has ended: the owner is alive then."""
    gc.disable()
    yield
    gc.enable()


async def test_owner_freed_by_the_garbage_collector_stops_its_task(collector_off):
    Owner()
    await asyncio.sleep(0)


async def test_a_child_nobody_stops_is_a_leftover():
    started = asyncio.Event()
    stopping = asyncio.create_task(owner_of_two_children(started, ["stopped"]))
    asyncio.create_task(asyncio.sleep(3600), name="nobody-stops-me")
    await started.wait()
    stopping.cancel()


async def test_communicator_alive_at_the_end():
    await communicator_kept_alive()


async def test_communicator_held_by_a_handled_exception(collector_off):
    await communicator_held_by_a_handled_exception()


@override_settings(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[f"{__name__}.SyncOnlyMiddleware"],
)
async def test_views_background_task_uses_the_orm_after_the_response(async_client):
    SEEN["event"] = asyncio.Event()
    await async_client.get("/background/")
    SEEN["event"].set()
    item = await asyncio.wait_for(SEEN["task"], 5)
    assert await Item.objects.filter(pk=item.pk).acount() == 1


@pytest.mark.skipif(channels_missing, reason="Channels is not installed")
async def test_websocket_communicator_without_disconnect():
    from channels.testing import WebsocketCommunicator

    from tests.cases.case_stopping_tasks import EchoWebsocketApp

    communicator = WebsocketCommunicator(EchoWebsocketApp(), "/testws/")
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.send_to(text_data="hello")
    assert await communicator.receive_from(timeout=10) == "hello"


@pytest.mark.skipif(channels_missing, reason="Channels is not installed")
async def test_http_communicator_on_a_plain_consumer():
    from channels.testing import HttpCommunicator

    from tests.cases.case_stopping_tasks import SimpleHttpApp

    communicator = HttpCommunicator(SimpleHttpApp(), "GET", "/test/")
    response = await communicator.get_response(timeout=10)
    assert response["status"] == 200
