"""A new user's mistakes in function tests (issue 18). Some tests fail on purpose.

- test_forgotten_await, test_forgotten_await_without_db: a coroutine left
  unawaited and used; the failure names it (a note), with or without the database.
- module_rows: a module-scoped async fixture that unblocks the database; the
  plugin warns about it (its rows would be committed). test_uses_module_rows
  passes; only the warning is checked.
"""

import pytest

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


@pytest.mark.django_db
async def test_forgotten_await(async_client):
    response = async_client.get("/items/")
    assert response.status_code == 200


async def pause():
    pass


async def test_forgotten_await_without_db():
    pending = pause()
    assert pending.done()


@async_fixture(scope="module", loop_scope="module")
async def module_rows(django_db_blocker):
    with django_db_blocker.unblock():
        yield "rows would go here"


@pytest.mark.django_db
async def test_uses_module_rows(module_rows):
    assert module_rows == "rows would go here"
    assert await Item.objects.acount() == 0
