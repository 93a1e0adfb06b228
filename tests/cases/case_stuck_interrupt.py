"""Runs that may have to be stopped from outside; run by tests/test_stuck.py.

Ctrl-C while a query runs: the meta-test waits for the "query started" event,
then interrupts the run as Ctrl-C does (twice under Django's runner: its first
Ctrl-C only asks the run to stop after the current test). And the control of
a time budget: Django's TestCase under pytest-timeout, which cannot stop a
query SQLite or mysqlclient runs on the test's thread.
"""

import pytest
from asgiref.sync import sync_to_async
from django.test import TestCase

from django_async_testcase import AsyncTestCase
from tests.cases.case_guards import CleanStart
from tests.cases.case_stuck import stuck_query
from tests.cases.log import log
from tests.testapp.models import Item


class InterruptedQueryTests(CleanStart, AsyncTestCase):
    """Ctrl-C (a real SIGINT, sent by the meta-test) while a query runs."""

    async def test_a_interrupted(self):
        await Item.objects.acreate(name="before the stuck query")
        await sync_to_async(stuck_query)(self)

    async def test_b_after(self):
        log(self, "ran after the interrupt")


class ControlInterruptedQueryTests(CleanStart, TestCase):
    """The control: Django's TestCase runs the query on the test's own thread."""

    def test_a_interrupted(self):
        Item.objects.create(name="before the stuck query")
        stuck_query(self)

    def test_b_after(self):
        log(self, "ran after the interrupt")


class ControlBudgetTests(CleanStart, TestCase):
    """The control of StuckQueryTests: Django's TestCase under pytest-timeout (pytest only)."""

    def test_0_first(self):
        pass  # pytest-timeout's clock includes the test database's creation.

    @pytest.mark.timeout(1)
    def test_a_query_never_returns(self):
        Item.objects.create(name="before the stuck query")
        stuck_query(self)

    def test_b_next(self):
        log(self, "clean", rows=Item.objects.count())
