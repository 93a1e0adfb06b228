"""self.async_client, override_settings, modify_settings and mock.patch with async tests."""

import unittest
from unittest import mock

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, modify_settings, override_settings

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase
from tests.cases.log import connection_thread, log
from tests.testapp import views

needs_async_login = unittest.skipUnless(
    hasattr(Client, "aforce_login"),
    "Client.aforce_login(), alogin() and alogout() need Django 5.0 or later",
)

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def read_setting(name):
    """A setting as code on the test's database thread sees it."""
    return connection_thread(), getattr(settings, name, None)


class LoginTests(AsyncTestCase):
    @classmethod
    def setUpTestData(cls):
        with override_settings(PASSWORD_HASHERS=FAST_HASHER):
            cls.user = User.objects.create_user("alice", password="secret")

    async def whoami(self):
        response = await self.async_client.get("/whoami/")
        self.assertEqual(response.status_code, 200)
        return response.json()["username"]

    async def test_anonymous(self):
        log(self, "whoami", username=await self.whoami())

    @needs_async_login
    async def test_aforce_login_and_alogout(self):
        await self.async_client.aforce_login(self.user)
        before = await self.whoami()
        await self.async_client.alogout()
        log(self, "whoami", username=before, after=await self.whoami())

    @needs_async_login
    @override_settings(PASSWORD_HASHERS=FAST_HASHER)
    async def test_alogin(self):
        wrong = await self.async_client.alogin(username="alice", password="wrong")
        right = await self.async_client.alogin(username="alice", password="secret")
        log(self, "whoami", username=await self.whoami(), wrong=wrong, right=right)

    def test_sync_force_login(self):
        self.client.force_login(self.user)
        log(self, "whoami", username=self.client.get("/whoami/").json()["username"])


@needs_async_login
class LoginInAsyncSetUpTests(AsyncTestCase):
    async def asyncSetUp(self):
        self.user = await User.objects.acreate(username="bob")
        await self.async_client.aforce_login(self.user)

    async def test_logged_in(self):
        response = await self.async_client.get("/whoami/")
        log(self, "whoami", username=response.json()["username"])

    async def asyncTearDown(self):
        await self.async_client.alogout()
        response = await self.async_client.get("/whoami/")
        log(self, "after alogout", username=response.json()["username"])


@override_settings(CLASS_SETTING="class")
@modify_settings(ALLOWED_HOSTS={"append": "class.example"})
class SettingsTests(AsyncTestCase):
    async def setting_seen(self, name):
        """(in the test, on the test's database thread, by a view) values of ``name``."""
        response = await self.async_client.get(f"/setting/{name}/")
        thread, on_thread = await sync_to_async(read_setting)(name)
        self.assertEqual(thread, "MainThread")
        return [getattr(settings, name, None), on_thread, response.json()["value"]]

    async def test_class_override(self):
        log(self, "seen", value=await self.setting_seen("CLASS_SETTING"))

    async def test_class_modify(self):
        hosts = await self.setting_seen("ALLOWED_HOSTS")
        log(self, "seen", value=["class.example" in seen for seen in hosts])

    @override_settings(METHOD_SETTING="method", CLASS_SETTING="method wins")
    async def test_method_override(self):
        log(
            self,
            "seen",
            value=await self.setting_seen("METHOD_SETTING"),
            cls=await self.setting_seen("CLASS_SETTING"),
        )

    @modify_settings(ALLOWED_HOSTS={"append": "method.example"})
    async def test_method_modify(self):
        hosts = await self.setting_seen("ALLOWED_HOSTS")
        log(self, "seen", value=["method.example" in seen for seen in hosts])

    async def test_override_as_context_manager(self):
        with self.settings(METHOD_SETTING="with"):
            value = await self.setting_seen("METHOD_SETTING")
        log(self, "seen", value=value)

    async def asyncTearDown(self):
        # Method-level overrides end with the test method.
        log(
            self,
            "after test",
            method=getattr(settings, "METHOD_SETTING", None),
            cls=settings.CLASS_SETTING,
            method_host="method.example" in settings.ALLOWED_HOSTS,
        )


class OutsideTests(AsyncSimpleTestCase):
    """The class-level settings of SettingsTests are not in effect in another class."""

    async def test_class_settings_are_gone(self):
        log(
            self,
            "outside",
            cls=getattr(settings, "CLASS_SETTING", None),
            host="class.example" in settings.ALLOWED_HOSTS,
        )


def call_greetings():
    return views.greeting()


class PatchTests(AsyncTestCase):
    async def hello(self):
        response = await self.async_client.get("/hello/")
        return response.json()

    @mock.patch("tests.testapp.views.greeting", return_value="patched")
    async def test_method_patch(self, greeting):
        log(
            self,
            "patched",
            view=await self.hello(),
            on_thread=await sync_to_async(call_greetings)(),
            calls=greeting.call_count,
        )

    @mock.patch("tests.testapp.views.agreeting", return_value="async patched")
    async def test_method_patch_async_function(self, agreeting):
        log(
            self,
            "patched",
            view=await self.hello(),
            is_async_mock=isinstance(agreeting, mock.AsyncMock),
            awaited=agreeting.await_count,
        )

    @mock.patch("tests.testapp.views.greeting", return_value="outer")
    @override_settings(METHOD_SETTING="stacked")
    @mock.patch.object(views, "agreeting", return_value="inner")
    async def test_stacked_decorators(self, agreeting, greeting):
        log(self, "patched", view=await self.hello(), setting=settings.METHOD_SETTING)

    async def asyncTearDown(self):
        log(self, "after test", view=await self.hello())


@mock.patch("tests.testapp.views.greeting", return_value="class patched")
class ClassPatchTests(AsyncTestCase):
    async def test_async(self, greeting):
        response = await self.async_client.get("/hello/")
        log(self, "patched", view=response.json(), calls=greeting.call_count)

    def test_sync(self, greeting):
        response = self.client.get("/hello/")
        log(self, "patched", view=response.json(), calls=greeting.call_count)

    async def asyncSetUp(self):
        # Class-level mock.patch patches test methods only, as in unittest.
        log(self, "setUp sees", value=views.greeting())
