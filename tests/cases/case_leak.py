"""Rows written in asyncSetUp of AsyncTestCase are rolled back; later tests see none.

tests/cases/case_leak_control.py writes the same rows from Django's TestCase
with unittest.IsolatedAsyncioTestCase mixed in. Run by tests/test_leak.py.
"""

from django import test as django_test

from django_async_testcase import AsyncTestCase
from tests.cases.log import log
from tests.testapp.models import Item


class WritesInAsyncSetUp:
    """Write a row in asyncSetUp; the test sees it."""

    async def asyncSetUp(self):
        await Item.objects.acreate(name=f"{type(self).__name__}.{self._testMethodName}")

    async def test_writes_1(self):
        log(self, "rows in test", count=await Item.objects.acount())

    async def test_writes_2(self):
        log(self, "rows in test", count=await Item.objects.acount())


class RowsLeftBehind:
    """Log the rows a later test finds; named to run after the writers."""

    def test_rows_1(self):
        log(self, "rows left", names=sorted(Item.objects.values_list("name", flat=True)))

    def test_rows_2(self):
        log(self, "rows left", names=sorted(Item.objects.values_list("name", flat=True)))


class LeakAsyncWrites(WritesInAsyncSetUp, AsyncTestCase):
    pass


class LeakRowsLeftBehind(RowsLeftBehind, django_test.TestCase):
    pass
