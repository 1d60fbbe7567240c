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
import logging
from collections import defaultdict

import asyncpg

from projections import events as event_log
from projections import tracking

log = logging.getLogger(__name__)


class PositionBeyondHead(Exception):
    """The position asked for is past the newest event: no amount of waiting reaches it."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"position {position} is beyond the event log's head ({head})")
        self.position = position
        self.head = head


# After the listening connection is lost, try again after this long, doubling up to the max.
RECONNECT_S = 0.05
RECONNECT_MAX_S = 5.0
KNOWN_POSITIONS = "SELECT projection, position FROM projection_tracking"


class PositionWaiter:
    """Wakes reads waiting for a projection's position.

    It LISTENs on a connection of its own (``asyncpg.connect(database_url)``), never one
    of the request pool's, and opens a new one when that connection is lost; after each
    (re)connect it reads every projection's position, so a NOTIFY missed in between
    wakes nobody late. ``pool`` serves the short reads of :meth:`wait_for`.
    """

    def __init__(self, pool: asyncpg.Pool, database_url: str) -> None:
        self._pool = pool
        self._url = database_url
        self._known: dict[str, int] = defaultdict(int)
        self._changed = asyncio.Condition()
        self._listener: asyncpg.Connection | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._stopped = False
        self.waiting = 0  # reads waiting right now (for metrics and tests)
        self.connects = 0  # listening connections opened (for tests)

    @property
    def listener_pid(self) -> int | None:
        """The PostgreSQL backend of the listening connection, if it is up (for tests)."""
        listener = self._listener
        if listener is None or listener.is_closed():
            return None
        pid: int = listener.get_server_pid()
        return pid

    async def start(self) -> None:
        self._stopped = False
        await self._listen()

    async def stop(self) -> None:
        self._stopped = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
            self._reconnecting = None
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.remove_termination_listener(self._on_lost)
            with contextlib.suppress(Exception):
                await listener.close(timeout=5)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self._url)

    async def _listen(self) -> None:
        """Open the listening connection, then catch up on positions announced meanwhile."""
        conn = await self._connect()
        try:
            await conn.add_listener(tracking.PROJECTION_CHANNEL, self._on_notify)
            # Read after LISTEN: an announcement is either heard or already in the table.
            rows = await conn.fetch(KNOWN_POSITIONS)
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._on_lost)
        self._listener = conn
        self.connects += 1
        for row in rows:
            self.advanced(row["projection"], row["position"])

    def _on_lost(self, conn: object) -> None:
        if self._stopped or conn is not self._listener:
            return
        self._listener = None
        log.warning("position waiter: listening connection lost; reconnecting")
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = RECONNECT_S
        while not self._stopped:
            try:
                await self._listen()
                log.info("position waiter: listening again")
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as e:
                log.warning("position waiter: reconnect failed (%s); again in %.2f s", e, delay)
            await asyncio.sleep(delay)
            delay = min(2 * delay, RECONNECT_MAX_S)

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
        # Nobody waiting (most NOTIFYs): no task. A read that starts waiting later checks
        # the position it wants against ``_known`` before it waits (``wait_for``).
        if self.waiting:
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
