"""A test interrupted by KeyboardInterrupt; run by tests/test_guards.py.

$INTERRUPT_WHERE says where it is raised: "loop" (in the test's coroutine),
"db" (in a sync_to_async call on the test's database thread) or "signal"
(a real SIGINT, delivered to the main thread while the coroutine waits, as
Ctrl-C would be).
"""

import asyncio
import json
import os
import signal
import threading

from asgiref.sync import sync_to_async

from django_async_testcase import AsyncTestCase
from tests.cases.case_lifecycle import LeakCheck
from tests.cases.log import log
from tests.testapp.models import Item


def logged_events():
    with open(os.environ["CASES_LOG"]) as f:
        return [json.loads(line)["event"] for line in f]


def interrupt():
    raise KeyboardInterrupt


class InterruptedTests(LeakCheck, AsyncTestCase):
    async def test_interrupted(self):
        await Item.objects.acreate(name="before the interrupt")
        self.addAsyncCleanup(self.cleanup)
        where = os.environ["INTERRUPT_WHERE"]
        log(self, "interrupting", where=where)
        if where == "loop":
            raise KeyboardInterrupt
        if where == "db":
            await sync_to_async(interrupt)()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        await asyncio.sleep(2)
        log(self, "not interrupted")

    async def cleanup(self):
        log(self, "cleanup ran")

    async def test_z_after(self):
        # The meta-test checks that this runs after test_interrupted, if at all.
        interrupted = any(e == "interrupting" for e in logged_events())
        log(self, "ran after the interrupt" if interrupted else "ran before the interrupt")
