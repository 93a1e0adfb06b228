"""In-process notifications about new notes, for code running on the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class NoteEvents:
    """Sends the id of each new note to every current subscriber's queue."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[int]] = set()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[int]]:
        """A queue that receives the ids of notes created while the block runs."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def publish(self, note_id: int) -> None:
        for queue in self._queues:
            queue.put_nowait(note_id)


events = NoteEvents()
