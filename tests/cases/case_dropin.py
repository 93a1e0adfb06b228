"""Patterns of existing Django test suites that must keep working on our bases."""

import asyncio

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import log
from tests.testapp.models import Item


class AwaitOtherTestMethodTests(AsyncTestCase):
    """An async test awaiting another (parametrised) async test method, as Django's suite does."""

    async def test_create(self, name="default"):
        await Item.objects.acreate(name=name)

    async def test_create_named(self):
        await self.test_create(name="named")
        names = [item.name async for item in Item.objects.all()]
        log(self, "awaited", names=names)

    def test_sync_calls_async_test(self):
        # A sync step cannot wait for a coroutine of its own test: an error, not a hang.
        with self.assertRaisesMessage(RuntimeError, "make the caller `async def`"):
            self.test_create(name="from sync")
        log(self, "sync called", names=[item.name for item in Item.objects.all()])


class AwaitOtherSimpleTests(AsyncSimpleTestCase):
    async def test_base(self, value=1):
        await asyncio.sleep(0)
        self.value = value

    async def test_calls_base(self):
        await self.test_base(value=2)
        log(self, "awaited", value=self.value)
