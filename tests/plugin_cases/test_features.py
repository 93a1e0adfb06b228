"""pytest-django's database options on async tests served by the plugin.

serialized_rollback, reset_sequences, databases=[...] with transaction=True,
and live_server with transactional_db: all transactional (pytest-django runs
them after the other tests, in file order). Each test first checks that
nothing of an earlier test is left. The same outcomes without the plugin (these tests
commit, so the plugin has nothing to keep in a transaction): the meta-test
checks that the plugin changes nothing here.
"""

import httpx
import pytest
from django.contrib.contenttypes.models import ContentType

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


async def count(using="default"):
    return await Item.objects.using(using).acount()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_serialized_rollback_deletes():
    assert await ContentType.objects.aexists()
    await ContentType.objects.all().adelete()
    await Item.objects.acreate(name="committed, then flushed")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_serialized_rollback_restored():
    # The rows serialized when the test database was made are back.
    assert await ContentType.objects.filter(app_label="testapp", model="item").aexists()
    assert await count() == 0


@pytest.mark.django_db(transaction=True)
async def test_sequence_advances():
    assert await count() == 0
    await Item.objects.acreate(name="a")
    await Item.objects.acreate(name="b")


@pytest.mark.django_db(reset_sequences=True)
async def test_reset_sequences():
    assert await count() == 0
    item = await Item.objects.acreate(name="first")
    assert item.pk == 1


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
async def test_aliases_transaction_true():
    assert await count() == 0 and await count("other") == 0
    await Item.objects.using("other").acreate(name="other, committed then flushed")
    await Item.objects.acreate(name="default, committed then flushed")
    assert await count("other") == 1


async def test_live_server(transactional_db, live_server):
    assert await count() == 0
    await Item.objects.acreate(name="written by the test")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        # The server's thread sees the test's committed row, and writes its own.
        assert (await client.get("/items/")).json() == {"items": ["written by the test"]}
        response = await client.get("/items/create/", params={"name": "written by the server"})
        assert response.status_code == 200
        await Item.objects.acreate(name="written while serving")
        names = (await client.get("/items/")).json()["items"]
    assert names == ["written by the server", "written by the test", "written while serving"]
    assert await count() == 3
