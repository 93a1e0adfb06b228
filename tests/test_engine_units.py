"""In-process unit tests of the engine's pure parts: fast, no subprocess.

The behaviour of real test classes under both runners is checked by the
meta-tests (tests/test_lifecycle.py, tests/test_production_semantics.py...);
these pin down the engine's own contracts.
"""

import asyncio
import threading
import time

from asgiref.sync import sync_to_async
from django.db import connections
from django.test import SimpleTestCase, TransactionTestCase, override_settings

from django_async_testcase import AsyncTestCase, _worker
from django_async_testcase._engine import TestLoop, current_test_loop
from django_async_testcase._tracebacks import drop_unittest_frames


class AsyncTimeoutAttributeTests(SimpleTestCase):
    def test_readable_on_every_class(self):
        class Unset(AsyncTestCase):
            pass

        class Set(AsyncTestCase):
            async_timeout = 3

        self.assertIsNone(AsyncTestCase.async_timeout)
        self.assertIsNone(Unset.async_timeout)
        self.assertEqual(Set.async_timeout, 3)
        with override_settings(ASYNC_TESTCASE_TIMEOUT=2.5):
            self.assertEqual(Unset.async_timeout, 2.5)
            self.assertEqual(Set.async_timeout, 3)


class TestLoopTests(SimpleTestCase):
    def test_steps_share_one_loop_and_context_then_close(self):
        test_loop = TestLoop()
        test_loop.open()
        seen = []

        async def step():
            seen.append((asyncio.get_running_loop(), current_test_loop()))

        test_loop.run(step())
        test_loop.run(step())
        loop = test_loop.loop
        self.assertEqual(seen, [(loop, test_loop)] * 2)
        test_loop.close()
        self.assertTrue(loop.is_closed())
        test_loop.close()  # A no-op.

    def test_run_after_close_refuses_and_closes_the_coroutine(self):
        test_loop = TestLoop()
        test_loop.open()
        test_loop.close()

        async def step():
            pass

        coro = step()
        with self.assertRaisesRegex(RuntimeError, "not open"):
            test_loop.run(coro)
        self.assertIsNone(coro.cr_frame)  # Closed: no "never awaited" warning.

    def test_leftover_tasks_are_cancelled_and_described(self):
        test_loop = TestLoop()
        test_loop.open()

        async def leave():
            asyncio.get_running_loop().create_task(asyncio.sleep(30), name="left-behind")

        test_loop.run(leave())
        test_loop.close()
        self.assertEqual(len(test_loop._outcome.leftover_tasks), 1)
        self.assertIn("left-behind", test_loop._outcome.leftover_tasks[0])

    def test_the_loop_runs_while_a_sync_call_runs(self):
        test_loop = TestLoop()
        test_loop.open()
        ticks = []

        async def step():
            async def tick():
                while True:
                    ticks.append(1)
                    await asyncio.sleep(0.01)

            task = asyncio.create_task(tick())
            await sync_to_async(time.sleep)(0.1)
            task.cancel()

        try:
            test_loop.run(step())
        finally:
            test_loop.close()
        self.assertGreater(len(ticks), 3)


class DatabaseWorkerTests(TransactionTestCase):
    databases = {"default"}

    def test_bound_worker_uses_this_threads_connection(self):
        worker = _worker.DatabaseWorker()
        try:
            worker.bind(["default"])
            seen = worker.submit(lambda: connections["default"]).result(5)
            self.assertIs(seen, connections["default"])
            self.assertEqual(worker.release(1), _worker.Release(stuck=False, cancelled=[]))
        finally:
            worker.shutdown()

    def test_release_reports_a_call_still_running(self):
        worker = _worker.DatabaseWorker()
        release = threading.Event()
        worker.submit(release.wait, 5)
        self.assertEqual(worker.release(0.05), _worker.Release(stuck=True, cancelled=[]))
        release.set()
        worker.shutdown()
        with self.assertRaisesRegex(RuntimeError, "has finished"):
            worker.submit(print)

    def test_a_call_from_the_worker_thread_itself_is_refused(self):
        worker = _worker.DatabaseWorker()
        try:
            future = worker.submit(lambda: worker.submit(print))
            with self.assertRaisesRegex(RuntimeError, "worker thread itself"):
                future.result(5)
        finally:
            worker.shutdown()


class TracebackTests(SimpleTestCase):
    def test_unittest_frames_are_dropped_from_the_chain(self):
        namespace = {"__unittest": True}
        exec("def hidden(f):\n    f()\n", namespace)

        def user():
            raise ValueError("user")

        try:
            try:
                namespace["hidden"](user)
            except ValueError as inner:
                raise KeyError("outer") from inner
        except KeyError as exc:
            drop_unittest_frames(exc)
            names = []
            tb = exc.__cause__.__traceback__
            while tb is not None:
                names.append(tb.tb_frame.f_code.co_name)
                tb = tb.tb_next
        self.assertNotIn("hidden", names)
        self.assertIn("user", names)
