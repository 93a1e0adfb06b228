"""Real test classes for what a run leaves behind; run by tests/test_resources.py.

setUpModule and tearDownModule log the threads, open event loops and epoll
descriptors of the process, so the meta-test can compare them; the tests leave
tasks running for the closing loop to cancel.
"""

import asyncio
import gc
import os
import threading

from asgiref.sync import sync_to_async
from django.db import connection

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import connection_thread, log
from tests.testapp.models import Item


def _epoll_fds():
    """How many epoll descriptors the process has open (None where /proc is missing)."""
    if not os.path.isdir("/proc/self/fd"):
        return None
    fds = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventpoll]"
        except OSError:
            pass
    return fds


def _snapshot():
    gc.collect()
    loops = [obj for obj in gc.get_objects() if isinstance(obj, asyncio.AbstractEventLoop)]
    return {
        "threads": sorted(thread.name for thread in threading.enumerate()),
        "open_loops": sum(not loop.is_closed() for loop in loops),
        "epoll_fds": _epoll_fds(),
    }


def setUpModule():
    log(None, "before", **_snapshot())


def tearDownModule():
    log(None, "after", **_snapshot())


def _db_state():
    return connection_thread(), connection.in_atomic_block


class LeftoverTask:
    """Each test leaves a task that writes to the database when it is cancelled.

    The leftover-task guard would fail these tests (tests/test_guards.py covers
    that); here they check the cancellation itself, so they opt out.
    """

    allow_leftover_tasks = True

    async def leftover(self):
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await Item.objects.acreate(name="written while cancelled")
            state = await sync_to_async(_db_state)()
            log(self, "cancelled", state=state, rows=await Item.objects.acount())
            raise

    async def test_leaves_a_task(self):
        self.task = asyncio.create_task(self.leftover())
        await asyncio.sleep(0)
        await Item.objects.acreate(name="test")

    async def test_leaves_a_task_again(self):
        await self.test_leaves_a_task()

    def _post_teardown(self):
        log(self, "task_cancelled", cancelled=self.task.cancelled())
        super()._post_teardown()
        log(self, "rows_after", rows=Item.objects.count())


class LeftoverTests(LeftoverTask, AsyncTestCase):
    pass


class TransactionLeftoverTests(LeftoverTask, AsyncTransactionTestCase):
    pass


class ManyLoopsTests(AsyncSimpleTestCase):
    async def test_one(self):
        await asyncio.sleep(0)

    async def test_two(self):
        await asyncio.sleep(0)

    def test_sync(self):
        pass
