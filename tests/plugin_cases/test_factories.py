"""factory_boy, model_bakery and pytest-factoryboy in sync fixtures of async tests.

The sync fixtures run on pytest's main thread, in the test's transaction,
with or without a ``db`` argument. Without the plugin (the control), the async
test's ORM runs on asgiref's thread with another connection: the fixtures'
rows are invisible to it (PostgreSQL, MariaDB) or the table is locked
(SQLite), and its own rows are committed.
"""

import factory
import pytest
from asgiref.sync import sync_to_async
from model_bakery import baker
from pytest_factoryboy import register

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    name = factory.Sequence(lambda n: f"item {n}")


# pytest-factoryboy: fixtures `item` (a created Item) and `item_factory`.
register(ItemFactory)


@pytest.fixture
def factory_rows():
    # No `db` argument: the test's mark gives access.
    ItemFactory.create_batch(2)


@pytest.fixture
def factory_rows_db(db):
    ItemFactory.create(name="with db")


@pytest.fixture
def baked():
    baker.make(Item, _quantity=2)


@pytest.fixture
def baked_db(db):
    baker.make(Item, name="baked with db")


@pytest.mark.django_db
async def test_factory_boy(factory_rows, factory_rows_db):
    assert await Item.objects.acount() == 3
    assert await Item.objects.filter(name="with db").aexists()
    await Item.objects.acreate(name="test")


@pytest.mark.django_db
async def test_model_bakery(baked, baked_db):
    assert await Item.objects.acount() == 3
    await Item.objects.acreate(name="test")


@pytest.mark.django_db
async def test_pytest_factoryboy(item, item_factory):
    await sync_to_async(item_factory.create)(name="more")
    assert await Item.objects.acount() == 2
    assert await Item.objects.filter(pk=item.pk).aexists()


@pytest.mark.django_db
def test_zz_nothing_left():
    assert Item.objects.count() == 0
