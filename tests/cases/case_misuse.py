"""Hooks defined async where unittest or Django call them synchronously."""

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import log


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
