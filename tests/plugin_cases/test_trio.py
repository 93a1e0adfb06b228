"""anyio's trio backend: an async database test fails with a message naming the fix.

Run with anyio's plugin only, where trio is installed (it is not in the
test extra). Without django-async-testcase (the control), the async ORM fails
inside asgiref, which needs an asyncio loop.
"""

import pytest

from tests.testapp.models import Item

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "trio"


@pytest.mark.django_db
async def test_on_trio():
    assert await Item.objects.acount() == 0
