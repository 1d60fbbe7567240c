"""The projection runner: follows the event log and keeps every read model up to date.

Why not the library's ProjectionRunner: it commits one transaction per event and stops
on the first error. This runner, per projection:

* reads events in batches and writes each batch and its tracking record in one
  transaction (exactly-once: a crash loses and repeats nothing);
* wakes on the event store's NOTIFY instead of polling;
* reads and decodes each stretch of the log once for all its projections
  (:class:`~projections.log_reader.EventReader`), so N projections do not cost N
  decodes; catching up, it reads
  and decodes the next stretch while the projection writes the last one;
* parks an event it cannot process (with error and position) and goes on; parked
  events can be retried after a fix (:func:`retry_parked`);
* holds a PostgreSQL advisory lock, so one process runs each projection;
* takes the projection's *write lock* in shared mode at the start of every batch
  transaction, so a rebuild's swap (which takes it exclusively, see
  ``projections/rebuild.py``) waits for an in-flight batch and holds off new ones;
* announces each new position (NOTIFY) so reads can wait for their own writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import cast

import asyncpg
import msgspec

from projections import events as event_log
from projections import log_reader, tracking
from projections.base import PositionedEvent, Projection
from projections.log_reader import EventReader, LogItem, decode_row

log = logging.getLogger(__name__)

IDLE_RECHECK_S = 1.0
LOCK_RETRY_S = 2.0
ERROR_BACKOFF_S = 1.0
# Catching up, batches grow (doubling) from the live batch size up to this: per batch,
# each projection loads and writes back the rows the batch touches, so far behind the
# head, bigger batches mean far fewer loads and writes of the same rows. 24,000 measured
# best on 200,000 events (8,000: -15 %, 48,000: -7 %); the reader's cache, four batches,
# costs about 100 MB more per process while catching up, and is trimmed once all are live.
CATCH_UP_BATCH = 24_000

# Errors that say nothing about the event: never park for these, let the supervisor retry.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
    asyncpg.InvalidCachedStatementError,
    asyncpg.AdminShutdownError,
    ConnectionError,
    OSError,
)


# First statement of every batch transaction: the projection's write lock, shared (a swap
# takes it exclusively), and no waiting for the WAL flush at commit. A read model is
# derived data: a server crash may lose its last commits, rows and tracking together,
# and they are simply written again; the events themselves are committed durably.
BATCH_START = (
    "SELECT pg_advisory_xact_lock_shared($1), set_config('synchronous_commit', 'off', true)"
)


def advisory_key(projection: str) -> int:
    """Session lock: held by the one process that runs ``projection``."""
    return zlib.crc32(f"folgja.projection.{projection}".encode())


async def running_anywhere(conn: asyncpg.Connection, names: Collection[str]) -> set[str]:
    """The projections some process runs now against this database (it holds their lock).

    Under `folgja run` the HTTP workers run none (decision 51), so a worker asks PostgreSQL
    rather than its own runner.
    """
    keys = {advisory_key(name): name for name in names}
    rows = await conn.fetch(
        "SELECT (l.classid::bigint << 32) | l.objid::bigint AS key FROM pg_locks l "
        "JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
    )
    return {keys[r["key"]] for r in rows if r["key"] in keys}


def write_key(projection: str) -> int:
    """Transaction lock: shared by every batch, exclusive for a rebuild's swap or a retry."""
    return zlib.crc32(f"folgja.projection-write.{projection}".encode())


def rebuild_key(projection: str) -> int:
    """Session lock: held by the one process rebuilding ``projection``."""
    return zlib.crc32(f"folgja.projection-rebuild.{projection}".encode())


class TrackingMoved(Exception):
    """The tracking record changed under us (a rebuild swapped); reload and go on."""


class LockLost(Exception):
    """The connection holding the runner's locks broke; its locks are gone."""


