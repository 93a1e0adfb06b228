"""Objects made with factory_boy and model_bakery in setUp and asyncSetUp; run by
tests/test_neighbours.py.

Factories are sync: in asyncSetUp they are called through ``sync_to_async``,
as users would, and so run on the test's thread, inside its transaction.
"""

import factory
from asgiref.sync import sync_to_async
from model_bakery import baker

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.case_lifecycle import LeakCheck
from tests.cases.log import log
from tests.testapp.models import Item


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    name = factory.Sequence(lambda n: f"factory {n}")


class Factories:
    def setUp(self):
        self.sync_made = [ItemFactory(name="sync factory"), baker.make(Item, name="sync baker")]

    async def asyncSetUp(self):
        self.async_made = [
            await sync_to_async(ItemFactory)(name="async factory"),
            *await sync_to_async(baker.make)(Item, name="async baker", _quantity=2),
        ]

    async def test_visible_to_async_orm(self):
        names = sorted([item.name async for item in Item.objects.all()])
        log(self, "names", names=names)
        self.assertEqual(
            names, ["async baker", "async baker", "async factory", "sync baker", "sync factory"]
        )
        made = self.sync_made + self.async_made
        self.assertEqual(await Item.objects.filter(pk__in=[i.pk for i in made]).acount(), 5)

    async def test_factory_in_test(self):
        batch = await sync_to_async(ItemFactory.create_batch)(3)
        self.assertEqual(await Item.objects.acount(), 8)
        self.assertEqual(await Item.objects.aget(pk=batch[0].pk), batch[0])

    def test_sync_method(self):
        self.assertEqual(Item.objects.count(), 5)
        baker.make(Item)
        self.assertEqual(Item.objects.count(), 6)


class FactoryTests(LeakCheck, Factories, AsyncTestCase):
    pass


class TransactionFactoryTests(LeakCheck, Factories, AsyncTransactionTestCase):
    pass
