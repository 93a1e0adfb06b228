"""close_old_connections() in an async test does not close the test's transaction.

Channels' database_sync_to_async and Django's request_started/request_finished
signals call it; on a connection inside an atomic block it closes the
connection, losing the transaction (PostgreSQL, MariaDB; SQLite's in-memory
test database is never closed). The plugin keeps the test's connections open
while they are in an atomic block, as AsyncTestCase does. test_unprotected is
the control: it takes that protection away, and fails on PostgreSQL and
MariaDB.
"""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.signals import request_finished, request_started
from django.db import connections

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = [mark, pytest.mark.django_db]


async def test_database_sync_to_async():
    await Item.objects.acreate(name="before")
    await database_sync_to_async(Item.objects.create)(name="through Channels")
    assert await Item.objects.acount() == 2


async def test_request_signals():
    await Item.objects.acreate(name="before")
    await sync_to_async(request_started.send)(sender=None)
    await sync_to_async(request_finished.send)(sender=None)
    assert await Item.objects.acount() == 1


@pytest.fixture
def unprotected(db):
    for alias in connections:
        vars(connections[alias]).pop("close_if_unusable_or_obsolete", None)


async def test_unprotected(unprotected):
    await Item.objects.acreate(name="before")
    await database_sync_to_async(Item.objects.create)(name="through Channels")
    assert await Item.objects.acount() == 2


def test_zz_nothing_left():
    assert Item.objects.count() == 0
