"""The guards on every step of an async test: its async fixtures too. Tests fail on purpose.

With the plugin:

- test_fixture_hangs_in_set_up (and test_sync_test_fixture_hangs, a sync test)
  errors at set-up and test_fixture_hangs_in_tear_down at tear-down, each within
  its 0.5 s budget, and the session goes on (the fixture's row rolled back);
- test_fixture_leaves_a_task errors at its fixture's tear-down, naming the task;
  test_fixture_cancels_its_task passes;
- test_plain_thread fails once, in the call (a thread's database access);
- test_background_error fails (a callback raised on the loop);
- test_everything_together fails once, with every failure of the test;
- test_zz_nothing_left passes;
- test_sleeps_past_an_ini_timeout passes, and fails under ``-o async_timeout=0.2``;
- test_timeout_mark_without_seconds and test_allow_mark_with_an_argument error
  at set-up: their marks' arguments are wrong.

Without it (the control, hangs left out), the leftover task, the background
error and the thread's access pass unnoticed; on PostgreSQL and MariaDB the
thread's rows are committed, so test_zz_nothing_left fails.
"""

import asyncio
import threading

import pytest

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


@async_fixture
async def hangs_in_set_up():
    await asyncio.Event().wait()
    yield


@async_fixture
async def hangs_in_tear_down():
    await Item.objects.acreate(name="rolled back after the hang")
    yield
    await asyncio.Event().wait()


@pytest.mark.django_db
@pytest.mark.async_timeout(0.5)
async def test_fixture_hangs_in_set_up(hangs_in_set_up):
    pass


@pytest.mark.django_db
@pytest.mark.async_timeout(0.5)
async def test_fixture_hangs_in_tear_down(hangs_in_tear_down):
    pass


@pytest.mark.django_db
@pytest.mark.async_timeout(0.5)
def test_sync_test_fixture_hangs(hangs_in_set_up):
    pass


@async_fixture
async def leaves_a_task():
    yield asyncio.get_running_loop().create_task(asyncio.sleep(10), name="fixture-sleeper")


@pytest.mark.django_db
async def test_fixture_leaves_a_task(leaves_a_task):
    await Item.objects.acreate(name="beside the fixture's task")


@async_fixture
async def cancels_its_task():
    task = asyncio.get_running_loop().create_task(asyncio.sleep(10), name="stopped-sleeper")
    yield task
    task.cancel()
    await asyncio.wait([task])


@pytest.mark.django_db
async def test_fixture_cancels_its_task(cancels_its_task):
    assert not cancels_its_task.done()


def write_from_a_thread(name):
    thread = threading.Thread(target=Item.objects.create, kwargs={"name": name})
    thread.start()
    thread.join()


@pytest.mark.django_db
async def test_plain_thread():
    write_from_a_thread("from a plain thread")


@pytest.mark.django_db
async def test_background_error():
    asyncio.get_running_loop().call_soon(int, "not a number")
    await asyncio.sleep(0)


@pytest.mark.django_db
async def test_everything_together():
    asyncio.get_running_loop().create_task(asyncio.sleep(10), name="together-sleeper")
    Item.objects.acount()
    write_from_a_thread("together")
    assert await Item.objects.acount() == 1, "the test's own failure"


@pytest.mark.django_db
async def test_zz_nothing_left():
    assert await Item.objects.acount() == 0


@pytest.mark.django_db
async def test_sleeps_past_an_ini_timeout():
    await asyncio.sleep(0.4)


@pytest.mark.django_db
@pytest.mark.async_timeout()
async def test_timeout_mark_without_seconds():
    pass


@pytest.mark.django_db
@pytest.mark.allow_leftover_tasks(True)
async def test_allow_mark_with_an_argument():
    pass
