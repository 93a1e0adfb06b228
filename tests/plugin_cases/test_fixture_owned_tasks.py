"""Function tests: a task the test starts and a fixture stops is not a leftover.

The tasks a test leaves are judged after the tear-down of its async generator
fixtures, as the classes judge after asyncTearDown and the cleanups: a fixture
may own what the test starts (an asgiref ApplicationCommunicator, which every
Channels communicator is; a list of tasks it cancels). A task nobody stops
still fails, by name. The control (-p no:django_async_testcase) has no
leftover-task guard: everything passes there.
"""

import asyncio
import contextlib

import pytest
from asgiref.testing import ApplicationCommunicator

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark

STOPPED = []


async def echo_app(scope, receive, send):
    """An ASGI application that echoes each message until it is told to stop."""
    while True:
        message = await receive()
        if message["type"] == "stop":
            STOPPED.append(scope["name"])
            return
        await send({"type": "echo", "of": message["type"]})


@async_fixture
async def communicator(db):
    STOPPED.clear()
    communicator = ApplicationCommunicator(echo_app, {"type": "test", "name": "fixture"})
    yield communicator
    # The application task the test started is stopped here, not cancelled before.
    await communicator.send_input({"type": "stop"})
    await communicator.wait(timeout=10)
    assert STOPPED == ["fixture"]


@pytest.mark.django_db
async def test_communicator_the_fixture_stops(communicator):
    await communicator.send_input({"type": "hello"})
    assert await communicator.receive_output(timeout=10) == {"type": "echo", "of": "hello"}
    assert await Item.objects.acount() == 0


async def cancel_and_await(tasks):
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


@async_fixture
async def tasks(db):
    tasks = []
    yield tasks
    await cancel_and_await(tasks)


@pytest.mark.django_db
async def test_tasks_the_fixture_cancels(tasks):
    tasks.append(asyncio.create_task(asyncio.sleep(3600)))
    tasks.append(asyncio.create_task(Item.objects.filter(name="x").aexists()))
    await asyncio.sleep(0)


@pytest.mark.django_db
async def test_a_task_nobody_stops_fails_after_the_fixtures(tasks):
    tasks.append(asyncio.create_task(asyncio.sleep(3600)))
    asyncio.create_task(asyncio.sleep(3600), name="nobody-stops-me")
    await asyncio.sleep(0)


@async_fixture
async def early_tasks():
    """Set up before the test's database (the test asks for `db` after it): torn down after."""
    tasks = []
    yield tasks
    await cancel_and_await(tasks)


async def test_fixture_set_up_before_the_database(early_tasks, db):
    early_tasks.append(asyncio.create_task(asyncio.sleep(3600)))
    await asyncio.sleep(0)
