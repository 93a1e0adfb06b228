"""django-async-backend's true-async ORM in function-style tests (run with its settings).

tests/test_async_backend.py runs this file with ``--ds tests.settings_async_backend``.
Each test first checks that no row of an earlier test is left. Without the
plugin (the control), the async ORM does not see a sync fixture's rows, its
writes are committed (the later tests see them), and its connection keeps the
test database open (pytest-django cannot drop it).
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

try:
    from django_async_backend.db import async_connections
    from django_async_backend.db.transaction import async_atomic
except ImportError:  # Optional: tests/test_async_backend.py skips then.
    pass

pytestmark = mark


async def names():
    return [item.name async for item in Item.async_objects.order_by("name")]


@pytest.fixture
def sync_row(db):
    Item.objects.create(name="sync fixture")


@async_fixture
async def async_row(db):
    await Item.async_objects.acreate(name="async fixture")
    yield
    assert await Item.objects.filter(name="async fixture").aexists()


async def test_sees_sync_fixture(sync_row):
    assert await names() == ["sync fixture"]
    await Item.async_objects.acreate(name="test")
    assert await Item.objects.acount() == 2


def test_sync_test_async_to_sync(sync_row):
    # A sync test calling the async ORM through async_to_sync: same transaction.
    async def create_and_count():
        await Item.async_objects.acreate(name="sync test")
        return await Item.async_objects.acount()

    assert async_to_sync(create_and_count)() == Item.objects.count() == 2


async def test_async_fixture(async_row):
    assert await names() == ["async fixture"]


async def test_task_and_view(db, async_client):
    async def write(name):
        await Item.async_objects.acreate(name=name)

    await asyncio.gather(write("task 1"), write("task 2"))
    response = await async_client.get("/async-orm/items/", {"name": "view"})
    assert response.json()["items"] == ["task 1", "task 2", "view"]
    assert await Item.objects.acount() == 3


async def test_savepoint_and_on_commit(db, django_capture_on_commit_callbacks):
    ran = []

    async def callback():
        ran.append(await Item.async_objects.acount())

    try:
        async with async_atomic():
            await Item.async_objects.acreate(name="undone")
            raise ValueError
    except ValueError:
        pass
    async with django_capture_on_commit_callbacks(execute=True) as callbacks:
        async with async_atomic(durable=True):
            await Item.async_objects.acreate(name="kept")
            await async_connections["default"].on_commit(callback)
    assert (len(callbacks), ran) == (1, [1])


@pytest.mark.django_db(transaction=True)
async def test_transaction_true_commits():
    assert await Item.objects.acount() == 0
    async with async_atomic():
        await Item.async_objects.acreate(name="committed")
    assert not await sync_to_async(lambda: connection.in_atomic_block)()


@pytest.mark.async_timeout(1)
async def test_stuck_query_cancelled(db):
    async with await async_connections["default"].cursor() as cursor:
        await cursor.execute("SELECT pg_sleep(30)")


async def test_zz_nothing_left(db):
    assert await names() == []
