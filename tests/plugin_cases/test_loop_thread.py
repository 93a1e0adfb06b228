"""An async test whose loop runs in another thread (tests.plugin_cases._thread_runner).

With the plugin it fails with a message naming the fix, and the fix (a
transactional test) passes. Without it (the control), the first test's row is
committed by asgiref's thread, and test_zz_nothing_left sees it.
"""

import pytest

from tests.testapp.models import Item


@pytest.mark.django_db
async def test_loop_in_another_thread():
    await Item.objects.acreate(name="x")


@pytest.mark.django_db
def test_zz_nothing_left():
    assert Item.objects.count() == 0


@pytest.mark.django_db(transaction=True)
async def test_loop_in_another_thread_transactional():
    # What the error advises: committed, then flushed by pytest-django.
    assert await Item.objects.acount() == 0
    await Item.objects.acreate(name="committed, then flushed")
