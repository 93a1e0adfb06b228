"""Function tests: a step raising CancelledError is an error of its test; the next starts clean.

A fixture's tear-down that cancels a task and awaits it without catching the
CancelledError raises a BaseException, at which pytest stops running the
test's finalizers, pytest-django's rollback among them. With the plugin, it
is an ordinary error of the test: the rollback runs, and the next tests find
no row. The control (-p no:django_async_testcase) leaves the first test's
rows in an open transaction, which the later tests see.
"""

import asyncio

import pytest

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = [mark, pytest.mark.django_db]


@pytest.fixture
def row(db):
    Item.objects.create(name="sync fixture")


@async_fixture
async def careless_stopper(db):
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    yield task
    task.cancel()
    await task  # The slip: the CancelledError escapes the tear-down.


async def test_a_teardown_raises_cancelled_error(row, careless_stopper):
    await Item.objects.acreate(name="test")
    assert await Item.objects.acount() == 2


async def test_b_async_next():
    assert await Item.objects.acount() == 0


def test_c_sync_next():
    assert Item.objects.count() == 0


@async_fixture
async def careless_setup(db):
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    task.cancel()
    await task
    yield


async def test_d_setup_raises_cancelled_error(row, careless_setup):
    pass


async def test_e_test_awaits_a_cancelled_task(row):
    task = asyncio.create_task(asyncio.sleep(3600))
    await asyncio.sleep(0)
    task.cancel()
    await task


def test_f_sync_next():
    assert Item.objects.count() == 0
