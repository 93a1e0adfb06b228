"""Several databases, fixtures, reset_sequences, serialized_rollback and available_apps.

Every class writes from async code; tests/test_databases.py checks what is left
behind and what each test saw.
"""

from asgiref.sync import sync_to_async
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from django_async_testcase import AsyncTestCase, AsyncTransactionTestCase
from tests.cases.log import log
from tests.testapp.models import Item

ALIASES = ("default", "other")


def row_counts():
    return {alias: Item.objects.using(alias).count() for alias in ALIASES}


def names(alias="default"):
    return list(Item.objects.using(alias).order_by("pk").values_list("name", flat=True))


class LogRows:
    """Log each alias's row count after each test and after the class."""

    def _post_teardown(self):
        super()._post_teardown()
        log(self, "rows after test", counts=row_counts())

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        log(None, "rows after class", cls=cls.__name__, counts=row_counts())


class WritesEverywhere(LogRows):
    """Write one row on every alias in every step of the lifecycle."""

    databases = "__all__"

    def create(self, step):
        for alias in ALIASES:
            Item.objects.using(alias).create(name=step)

    async def acreate(self, step):
        for alias in ALIASES:
            await Item.objects.using(alias).acreate(name=step)

    def setUp(self):
        self.create("setUp")
        self.addCleanup(self.create, "cleanup")

    async def asyncSetUp(self):
        await self.acreate("asyncSetUp")
        self.addAsyncCleanup(self.acreate, "async cleanup")

    async def test_writes(self):
        await self.acreate("test")
        log(self, "seen in test", counts=await sync_to_async(row_counts)())

    def test_sync_writes(self):
        self.create("sync test")

    async def asyncTearDown(self):
        await self.acreate("asyncTearDown")

    def tearDown(self):
        self.create("tearDown")


class AllDatabasesTests(WritesEverywhere, AsyncTestCase):
    @classmethod
    async def asyncSetUpTestData(cls):
        for alias in ALIASES:
            await Item.objects.using(alias).acreate(name="class data")


class AllDatabasesTransactionTests(WritesEverywhere, AsyncTransactionTestCase):
    pass


class FixtureNames:
    fixtures = ["items"]
    databases = {"default", "other"}

    async def asyncSetUp(self):
        self.names = {alias: await sync_to_async(names)(alias) for alias in ALIASES}

    async def test_a(self):
        await self.check()

    async def test_b(self):
        await self.check()

    async def check(self):
        log(self, "fixture rows", names=self.names)
        await Item.objects.acreate(name="more")
        await Item.objects.using("other").acreate(name="more")


class FixturesTests(LogRows, FixtureNames, AsyncTestCase):
    @classmethod
    async def asyncSetUpTestData(cls):
        log(None, "fixture rows in asyncSetUpTestData", names=await sync_to_async(names)())


class TransactionFixturesTests(LogRows, FixtureNames, AsyncTransactionTestCase):
    pass


class ResetSequencesTests(AsyncTransactionTestCase):
    reset_sequences = True

    async def test_a(self):
        await self.create_two()

    async def test_b(self):
        await self.create_two()

    async def create_two(self):
        first = await Item.objects.acreate(name="first")
        second = await Item.objects.acreate(name="second")
        log(self, "pks", pks=[first.pk, second.pk])


class AvailableAppsTests(AsyncTransactionTestCase):
    available_apps = ["tests.testapp"]

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        log(None, "apps after class", auth=apps.is_installed("django.contrib.auth"))

    async def asyncSetUp(self):
        log(self, "apps in asyncSetUp", auth=apps.is_installed("django.contrib.auth"))

    async def test_a(self):
        await self.check()

    async def test_b(self):
        await self.check()

    async def check(self):
        log(self, "apps in test", auth=apps.is_installed("django.contrib.auth"))
        self.assertTrue(apps.is_installed("tests.testapp"))
        self.assertEqual(await Item.objects.acount(), 0)
        await Item.objects.acreate(name="flushed after")


class SerializedRollbackTests(AsyncTransactionTestCase):
    """Each test deletes every content type; serialized rollback brings them back as they were."""

    serialized_rollback = True

    @classmethod
    def setUpClass(cls):
        # Earlier flushes let post_migrate recreate the content types under new
        # pks, which then collide with the restored ones: Django's own
        # TransactionTestCase fails the same way. Start from none.
        ContentType.objects.all().delete()
        super().setUpClass()

    async def test_a(self):
        await self.delete_content_types()

    async def test_b(self):
        await self.delete_content_types()

    async def delete_content_types(self):
        item_type = await ContentType.objects.aget(app_label="testapp", model="item")
        log(self, "item content type", pk=item_type.pk, items=await Item.objects.acount())
        await ContentType.objects.all().adelete()
        await Item.objects.acreate(name="flushed after")
