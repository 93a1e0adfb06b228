"""Real test classes with what parallel runners must carry from a worker process.

Django's ``--parallel`` pickles each outcome in the worker and, when a subtest
fails, the test itself (its picklable attributes); pytest-xdist serialises its
reports. These tests fail in subtests, chain exceptions and hold attributes
that cannot be pickled. No test is skipped by a decorator (CPython 3.12.1 breaks
Django's --parallel for those; see tests/test_parallel.py). Run by
tests/test_parallel.py.
"""

import asyncio

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import log
from tests.testapp.models import Item


class Carried:
    async def asyncSetUp(self):
        self.addAsyncCleanup(asyncio.sleep, 0)

    async def test_async_subtests(self):
        log(self, "ran")
        for i in range(4):
            with self.subTest(i=i):
                await asyncio.sleep(0)
                self.assertEqual(i % 2, 0)

    def test_sync_subtests(self):
        log(self, "ran")
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)

    async def test_chained_error(self):
        log(self, "ran")
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise ValueError("outer") from exc

    async def test_error_in_subtest(self):
        log(self, "ran")
        with self.subTest("raises"):
            raise RuntimeError("error in a subtest")

    async def test_pass(self):
        log(self, "ran")


class CarriedSimpleTests(Carried, AsyncSimpleTestCase):
    pass


class CarriedTests(Carried, AsyncTestCase):
    async def test_database(self):
        await Item.objects.acreate(name="parallel")
        log(self, "ran", rows=await Item.objects.acount())
