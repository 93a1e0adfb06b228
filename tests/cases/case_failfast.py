"""A failing async test, then tests that a fail-fast run must not reach."""

from django_async_testcase import AsyncTestCase
from tests.cases.log import log


class FailFast(AsyncTestCase):
    async def test_1_passes(self):
        log(self, "ran")

    async def test_2_fails(self):
        log(self, "ran")
        self.fail("the first failure")

    async def test_3_not_reached(self):
        log(self, "ran")


class FailFastLater(AsyncTestCase):
    async def test_not_reached(self):
        log(self, "ran")
