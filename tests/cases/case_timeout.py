"""A hung async test for pytest-timeout; run by tests/test_neighbours.py.

Not run under Django's runner: ``@pytest.mark.timeout`` is pytest's.
"""

import asyncio

import pytest

from django_async_testcase import AsyncTestCase
from tests.cases.case_lifecycle import LeakCheck
from tests.cases.log import log
from tests.testapp.models import Item


class HungTests(LeakCheck, AsyncTestCase):
    async def asyncSetUp(self):
        await Item.objects.acreate(name="setUp")

    # func_only: the limit covers the test, not the class-scoped test database
    # setup that pytest-django runs in this first item's setup phase.
    @pytest.mark.timeout(2, func_only=True)
    async def test_a_hangs(self):
        log(self, "hanging")
        await asyncio.sleep(3600)

    async def test_b_after(self):
        self.assertEqual(await Item.objects.acount(), 1)
        log(self, "after")
