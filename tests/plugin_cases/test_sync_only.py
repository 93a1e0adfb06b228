"""Sync tests and the test case classes: the same outcomes with and without the plugin."""

import pytest

from django_async_testcase import AsyncTestCase
from tests.testapp.models import Item


@pytest.mark.django_db
def test_sync_db():
    Item.objects.create(name="sync")
    assert Item.objects.count() == 1


@pytest.mark.django_db
def test_sync_db_rolled_back():
    assert Item.objects.count() == 0


def test_no_db():
    with pytest.raises(RuntimeError, match="Database access not allowed"):
        Item.objects.count()


class ClassTests(AsyncTestCase):
    async def test_class(self):
        await Item.objects.acreate(name="class")
        self.assertEqual(await Item.objects.acount(), 1)

    async def test_class_rolled_back(self):
        self.assertEqual(await Item.objects.acount(), 0)
