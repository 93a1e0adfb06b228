"""The same tests written sync and async: their outcomes must be identical."""

import unittest

from django import test as django_test

from django_async_testcase import AsyncTestCase


class SyncOutcomes(AsyncTestCase):
    def test_pass(self):
        pass

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise ValueError("error in test")

    def test_skip_inside(self):
        self.skipTest("skipped inside")

    @unittest.skip("skipped by decorator")
    def test_skip_decorator(self):
        raise AssertionError("never runs")

    @unittest.expectedFailure
    def test_expected_failure(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_unexpected_success(self):
        pass

    def test_subtests(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertEqual(i % 2, 0, f"odd i={i}")


class AsyncOutcomes(AsyncTestCase):
    async def test_pass(self):
        pass

    async def test_fail(self):
        self.assertEqual(1, 2)

    async def test_error(self):
        raise ValueError("error in test")

    async def test_skip_inside(self):
        self.skipTest("skipped inside")

    @unittest.skip("skipped by decorator")
    async def test_skip_decorator(self):
        raise AssertionError("never runs")

    @unittest.expectedFailure
    async def test_expected_failure(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    async def test_unexpected_success(self):
        pass

    async def test_subtests(self):
        for i in range(4):
            with self.subTest(i=i):
                self.assertEqual(i % 2, 0, f"odd i={i}")


@unittest.skip("whole class skipped")
class SkippedClass(AsyncTestCase):
    async def test_never(self):
        raise AssertionError("never runs")


class FailingAsyncSetUp(AsyncTestCase):
    async def asyncSetUp(self):
        raise ValueError("error in asyncSetUp")

    async def test_never(self):
        raise AssertionError("never runs")


class FailingAsyncTearDown(AsyncTestCase):
    async def asyncTearDown(self):
        raise ValueError("error in asyncTearDown")

    async def test_passes_then_teardown_fails(self):
        pass


class FailingAsyncCleanup(AsyncTestCase):
    async def test_cleanup_fails(self):
        async def cleanup():
            raise ValueError("error in async cleanup")

        self.addAsyncCleanup(cleanup)


class DjangoExpectedFailures(django_test.TestCase):
    """Control: Django's own async test methods, run through async_to_sync."""

    @unittest.expectedFailure
    async def test_expected_failure(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    async def test_unexpected_success(self):
        pass


class SkipInAsyncSetUp(AsyncTestCase):
    async def asyncSetUp(self):
        self.skipTest("skipped in asyncSetUp")

    async def test_never(self):
        raise AssertionError("never runs")
