"""A projection that makes exactly-once visible, for runner, rebuild and retry tests.

``test_seen`` gets one row per event and has no unique key on the position, so an event
applied twice shows as two rows and a lost one as none. Events whose position is listed
in ``test_seen_poison`` fail (the "bug"); deleting the row is the "fix". The tables are
made by the tests in their own database (test scaffolding, not a migration). It has an
identity column, a CHECK constraint and a named index, which a rebuild must carry over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import asyncpg

from domain.application import FollowUpApplication
from projections import events as event_log
from projections import tracking
from projections.base import PositionedEvent, Projection
from projections.log_reader import EventReader
from projections.runner import write_batch, write_key
from tests.projection_helpers import Wrapped, head, report, tracked, until, write_tenants

SEEN = "test_seen"

SCHEMA = """
    CREATE TABLE test_seen (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        position bigint NOT NULL,
        event_type text NOT NULL CONSTRAINT test_seen_type_named CHECK (event_type <> '')
    );
    CREATE INDEX test_seen_by_position ON test_seen (position);
    CREATE TABLE test_seen_poison (position bigint PRIMARY KEY);
"""


async def create_seen_tables(conn: asyncpg.Connection) -> None:
    await conn.execute(SCHEMA)


class SeenProjection:
    name = SEEN
    tables: tuple[str, ...] = (SEEN,)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        positions = [e.position for e in events]
        poisoned = await conn.fetchval(
            "SELECT min(position) FROM test_seen_poison WHERE position = ANY($1::bigint[])",
            positions,
        )
        if poisoned is not None:
            raise ValueError(f"the event at {poisoned} is marked as poison")
        await conn.execute(
            "INSERT INTO test_seen (position, event_type) "
            "SELECT * FROM unnest($1::bigint[], $2::text[])",
            positions,
            [e.event.type_name for e in events],
        )


async def keep_writing(app: FollowUpApplication, rounds: int, tenants: int) -> None:
    """Store ``rounds`` small sets of events one after another, off the event loop."""

    def write() -> None:
        for _ in range(rounds):
            write_tenants(app, tenants, per_save=5)

    await asyncio.to_thread(write)


async def seen_counts(conn: asyncpg.Connection) -> dict[int, int]:
    rows = await conn.fetch("SELECT position, count(*) AS n FROM test_seen GROUP BY position")
    return {r["position"]: r["n"] for r in rows}


async def assert_exactly_once(
    conn: asyncpg.Connection, top: int, *, missing: frozenset[int] = frozenset()
) -> None:
    """Every event up to ``top`` (but ``missing``) has exactly one row; nothing else does."""
    counts = await seen_counts(conn)
    twice = {p: n for p, n in counts.items() if n != 1}
    assert twice == {}, f"events applied more than once: {sorted(twice)[:10]}"
    assert set(counts) == set(range(1, top + 1)) - missing


async def seen_caught_up(conn: asyncpg.Connection) -> int:
    """Wait until ``test_seen`` has tracked the head of the log; answer the head."""

    async def reached() -> bool:
        return await tracked(conn, SEEN) == await head(conn)

    await until(reached, "test_seen to reach the head of the log")
    return await head(conn)


class Gated(Wrapped):
    """Stops before its ``pause_at``-th batch until ``resume`` is set (same event loop)."""

    def __init__(self, inner: SeenProjection, pause_at: int) -> None:
        super().__init__(inner)
        self.pause_at = pause_at
        self.batches = 0
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        self.batches += 1
        if self.batches == self.pause_at:
            self.paused.set()
            await self.resume.wait()
        await self.inner.apply(conn, events)


class HoldInRebuild(Wrapped):
    """For a rebuild in a child process: holds forever at a point, announced on stdout.

    ``catching-up``: at the third batch, before the swap. ``in-swap``: at the first batch
    written while its connection holds the projection's write lock exclusively, i.e.
    inside the swap transaction.
    """

    def __init__(self, inner: SeenProjection, mode: str) -> None:
        super().__init__(inner)
        self.mode = mode
        self.batches = 0

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        self.batches += 1
        await self.inner.apply(conn, events)
        if self.mode == "catching-up":
            hold = self.batches == 3
        else:
            hold = await conn.fetchval(
                """
                SELECT EXISTS (SELECT 1 FROM pg_locks
                               WHERE pid = pg_backend_pid() AND locktype = 'advisory'
                                 AND mode = 'ExclusiveLock' AND objid::bigint = $1)
                """,
                write_key(self.name),
            )
        if hold:
            report("holding", events[0].position, events[-1].position)
            await asyncio.Event().wait()


async def catch_up(
    pool: asyncpg.Pool,
    projection: Projection,
    *,
    batch_size: int = 500,
    progress: Callable[[int, int], None] | None = None,
    reader: EventReader | None = None,
) -> int:
    """Run the projection to the log's head once, in this task (no runner, no locks)."""
    reader = reader or EventReader()
    async with pool.acquire() as conn:
        position = await tracking.ensure_row(conn, projection.name)
        head = await event_log.head_position(conn)
        while position < head:
            items = await reader.after(conn, position, batch_size)
            if not items:
                break
            position = await write_batch(conn, projection, position, items)
            if progress is not None:
                progress(position, head)
        return position
