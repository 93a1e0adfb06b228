"""Real test classes with every outcome a parallel runner must carry from a worker.

Django's ``--parallel`` pickles each outcome in the worker process and, when a
subtest fails, the test itself; pytest-xdist serialises its reports. Here tests
pass, fail, error (chained), fail in subtests, skip, fail as expected or not,
and fail in asyncSetUp and in an async cleanup. No test is skipped by a
decorator: CPython 3.12.1 (only) does not call startTest() for those
(python/cpython#106584, reverted in 3.12.2), and Django's parallel runner then
files every later outcome of the worker under the wrong test, for
django.test.TestCase too. Run by tests/test_parallel.py.
"""

import asyncio
import unittest

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

    async def test_skip_inside(self):
        log(self, "ran")
        self.skipTest("skipped inside")

    @unittest.expectedFailure
    async def test_expected_failure(self):
        log(self, "ran")
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    async def test_unexpected_success(self):
        log(self, "ran")

    async def test_pass(self):
        log(self, "ran")


class CarriedSimpleTests(Carried, AsyncSimpleTestCase):
    pass


class CarriedTests(Carried, AsyncTestCase):
    async def test_database(self):
        await Item.objects.acreate(name="parallel")
        log(self, "ran", rows=await Item.objects.acount())


class FailingAsyncSetUpTests(AsyncTestCase):
    async def asyncSetUp(self):
        raise ValueError("error in asyncSetUp")

    async def test_never_runs(self):
        log(self, "ran")


class FailingAsyncCleanupTests(AsyncTestCase):
    async def test_cleanup_fails(self):
        async def cleanup():
            raise ValueError("error in async cleanup")

        log(self, "ran")
        self.addAsyncCleanup(cleanup)
