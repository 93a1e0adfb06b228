"""Every database call of a function-style async test is rolled back.

Each test first checks that no row of an earlier test is left, then writes.
Without the plugin (the control), rows are committed: later tests see them
(PostgreSQL, MariaDB), or SQLite reports "database table is locked".
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


async def count(using="default"):
    return await Item.objects.using(using).acount()


@pytest.mark.django_db
async def test_orm_calls():
    assert await count() == 0
    await Item.objects.acreate(name="test")
    await sync_to_async(Item.objects.create)(name="sync_to_async")
    assert await count() == 2


@async_fixture
async def async_row(db):
    await Item.objects.acreate(name="async fixture")
    yield
    assert await Item.objects.filter(name="async fixture").aexists()


async def test_async_fixture(async_row):
    assert await count() == 1


@pytest.fixture
def sync_row():
    # No `db` argument: the test's mark gives access.
    Item.objects.create(name="sync fixture")


@pytest.fixture
def sync_row_db(db):
    Item.objects.create(name="sync fixture with db")


@pytest.mark.django_db
async def test_sync_fixtures_are_seen(sync_row, sync_row_db):
    # Without the plugin: invisible on PostgreSQL, "table is locked" on SQLite.
    assert await count() == 2
    await Item.objects.acreate(name="test")


@pytest.mark.django_db
async def test_async_client(async_client):
    assert await count() == 0
    response = await async_client.get("/items/create/", {"name": "via client"})
    assert response.status_code == 200
    assert (await async_client.get("/items/")).json() == {"items": ["via client"]}


@pytest.mark.django_db
async def test_gather():
    assert await count() == 0
    await asyncio.gather(*(Item.objects.acreate(name=f"g{i}") for i in range(5)))
    assert await count() == 5


@pytest.mark.django_db(databases=["default", "other"])
async def test_aliases():
    assert await count() == 0 and await count("other") == 0
    await Item.objects.using("other").acreate(name="other")
    await Item.objects.acreate(name="default")
    assert await count("other") == 1


@pytest.mark.django_db(databases="__all__")
async def test_all_databases():
    assert await count("other") == 0
    await Item.objects.using("other").acreate(name="other")


@pytest.mark.django_db(transaction=True)
async def test_transaction_true_flushes():
    assert await count() == 0
    await Item.objects.acreate(name="committed, then flushed")


async def test_transactional_db(transactional_db):
    assert await count() == 0
    await Item.objects.acreate(name="committed, then flushed")


@pytest.mark.django_db(databases=["default", "other"])
def test_zz_nothing_left():
    assert Item.objects.count() == 0
    assert Item.objects.using("other").count() == 0
