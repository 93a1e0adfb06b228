"""AsyncLiveServerTestCase: async tests and hooks call the live server with httpx."""

import asyncio
import threading

import httpx
from django.db import connections

from django_async_testcase import AsyncLiveServerTestCase
from tests.cases.log import log
from tests.testapp.models import Item


def other_sessions(alias="default"):
    """How many other connections are open to this alias's test database (None on SQLite)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    elif connection.vendor == "mysql":
        sql = (
            "SELECT count(*) FROM information_schema.processlist "
            "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
        )
    else:
        return None
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


class ServerConnectionsClosed:
    """Log the other connections to the test database once the server has stopped."""

    @classmethod
    def setUpClass(cls):
        # The first class cleanup runs last, after the server thread's.
        cls.addClassCleanup(cls.log_other_sessions)
        super().setUpClass()

    @classmethod
    def log_other_sessions(cls):
        log(None, "other sessions", cls=cls.__name__, count=other_sessions())

    def _post_teardown(self):
        super()._post_teardown()
        log(self, "rows_after", count=Item.objects.count())


class LiveServerTests(ServerConnectionsClosed, AsyncLiveServerTestCase):
    async def asyncSetUp(self):
        self.http = await self.enterAsyncContext(httpx.AsyncClient(base_url=self.live_server_url))
        await Item.objects.acreate(name="asyncSetUp")
        response = await self.http.get("/items/")
        log(self, "asyncSetUp sees", items=response.json()["items"])

    async def test_server_sees_test_rows(self):
        await Item.objects.acreate(name="test")
        response = await self.http.get("/items/")
        self.assertEqual(response.status_code, 200)
        log(self, "server sees", items=response.json()["items"])

    async def test_test_sees_server_rows(self):
        response = await self.http.get("/items/create/", params={"name": "server"})
        self.assertEqual(response.status_code, 200)
        names = [item.name async for item in Item.objects.order_by("name")]
        log(self, "test sees", names=names)

    async def test_concurrent_requests(self):
        requests = [self.http.get("/items/create/", params={"name": f"c{i}"}) for i in range(5)]
        if connections["default"].vendor == "sqlite":
            # On in-memory SQLite Django shares one connection between the test
            # and the server's threads (as with its own LiveServerTestCase), so
            # simultaneous writes can collide: send them one after the other.
            responses = [await request for request in requests]
        else:
            responses = await asyncio.gather(*requests)
        self.assertEqual([r.status_code for r in responses], [200] * 5)
        log(self, "concurrent", count=await Item.objects.acount())

    def test_sync_method(self):
        Item.objects.create(name="sync")
        with httpx.Client(base_url=self.live_server_url) as http:
            log(self, "sync sees", items=http.get("/items/").json()["items"])

    async def asyncTearDown(self):
        response = await self.http.get("/items/create/", params={"name": "asyncTearDown"})
        self.assertEqual(response.status_code, 200)
        log(self, "asyncTearDown", count=await Item.objects.acount())


class LiveServerUrlTests(ServerConnectionsClosed, AsyncLiveServerTestCase):
    async def test_url_and_thread(self):
        self.assertTrue(self.live_server_url.startswith("http://localhost:"))
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{self.live_server_url}/items/")
        log(
            self,
            "url",
            status=response.status_code,
            items=response.json()["items"],
            thread=threading.current_thread().name,
        )
