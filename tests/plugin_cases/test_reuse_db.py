"""Run twice with --reuse-db: the second session finds no row of the first.

Without the plugin (the control), the first session's async row is committed
into the kept test database, and the second session finds it.
"""

import pytest

from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


@pytest.mark.django_db
async def test_writes():
    assert await Item.objects.acount() == 0
    await Item.objects.acreate(name="rolled back, not kept in the reused database")
