"""Hooks defined async where unittest or Django call them synchronously."""

from unittest import IsolatedAsyncioTestCase

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import log
from tests.testapp.models import Item


class AsyncSetUpDefined(AsyncSimpleTestCase):
    async def setUp(self):
        log(self, "async setUp body ran")

    async def test_it(self):
        log(self, "test body ran")


class AsyncTearDownDefined(AsyncSimpleTestCase):
    async def tearDown(self):
        log(self, "async tearDown body ran")

    def test_it(self):
        log(self, "test body ran")


class AsyncSetUpClassDefined(AsyncSimpleTestCase):
    @classmethod
    async def setUpClass(cls):
        log(None, "async setUpClass body ran")

    def test_it(self):
        log(self, "test body ran")


class AsyncTearDownClassDefined(AsyncSimpleTestCase):
    @classmethod
    async def tearDownClass(cls):
        log(None, "async tearDownClass body ran")

    def test_it(self):
        log(self, "test body ran")


class AsyncSetUpTestDataDefined(AsyncTestCase):
    @classmethod
    async def setUpTestData(cls):
        log(None, "async setUpTestData body ran")

    def test_it(self):
        log(self, "test body ran")


class AsyncSetUpClassMixin:
    @classmethod
    async def setUpClass(cls):
        log(None, "async setUpClass of a mixin ran")


class AsyncSetUpClassInherited(AsyncSetUpClassMixin, AsyncSimpleTestCase):
    def test_it(self):
        log(self, "test body ran")


class SyncAsyncSetUp(AsyncSimpleTestCase):
    def asyncSetUp(self):
        log(self, "sync asyncSetUp body ran")

    def test_it(self):
        log(self, "test body ran")


class ReturnsValue(AsyncSimpleTestCase):
    async def test_returns_value(self):
        return 42

    def test_returns_coroutine(self):
        async def forgotten():
            pass

        return forgotten()


# IsolatedAsyncioTestCase in front of AsyncTestCase: its hooks would replace the
# library's, and the row would be committed (issue 18). Refused at setUpClass.
class MixinInFront(IsolatedAsyncioTestCase, AsyncTestCase):
    async def asyncSetUp(self):
        await Item.objects.acreate(name="leaked by the mix-in")
        log(self, "row written")

    async def test_it(self):
        log(self, "test body ran")


# Behind it, harmless: the library's hooks win.
class MixinBehind(AsyncTestCase, IsolatedAsyncioTestCase):
    async def asyncSetUp(self):
        await Item.objects.acreate(name="rolled back")

    async def test_it(self):
        log(self, "rows", count=await Item.objects.acount())


# Runs after the two above under both runners (same kind of class, later name).
class RowsAfterMixins(AsyncTestCase):
    async def test_it(self):
        log(self, "rows", count=await Item.objects.acount())
