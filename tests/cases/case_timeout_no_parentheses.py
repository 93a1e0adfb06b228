"""@timeout without parentheses: the module cannot be imported; run by tests/test_newuser.py."""

from django_async_testcase import AsyncSimpleTestCase
from django_async_testcase.guards import timeout


class NoParenthesesTests(AsyncSimpleTestCase):
    @timeout
    async def test_it(self):
        pass
