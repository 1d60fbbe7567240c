"""Read-your-writes: wait until a projection has reached a given log position.

Positions arrive by NOTIFY from whichever process runs the projection (and directly
from an in-process runner), so a waiting read returns within milliseconds of the
projection's commit, with no polling sleep. A rebuild's swap announces the swapped-in
position the same way; it is never behind the old one (the swap catches up to the head
while holding off the live runner), so known positions only grow.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import asyncpg

from projections import events as event_log
from projections import tracking


class PositionBeyondHead(Exception):
    """The position asked for is past the newest event: no amount of waiting reaches it."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"position {position} is beyond the event log's head ({head})")
        self.position = position
        self.head = head


class PositionWaiter:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._known: dict[str, int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._listener: asyncpg.Connection | None = None
        self.waiting = 0  # reads waiting right now (for metrics and tests)

    async def start(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(tracking.PROJECTION_CHANNEL, self._on_notify)

    async def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(tracking.PROJECTION_CHANNEL, self._on_notify)
            await self._pool.release(self._listener)
            self._listener = None

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        name, _, value = payload.rpartition(":")
        self.advanced(name, int(value))

    def advanced(self, projection: str, position: int) -> None:
        if position <= self._known[projection]:
            # A rebuild moves a projection back to zero; forget what we knew.
            if position == 0:
                self._known[projection] = 0
            return
        self._known[projection] = position
        asyncio.get_running_loop().create_task(self._notify_waiters())

    async def _notify_waiters(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, projection: str, position: int, within_s: float) -> bool:
        """True once ``projection`` has written up to ``position``; False after ``within_s``.

        Raises :class:`PositionBeyondHead` at once for a position no event has reached.
        """
        if self._known[projection] >= position:
            return True
        async with self._pool.acquire() as conn:
            self.advanced(projection, await tracking.position(conn, projection))
            if self._known[projection] >= position:
                return True
            # Read after the projection's position: a head read first could miss an event
            # committed in between, and refuse a position that was in fact reached.
            head = await event_log.head_position(conn)
        if position > head:
            raise PositionBeyondHead(position, head)
        self.waiting += 1
        try:
            async with asyncio.timeout(within_s), self._changed:
                await self._changed.wait_for(lambda: self._known[projection] >= position)
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1
        return True
