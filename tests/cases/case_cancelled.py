"""Tests that cancel themselves or stop their loop; run by tests/test_stuck.py.

The control is Django's SimpleTestCase running the same coroutines.
"""

import asyncio

from django.test import SimpleTestCase

from django_async_testcase import AsyncSimpleTestCase


class Cancelling:
    async def test_raises_cancelled_error(self):
        raise asyncio.CancelledError("the test's own message")

    async def test_cancels_its_own_task(self):
        asyncio.current_task().cancel("cancelled by the test")
        await asyncio.sleep(1)

    async def test_stops_the_loop(self):
        asyncio.get_running_loop().stop()
        await asyncio.sleep(0.5)


class CancelledTests(Cancelling, AsyncSimpleTestCase):
    pass


class ControlCancelledTests(Cancelling, SimpleTestCase):
    pass
