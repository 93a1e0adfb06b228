"""Async fixtures defined as methods of a pytest test class run bound to the test's instance.

Without the plugin (the control) they are bound the same way (pytest-asyncio
and anyio bind them), but their rows are committed, and the last test sees them.
"""

import pytest

from tests.plugin_cases._runner import anyio_backend, async_fixture, mark  # noqa: F401
from tests.testapp.models import Item

pytestmark = mark


class TestFixtureMethods:
    @async_fixture
    async def row(self, db):
        self.row_made = await Item.objects.acreate(name="method fixture")
        return self.row_made

    @async_fixture
    async def generated_row(self, db):
        self.generated = await Item.objects.acreate(name="generator method fixture")
        yield self.generated
        assert self.generated.name == "generator method fixture"
        assert await Item.objects.filter(pk=self.generated.pk).aexists()

    @pytest.mark.django_db
    async def test_bound_to_the_test_instance(self, row, generated_row):
        assert self.row_made == row
        assert self.generated == generated_row
        assert await Item.objects.acount() == 2

    async def test_rolled_back(self, row):
        assert self.row_made == row
        assert await Item.objects.acount() == 1


@pytest.mark.django_db
def test_zz_nothing_left():
    assert Item.objects.count() == 0