class ProjectionRunner:
    """Runs ``projections`` in this process: each one whose lock it gets.

    With ``only``, it runs just the projections so named (another process runs the
    others); :attr:`projections` still lists them all.

    Connections: one held for the runner's life (it LISTENs and holds the per-projection
    session locks), plus at most ``concurrency`` pooled ones while batches are written;
    an idle projection holds none. So the server's pool is not exhausted however many
    projections there are.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection],
        *,
        only: Collection[str] | None = None,
        batch_size: int = 500,
        max_batch_size: int = CATCH_UP_BATCH,
        concurrency: int = 4,
        on_advance: Callable[[str, int], None] | None = None,
        connect_home: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
    ) -> None:
        self._pool = pool
        # The home connection (LISTEN, session locks): from the pool by default, or a
        # connection of its own, closed rather than released (then the pool needs no
        # reset for its batch connections: see backend.database.runner_pool).
        self._connect_home = connect_home
        self._all = list(projections)
        self._projections = [p for p in self._all if only is None or p.name in only]
        self._batch_size = batch_size
        self._max_batch_size = max(batch_size, max_batch_size)
        self._slots = asyncio.Semaphore(concurrency)
        self._on_advance = on_advance
        # Room for the projections' batches in flight and for the pacing lead between them.
        self._reader = EventReader(
            keep_events=max(log_reader.READER_CACHE_EVENTS, 4 * self._max_batch_size)
        )
        self._wakeups = {p.name: asyncio.Event() for p in self._projections}
        self._tasks: list[asyncio.Task[None]] = []
        self._home: asyncpg.Connection | None = None
        self._home_guard = asyncio.Lock()
        self.active: set[str] = set()

    @property
    def projections(self) -> list[Projection]:
        """Every projection the runner was given (also those ``only`` leaves to others)."""
        return list(self._all)

    @property
    def followed(self) -> list[Projection]:
        """The projections this runner runs."""
        return list(self._projections)

    @property
    def reader(self) -> EventReader:
        return self._reader

    async def start(self) -> None:
        await self._home_connection()
        for projection in self._projections:
            self._tasks.append(asyncio.create_task(self._supervise(projection)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self._reader.close()
        if self._home is not None:
            home, self._home = self._home, None
            with contextlib.suppress(Exception):
                await home.remove_listener(event_log.EVENTS_CHANNEL, self._wake_all)
            await self._let_go(home)

    async def _let_go(self, home: asyncpg.Connection) -> None:
        """Give the home connection up, and every projection lock with it: closing ends the
        session; back to a pool, its locks and LISTEN are dropped first (whatever reset the
        pool does)."""
        if self._connect_home is not None:
            with contextlib.suppress(Exception):
                await home.close()
            return
        if not home.is_closed():
            with contextlib.suppress(Exception):
                await home.execute("SELECT pg_advisory_unlock_all(); UNLISTEN *")
        await self._pool.release(home)

    def _wake_all(self, *_: object) -> None:
        for wakeup in self._wakeups.values():
            wakeup.set()

    async def _home_connection(self) -> asyncpg.Connection:
        """The connection that listens and holds the locks; a new one if it broke."""
        if self._home is not None and not self._home.is_closed():
            return self._home
        if self._home is not None:
            broken, self._home = self._home, None
            with contextlib.suppress(Exception):
                await self._let_go(broken)
        home = await (self._connect_home() if self._connect_home else self._pool.acquire())
        await home.add_listener(event_log.EVENTS_CHANNEL, self._wake_all)
        self._home = home
        return home

    async def _try_lock(self, projection: str) -> tuple[asyncpg.Connection, bool]:
        async with self._home_guard:
            home = await self._home_connection()
            got = await home.fetchval("SELECT pg_try_advisory_lock($1)", advisory_key(projection))
            return home, bool(got)

    async def _unlock(self, home: asyncpg.Connection, projection: str) -> None:
        async with self._home_guard:
            current = self._home
            if current is not None and current is home and not current.is_closed():
                with contextlib.suppress(Exception):
                    await home.execute("SELECT pg_advisory_unlock($1)", advisory_key(projection))

    async def _supervise(self, projection: Projection) -> None:
        """Keep the projection running: never let one failure stop it for good."""
        while True:
            try:
                home, got = await self._try_lock(projection.name)
                if not got:
                    await asyncio.sleep(LOCK_RETRY_S)
                    continue
                try:
                    self.active.add(projection.name)
                    await self._follow(projection, home)
                finally:
                    self._reader.leave(projection.name)
                    self.active.discard(projection.name)
                    await self._unlock(home, projection.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("projection %s failed; restarting", projection.name)
                await asyncio.sleep(ERROR_BACKOFF_S)

    async def _follow(self, projection: Projection, home: asyncpg.Connection) -> None:
        wakeup = self._wakeups[projection.name]
        position: int | None = None
        limit = self._batch_size
        while True:
            wakeup.clear()
            if home.is_closed():
                raise LockLost(projection.name)
            if position is not None:
                await self._reader.pace(projection.name, position)
            # One batch per turn: the slots go round the projections catching up together
            # (so they share the reader's decoded stretches) and leave the pool room.
            async with self._slots, self._pool.acquire() as conn:
                if position is None:
                    # At start, after a quiet spell, after a swap: where the tables are.
                    position = await tracking.ensure_row(conn, projection.name)
                items = await self._reader.after(conn, position, limit, projection.name)
                # Full: behind the head, so the next batch may be bigger; else live again.
                behind = len(items) >= limit
                limit = min(2 * limit, self._max_batch_size) if behind else self._batch_size
                if behind:
                    self._reader.read_ahead(self._pool, items[-1].position, limit)
                if items:
                    try:
                        position = await write_batch(conn, projection, position, items)
                    except TrackingMoved:
                        log.info("projection %s: tracking moved (a rebuild)", projection.name)
                        self._reader.leave(projection.name)
                        position = None
                        limit = self._batch_size
                        continue
                    if self._on_advance is not None:
                        self._on_advance(projection.name, position)
                    continue
            try:
                await asyncio.wait_for(wakeup.wait(), IDLE_RECHECK_S)
            except TimeoutError:
                # Quiet for a while: read where the tables are, in case a rebuild swapped
                # them meanwhile (after a NOTIFY, a failed conditional update tells us).
                position = None


async def write_batch(
    conn: asyncpg.Connection,
    projection: Projection,
    position: int,
    items: Sequence[LogItem],
    *,
    announce: bool = True,
) -> int:
    """Apply ``items`` and advance tracking in one transaction; park what cannot be applied.

    Raises :class:`TrackingMoved` (everything rolled back) if the tracking record is no
    longer at ``position``.
    """
    new_position = items[-1].position
    events = [i.event for i in items]
    if None not in events:
        try:
            async with conn.transaction():
                await conn.execute(BATCH_START, write_key(projection.name))
                await projection.apply(conn, cast(list[PositionedEvent], events))
                if not await tracking.advance(
                    conn, projection.name, position, new_position, announce=announce
                ):
                    raise TrackingMoved
            return new_position
        except TrackingMoved:
            raise
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            log.warning(
                "projection %s: batch failed, retrying one event at a time", projection.name
            )
    return await _write_one_by_one(conn, projection, position, items, announce=announce)


async def _write_one_by_one(
    conn: asyncpg.Connection,
    projection: Projection,
    position: int,
    items: Sequence[LogItem],
    *,
    announce: bool,
) -> int:
    new_position = items[-1].position
    async with conn.transaction():
        await conn.execute(BATCH_START, write_key(projection.name))
        for item in items:
            error = item.error
            if item.event is not None:
                try:
                    async with conn.transaction():  # a savepoint per event
                        await projection.apply(conn, [item.event])
                except TRANSIENT_ERRORS:
                    raise
                except Exception as failure:
                    error = f"{type(failure).__name__}: {failure}"
            if error is not None:
                log.error(
                    "projection %s: parked event at position %s (%s)",
                    projection.name,
                    item.position,
                    error.partition(":")[0],
                )
                await tracking.park(conn, projection.name, item.position, item.topic, error)
        if not await tracking.advance(
            conn, projection.name, position, new_position, announce=announce
        ):
            raise TrackingMoved
    return new_position


# --- parked events ------------------------------------------------------------------------------


class RetryOutcome(msgspec.Struct, frozen=True):
    projection: str
    retried: list[int]
    still_parked: list[tracking.ParkedEvent]


async def retry_parked(
    pool: asyncpg.Pool, projection: Projection, positions: Sequence[int] | None = None
) -> RetryOutcome:
    """Apply each parked event of ``projection`` again, each in its own transaction.

    The event is read from the log by its position. On success its parked row goes in the
    same transaction; on failure the row stays with the new error. Each retry holds the
    projection's write lock exclusively, so no runner batch (in any process) interleaves.
    A projection's ``apply`` must accept an event older than rows already written (as it
    must for any replay): a retried event arrives after the events that followed it.
    """
    retried: list[int] = []
    async with pool.acquire() as conn:
        wanted = [
            p
            for p in await tracking.parked(conn, projection.name)
            if positions is None or p.position in positions
        ]
        for parked in wanted:
            row = await conn.fetchrow(
                "SELECT notification_id, originator_id, originator_version, topic, state "
                f"FROM {event_log.EVENTS_TABLE} WHERE notification_id = $1",
                parked.position,
            )
            item = decode_row(row) if row is not None else None
            error = "EventNotFound: no event at this position" if item is None else item.error
            if item is not None and item.event is not None:
                try:
                    async with conn.transaction():
                        await conn.execute(
                            "SELECT pg_advisory_xact_lock($1)", write_key(projection.name)
                        )
                        if not await tracking.unpark(conn, projection.name, parked.position):
                            continue  # retried meanwhile by someone else
                        await projection.apply(conn, [item.event])
                    retried.append(parked.position)
                    log.info(
                        "projection %s: parked event %s applied", projection.name, item.position
                    )
                    continue
                except TRANSIENT_ERRORS:
                    raise
                except Exception as failure:
                    error = f"{type(failure).__name__}: {failure}"
            log.warning(
                "projection %s: parked event %s still fails (%s)",
                projection.name,
                parked.position,
                (error or "").partition(":")[0],
            )
            await tracking.park(conn, projection.name, parked.position, parked.topic, error or "")
        still = await tracking.parked(conn, projection.name)
    return RetryOutcome(projection.name, retried, still)
