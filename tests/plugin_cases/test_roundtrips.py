"""pytest-django's per-test protocol on PostgreSQL: its round trips, and deferred violations.

The ``sent`` fixture logs the statements the connection sent since the
previous test's: that test's end and this test's start (pytest-django's
transaction starts with the test's first statement). tests/test_plugin_roundtrips.py
runs this file with the plugin and without it (the control).
"""

import pytest
from django.contrib.auth.models import User
from django.db import connections, transaction

from tests.cases.log import log
from tests.cases.pgtrace import Trace
from tests.plugin_cases._runner import anyio_backend, mark  # noqa: F401
from tests.testapp.models import Item

Membership = User.groups.through
NOWHERE = 987654
_traces = {}


@pytest.fixture
def sent(request, db):
    connection = connections["default"]
    trace = _traces.get("default")
    if trace is None or not trace.traces(connection):
        trace = _traces["default"] = Trace(connection)
    statements, round_trips = trace.take()
    log(None, "sent", name=request.node.name, statements=statements, round_trips=round_trips)


def test_1_empty(sent):
    pass


def test_2_empty(sent):
    pass


@mark
async def test_3_empty_async(sent):
    pass


def test_4_writes(sent):
    Item.objects.create(name="x")


def test_5_after_writes(sent):
    pass


def test_6_violates(sent):
    Membership.objects.create(user_id=NOWHERE, group_id=NOWHERE)


@mark
async def test_7_violates_async(sent):
    await Membership.objects.acreate(user_id=NOWHERE, group_id=NOWHERE)


def test_8_violates_marked_for_rollback(sent):
    Membership.objects.create(user_id=NOWHERE, group_id=NOWHERE)
    transaction.set_rollback(True)


def test_9_clean(sent):
    log(None, "after", count=Membership.objects.count(), items=Item.objects.count())
