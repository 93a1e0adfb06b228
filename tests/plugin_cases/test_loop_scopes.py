"""pytest-asyncio's wider loop scopes: one loop for the module, each test still rolled back."""

import asyncio

import pytest
import pytest_asyncio

from tests.testapp.models import Item

pytestmark = pytest.mark.asyncio(loop_scope="module")
loops = []


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def module_resource():
    # A module-scoped async fixture: not served (no test's transaction is its).
    return asyncio.get_running_loop()


@pytest_asyncio.fixture(loop_scope="module")
async def row(db):
    return await Item.objects.acreate(name="function fixture on the module's loop")


@pytest.mark.django_db
async def test_first(module_resource, row):
    loops.append(asyncio.get_running_loop())
    assert module_resource is loops[0]
    assert await Item.objects.acount() == 1
    await Item.objects.acreate(name="test")


@pytest.mark.django_db
async def test_second(module_resource, row):
    loops.append(asyncio.get_running_loop())
    assert loops[0] is loops[1]
    assert await Item.objects.acount() == 1


@pytest.mark.django_db
def test_zz_nothing_left():
    assert Item.objects.count() == 0
