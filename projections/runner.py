"""The projection runner: follows the event log and keeps every read model up to date.

Why not the library's ProjectionRunner: it is one thread that stops on the first
exception, commits one transaction per event and polls from 100 ms. This runner, per
projection:

* reads events in batches and writes each batch and its tracking record in one
  transaction (exactly-once: a crash loses and repeats nothing);
* wakes on the event store's NOTIFY instead of polling;
* parks an event it cannot process (with error and position) and goes on;
* holds a PostgreSQL advisory lock, so one process runs each projection;
* announces each new position (NOTIFY) so reads can wait for their own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Callable, Sequence

import asyncpg

from domain.codec import decode_event
from projections import events as event_log
from projections import tracking
from projections.base import PositionedEvent, Projection

log = logging.getLogger(__name__)

IDLE_RECHECK_S = 1.0
LOCK_RETRY_S = 2.0
ERROR_BACKOFF_S = 1.0


def advisory_key(projection: str) -> int:
    return zlib.crc32(f"folgja.projection.{projection}".encode())


class TrackingMoved(Exception):
    """The tracking record changed under us (a rebuild reset it); reload and go on."""


class ProjectionRunner:
    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        *,
        batch_size: int = 500,
        on_advance: Callable[[str, int], None] | None = None,
    ) -> None:
        self._pool = pool
        self._projections = list(projections)
        self._batch_size = batch_size
        self._on_advance = on_advance
        self._wakeups = {p.name: asyncio.Event() for p in self._projections}
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
        self.active: set[str] = set()

    async def start(self) -> None:
        self._listener = await self._pool.acquire()
        await self._listener.add_listener(event_log.EVENTS_CHANNEL, self._wake_all)
        for projection in self._projections:
            self._tasks.append(asyncio.create_task(self._supervise(projection)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.remove_listener(event_log.EVENTS_CHANNEL, self._wake_all)
            await self._pool.release(self._listener)
            self._listener = None

    def _wake_all(self, *_: object) -> None:
        for wakeup in self._wakeups.values():
            wakeup.set()

    async def _supervise(self, projection: Projection) -> None:
        """Keep the projection running: never let one failure stop it for good."""
        while True:
            try:
                async with self._pool.acquire() as lock_conn:
                    key = advisory_key(projection.name)
                    if not await lock_conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
                        await asyncio.sleep(LOCK_RETRY_S)
                        continue
                    try:
                        self.active.add(projection.name)
                        await self._follow(projection)
                    finally:
                        self.active.discard(projection.name)
                        with contextlib.suppress(Exception):
                            await lock_conn.execute("SELECT pg_advisory_unlock($1)", key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection %s failed; restarting", projection.name)
                await asyncio.sleep(ERROR_BACKOFF_S)

    async def _follow(self, projection: Projection) -> None:
        wakeup = self._wakeups[projection.name]
        async with self._pool.acquire() as conn:
            position = await tracking.ensure_row(conn, projection.name)
            while True:
                wakeup.clear()
                rows = await event_log.fetch_after(conn, position, self._batch_size)
                if not rows:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wakeup.wait(), IDLE_RECHECK_S)
                    # A rebuild may have reset the tracking record while we were idle.
                    position = await tracking.position(conn, projection.name)
                    continue
                try:
                    position = await write_batch(conn, projection, position, rows)
                except TrackingMoved:
                    position = await tracking.position(conn, projection.name)
                    continue
                if self._on_advance is not None:
                    self._on_advance(projection.name, position)


async def write_batch(
    conn: asyncpg.Connection,
    projection: Projection,
    position: int,
    rows: Sequence[asyncpg.Record],
) -> int:
    """Apply ``rows`` and advance tracking in one transaction; park what cannot be applied."""
    new_position = int(rows[-1]["notification_id"])
    try:
        decoded = [_decode(r) for r in rows]
        async with conn.transaction():
            await projection.apply(conn, decoded)
            if not await tracking.advance(conn, projection.name, position, new_position):
                raise TrackingMoved
        return new_position
    except TrackingMoved:
        raise
    except (asyncpg.PostgresConnectionError, ConnectionError, OSError):
        raise
    except Exception:
        log.warning("projection %s: batch failed, retrying one event at a time", projection.name)
    return await _write_one_by_one(conn, projection, position, rows)


async def _write_one_by_one(
    conn: asyncpg.Connection,
    projection: Projection,
    position: int,
    rows: Sequence[asyncpg.Record],
) -> int:
    new_position = int(rows[-1]["notification_id"])
    async with conn.transaction():
        for row in rows:
            try:
                async with conn.transaction():  # a savepoint per event
                    await projection.apply(conn, [_decode(row)])
            except (asyncpg.PostgresConnectionError, ConnectionError, OSError):
                raise
            except Exception as error:
                log.error(
                    "projection %s: parked event at position %s (%s)",
                    projection.name,
                    row["notification_id"],
                    type(error).__name__,
                )
                await tracking.park(
                    conn,
                    projection.name,
                    int(row["notification_id"]),
                    row["topic"],
                    f"{type(error).__name__}: {error}",
                )
        if not await tracking.advance(conn, projection.name, position, new_position):
            raise TrackingMoved
    return new_position


def _decode(row: asyncpg.Record) -> PositionedEvent:
    return PositionedEvent(
        position=int(row["notification_id"]),
        event=decode_event(
            row["topic"], row["state"], row["originator_id"], row["originator_version"]
        ),
    )


async def rebuild(pool: asyncpg.Pool, projection: Projection) -> None:
    """Empty the projection's tables and reset its tracking, in one transaction.

    A running runner is woken and notices the reset (its next tracking read, or its next
    conditional tracking update, no longer matches) and starts again from zero.
    """
    async with pool.acquire() as conn, conn.transaction():
        for table in projection.tables:
            await conn.execute(f"TRUNCATE {table}")
        await conn.execute("DELETE FROM projection_parked WHERE projection = $1", projection.name)
        await tracking.ensure_row(conn, projection.name)
        await conn.execute(
            "UPDATE projection_tracking SET position = 0, updated_at = now() WHERE projection = $1",
            projection.name,
        )
        # Wake a running runner now, and tell waiters the projection starts again from zero.
        await conn.execute(f"NOTIFY {event_log.EVENTS_CHANNEL}")
        await conn.execute(
            "SELECT pg_notify($1, $2)", tracking.PROJECTION_CHANNEL, f"{projection.name}:0"
        )


async def catch_up(
    pool: asyncpg.Pool,
    projection: Projection,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Run the projection to the log's head once, in this task (used by the CLI)."""
    async with pool.acquire() as conn:
        position = await tracking.ensure_row(conn, projection.name)
        head = await event_log.head_position(conn)
        while position < head:
            rows = await event_log.fetch_after(conn, position, batch_size)
            if not rows:
                break
            position = await write_batch(conn, projection, position, rows)
            if progress is not None:
                progress(position, head)
        return position
