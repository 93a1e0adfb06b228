"""Tests that must not run when ASYNC_TESTCASE_TIMEOUT is wrong (tests/test_settings_check.py).

The system check (manage.py test) or the pytest plugin stops the run before them.
"""

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import log


class AsyncTests(AsyncTestCase):
    async def test_async(self):
        log(self, "test body ran")


class SyncTests(AsyncSimpleTestCase):
    def test_sync(self):
        log(self, "test body ran")
