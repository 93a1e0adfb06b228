"""pytest-django's query and on-commit fixtures in coroutines, with ``with`` and ``async with``.

Without the plugin (the control), ``with django_assert_num_queries(...)`` in a
coroutine raises SynchronousOnlyOperation, and the on-commit fixture captures
nothing from the ORM's thread.
"""

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = [mark, pytest.mark.django_db]


async def test_num_queries_with(django_assert_num_queries):
    with django_assert_num_queries(2):
        await Item.objects.acreate(name="a")
        assert await Item.objects.acount() == 1


async def test_num_queries_async_with(django_assert_num_queries):
    async with django_assert_num_queries(2) as captured:
        await Item.objects.acreate(name="a")
        await Item.objects.acount()
    assert "COUNT" in captured.captured_queries[1]["sql"].upper()


async def test_max_num_queries(django_assert_max_num_queries):
    async with django_assert_max_num_queries(3):
        await Item.objects.acreate(name="a")


@pytest.mark.xfail(strict=True, reason="two queries, one expected: the fixture fails the test")
async def test_num_queries_counts(django_assert_num_queries):
    async with django_assert_num_queries(1):
        await Item.objects.acreate(name="a")
        await Item.objects.acount()


async def test_on_commit_async_with(django_capture_on_commit_callbacks):
    ran = []
    async with django_capture_on_commit_callbacks(execute=True) as callbacks:
        await sync_to_async(transaction.on_commit)(lambda: ran.append("done"))
    assert len(callbacks) == 1 and ran == ["done"]


async def test_on_commit_with(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        await sync_to_async(transaction.on_commit)(lambda: None)
    assert len(callbacks) == 1


def test_sync_unchanged(django_assert_num_queries, django_capture_on_commit_callbacks):
    with django_assert_num_queries(1):
        Item.objects.create(name="sync")
    with django_capture_on_commit_callbacks() as callbacks:
        transaction.on_commit(lambda: None)
    assert len(callbacks) == 1
