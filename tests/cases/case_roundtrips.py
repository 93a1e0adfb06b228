"""The per-test protocol on PostgreSQL: its round trips, and Django's semantics kept.

Every class with ``Django`` in its name is the control: the same tests on
``django.test.TestCase``. tests/test_roundtrips.py compares them.

``Traced`` classes log, at each setUp, the statements each of their
connections sent since the previous setUp: for every test but the first, the
previous test's end and this test's start. ``Membership`` rows (auth's
user-group table) carry two foreign keys that PostgreSQL checks at commit
(``DEFERRABLE INITIALLY DEFERRED``, Django's default): a row pointing nowhere,
written in a test, is a deferred violation that only Django's per-test
constraint check catches.
"""

import time

from django.contrib.auth.models import User
from django.db import DatabaseError, connections, transaction
from django.test import TestCase

from django_async_testcase import AsyncTestCase
from tests.cases.log import log
from tests.cases.pgtrace import Trace

Membership = User.groups.through
NOWHERE = 987654


def memberships(alias="default"):
    return Membership.objects.using(alias).count()


def violate(alias="default"):
    Membership.objects.using(alias).create(user_id=NOWHERE, group_id=NOWHERE)


class Traced:
    traced = ("default",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.traces = {alias: Trace(connections[alias]) for alias in cls.traced}

    @classmethod
    def tearDownClass(cls):
        for trace in cls.traces.values():
            trace.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        for alias, trace in self.traces.items():
            statements, round_trips = trace.take()
            log(self, "sent", alias=alias, statements=statements, round_trips=round_trips)


class Empty:
    def test_1(self):
        pass

    def test_2(self):
        pass

    def test_3(self):
        pass


class AsyncEmpty:
    async def test_1(self):
        pass

    async def test_2(self):
        pass

    async def test_3(self):
        pass


class DjangoEmptyTests(Traced, Empty, TestCase):
    pass


class OursEmptySyncTests(Traced, Empty, AsyncTestCase):
    pass


class OursEmptyAsyncTests(Traced, AsyncEmpty, AsyncTestCase):
    pass


class DjangoTwoAliasesEmptyTests(Traced, Empty, TestCase):
    databases = {"default", "other"}
    traced = ("default", "other")


class OursTwoAliasesEmptyTests(Traced, Empty, AsyncTestCase):
    databases = {"default", "other"}
    traced = ("default", "other")


class Violations:
    """Deferred violations fail the test at its end unless Django skips the check."""

    databases = {"default", "other"}

    @classmethod
    def setUpTestData(cls):
        cls.user = User.objects.create(username="class data")

    def test_1_violates(self):
        violate()

    async def test_2_violates_in_async_code(self):
        await Membership.objects.acreate(user_id=NOWHERE, group_id=NOWHERE)

    def test_3_violates_on_the_other_alias(self):
        violate("other")

    def test_4_violates_marked_for_rollback(self):
        # needs_rollback: Django skips the check, the test passes.
        violate()
        transaction.set_rollback(True)

    def test_5_violates_then_aborts(self):
        # The transaction is aborted: SELECT 1 fails, Django skips the check.
        violate()
        with connections["default"].cursor() as cursor:
            try:
                cursor.execute("SELECT 1/0")
            except DatabaseError:
                pass

    def test_6_valid_deferred_rows(self):
        # Rows that are valid at the end pass the check.
        membership = Membership.objects.create(user_id=NOWHERE, group_id=NOWHERE)
        membership.delete()
        with self.captureOnCommitCallbacks() as callbacks:
            transaction.on_commit(lambda: None)
        log(self, "callbacks", count=len(callbacks))

    def test_7_clean(self):
        log(
            self,
            "after",
            counts={alias: memberships(alias) for alias in ("default", "other")},
            users=User.objects.count(),
            user=self.user.username,
        )


class DjangoViolationTests(Violations, TestCase):
    pass


class OursViolationTests(Violations, AsyncTestCase):
    pass


class Unusable:
    """The test's connection dies at its end (its server process is terminated)."""

    def test_1_terminated(self):
        violate()
        connection = connections["default"]
        pid = connection.connection.info.backend_pid
        with connections["other"].cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.3)  # Until the server's farewell has reached the socket.

    def test_2_next(self):
        log(self, "next", count=memberships())


class DjangoUnusableTests(Unusable, TestCase):
    databases = {"default", "other"}


class OursUnusableTests(Unusable, AsyncTestCase):
    databases = {"default", "other"}


class AllDatabases:
    databases = "__all__"

    def test_1_violates(self):
        violate("other")

    async def test_2_clean(self):
        counts = {}
        for alias in ("default", "other"):
            counts[alias] = await Membership.objects.using(alias).acount()
        log(self, "after", counts=counts)


class DjangoAllDatabasesTests(AllDatabases, TestCase):
    pass


class OursAllDatabasesTests(AllDatabases, AsyncTestCase):
    pass


class ReleasedSavepoint:
    """The test releases its own savepoint: Django's rollback then fails (and is swallowed)."""

    def test_1_releases_its_savepoint(self):
        connection = connections["default"]
        sid = connection.savepoint_ids[-1]
        with connection.cursor() as cursor:
            cursor.execute(f'RELEASE SAVEPOINT "{sid}"')

    def test_2_next(self):
        log(self, "next", count=memberships())


class DjangoReleasedSavepointTests(ReleasedSavepoint, TestCase):
    pass


class OursReleasedSavepointTests(ReleasedSavepoint, AsyncTestCase):
    pass
