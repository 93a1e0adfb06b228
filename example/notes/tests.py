"""Tests of the notes app, written with django-async-testcase.

Run with ``python manage.py test`` or ``python -m pytest``.
"""

import asyncio
import contextlib

from asgiref.sync import sync_to_async

from django_async_testcase import AsyncSimpleTestCase, AsyncTestCase, AsyncTransactionTestCase

from .events import NoteEvents, events
from .models import Note


class NoteViewTests(AsyncTestCase):
    """The async client against async views, with rows made in asyncSetUp."""

    async def asyncSetUp(self):
        # Written in the test's transaction, rolled back after each test.
        self.first = await Note.objects.acreate(title="First", body="Hello")
        await Note.objects.acreate(title="Second")

    async def test_list(self):
        response = await self.async_client.get("/notes/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"notes": ["First", "Second"]})

    async def test_detail(self):
        response = await self.async_client.get(f"/notes/{self.first.pk}/")
        self.assertEqual(response.json()["body"], "Hello")

    async def test_create(self):
        response = await self.async_client.post(
            "/notes/", {"title": "Third"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(await Note.objects.acount(), 3)

    async def test_rows_of_other_tests_were_rolled_back(self):
        self.assertEqual(await Note.objects.acount(), 2)

    def test_sync_tests_see_the_rows_too(self):
        self.assertEqual(Note.objects.count(), 2)
        self.assertEqual(self.client.get("/notes/").json()["notes"], ["First", "Second"])


class NoteEventTests(AsyncTestCase):
    """A loop-bound queue made in asyncSetUp and used by the test."""

    async def asyncSetUp(self):
        # The subscription is left as an async cleanup, after the test.
        self.new_notes = await self.enterAsyncContext(events.subscribe())

    async def test_creating_a_note_publishes_its_id(self):
        response = await self.async_client.post(
            "/notes/", {"title": "Published"}, content_type="application/json"
        )
        note_id = await asyncio.wait_for(self.new_notes.get(), timeout=5)
        self.assertEqual(note_id, response.json()["id"])
        self.assertEqual((await Note.objects.aget(pk=note_id)).title, "Published")


class ArchiverTests(AsyncTestCase):
    """A background task started in asyncSetUp, stopped by an async cleanup."""

    async def asyncSetUp(self):
        self.archived = asyncio.Queue()
        self.subscription = await self.enterAsyncContext(events.subscribe())
        self.archiver = asyncio.create_task(self.archive())
        self.addAsyncCleanup(self.stop_archiver)

    async def archive(self):
        while True:
            note_id = await self.subscription.get()
            note = await Note.objects.aget(pk=note_id)
            await Note.objects.filter(pk=note_id).aupdate(title=f"[archived] {note.title}")
            await self.archived.put(note_id)

    async def stop_archiver(self):
        self.archiver.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.archiver

    async def test_new_notes_are_archived(self):
        response = await self.async_client.post(
            "/notes/", {"title": "Old"}, content_type="application/json"
        )
        note_id = await asyncio.wait_for(self.archived.get(), timeout=5)
        self.assertEqual(note_id, response.json()["id"])
        note = await Note.objects.aget(pk=note_id)
        self.assertEqual(note.title, "[archived] Old")


class NoteEventsUnitTests(AsyncSimpleTestCase):
    """No database: AsyncSimpleTestCase."""

    async def test_only_current_subscribers_get_events(self):
        note_events = NoteEvents()
        async with note_events.subscribe() as queue:
            note_events.publish(1)
        note_events.publish(2)
        self.assertEqual(queue.get_nowait(), 1)
        self.assertTrue(queue.empty())


class CommittedNoteTests(AsyncTransactionTestCase):
    """Real commits, seen from another thread's connection; tables flushed afterwards."""

    async def test_committed_rows_are_visible_to_other_connections(self):
        await Note.objects.acreate(title="Committed")
        count = await sync_to_async(Note.objects.count, thread_sensitive=False)()
        self.assertEqual(count, 1)
