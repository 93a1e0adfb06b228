"""The guards, on function-style async tests. Some tests fail on purpose.

Run with the plugin: test_foreign_thread, test_leftover_task, test_timeout
and test_never_awaited fail with the guards' errors, and
test_zz_nothing_written passes. Without it (the control) the first four pass
(or fail for another reason: SQLite's "database table is locked"), and on
PostgreSQL and MariaDB the thread's row is committed, so
test_zz_nothing_written fails.
"""

import asyncio

import pytest

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


@pytest.mark.django_db
async def test_foreign_thread():
    await asyncio.to_thread(Item.objects.create, name="from a thread")


@pytest.mark.django_db
async def test_leftover_task():
    await Item.objects.acreate(name="x")
    asyncio.get_running_loop().create_task(asyncio.sleep(30), name="forgotten-sleeper")


@pytest.mark.django_db
@pytest.mark.allow_leftover_tasks
async def test_leftover_task_allowed():
    asyncio.get_running_loop().create_task(asyncio.sleep(30), name="allowed-sleeper")


@pytest.mark.django_db
@pytest.mark.async_timeout(0.3)
async def test_timeout():
    await Item.objects.acreate(name="before the timeout")
    await asyncio.sleep(1.5)


@pytest.mark.django_db
async def test_zz_nothing_written():
    assert await Item.objects.acount() == 0


@pytest.mark.django_db
async def test_never_awaited():
    Item.objects.acreate(name="a forgotten await")


@pytest.mark.django_db
@pytest.mark.allow_never_awaited
async def test_never_awaited_allowed():
    Item.objects.acreate(name="a forgotten await, allowed")
