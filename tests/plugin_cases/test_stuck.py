"""Function tests whose query never returns by itself; run by tests/test_stuck.py.

test_a_query_never_returns fails with AsyncTestTimeout once its query was
cancelled on the server; test_b_next then finds no rows. With
STUCK_INTERRUPT set, only test_interrupted runs: its query has no budget,
and the meta-test interrupts the session with a real SIGINT.
"""

import os

import pytest
from asgiref.sync import sync_to_async
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from tests.cases.case_stuck import lock_row, stuck_query
from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark
INTERRUPT = bool(os.environ.get("STUCK_INTERRUPT"))
normal = pytest.mark.skipif(INTERRUPT, reason="STUCK_INTERRUPT is set")


@normal
@pytest.mark.django_db
@pytest.mark.async_timeout(1)
async def test_a_query_never_returns():
    await Item.objects.acreate(name="before the stuck query")
    await sync_to_async(stuck_query)(None)


@normal
@pytest.mark.django_db
async def test_b_next():
    assert await Item.objects.acount() == 0


@pytest.mark.skipif(not INTERRUPT, reason="only with STUCK_INTERRUPT")
@pytest.mark.django_db
async def test_interrupted():
    await Item.objects.acreate(name="before the stuck query")
    await sync_to_async(stuck_query)(None)


@normal
@pytest.mark.django_db
@pytest.mark.async_timeout(1)
@pytest.mark.allow_foreign_thread_db_access
@pytest.mark.skipif(connection.vendor == "sqlite", reason="SQLite has no row locks")
async def test_c_foreign_connection_waits_for_the_rollback():
    content_type = await ContentType.objects.select_for_update().afirst()
    await sync_to_async(lock_row, thread_sensitive=False)(None, content_type.pk)


@normal
@pytest.mark.django_db
async def test_d_next():
    assert await Item.objects.acount() == 0
