"""A runner following several live projections writes their batches together (LiveGroup).

Under live load each NOTIFY wakes every projection for a few new events; the runner
writes all their batches in one transaction. These tests check that it does, and that
the guarantees of a batch written alone still hold: exactly once, a poison event parked
while the other projections go on, a rebuild's swap of one projection under the group.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import pytest

from backend.database import DatabaseUrl
from domain.application import FollowUpApplication
from projections import runner as runner_module
from projections import tracking
from projections.base import Projection
from projections.rebuild import rebuild
from projections.risk_timeline import RiskTimelineProjection
from projections.runner import ProjectionRunner
from tests.projection_helpers import (
    Recording,
    expected_rows,
    head,
    timeline_rows,
    tracked,
    until,
    write_tenants,
)
from tests.runner_helpers import (
    SEEN,
    SeenProjection,
    assert_exactly_once,
    create_seen_tables,
    keep_writing,
)

TIMELINE = RiskTimelineProjection.name


@pytest.fixture
async def pool(database: DatabaseUrl) -> AsyncIterator[asyncpg.Pool]:
    connections = await asyncpg.create_pool(database.url, min_size=1, max_size=10)
    async with connections.acquire() as conn:
        await create_seen_tables(conn)
    yield connections
    await connections.close()


@pytest.fixture(autouse=True)
def quick_lock_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)


@asynccontextmanager
async def live_runner(
    pool: asyncpg.Pool, projections: Sequence[Projection]
) -> AsyncIterator[ProjectionRunner]:
    runner = ProjectionRunner(pool, projections, batch_size=50)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def all_caught_up(conn: asyncpg.Connection, names: Sequence[str]) -> int:
    async def reached() -> bool:
        top = await head(conn)
        return all([await tracked(conn, n) == top for n in names])

    await until(reached, f"{', '.join(names)} to reach the head of the log")
    return await head(conn)


async def test_live_batches_of_several_projections_are_written_together_exactly_once(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    about = write_tenants(app, 20)
    recording = Recording(RiskTimelineProjection())
    async with live_runner(pool, [recording, SeenProjection()]) as runner:
        async with pool.acquire() as conn:
            await all_caught_up(conn, [TIMELINE, SEEN])
        # Small saves one after another: each NOTIFY wakes both projections.
        for _ in range(15):
            about |= await asyncio.to_thread(write_tenants, app, 1, per_save=5)
            await asyncio.sleep(0.005)
        async with pool.acquire() as conn:
            top = await all_caught_up(conn, [TIMELINE, SEEN])
        assert runner.group.groups > 0

    assert sorted(recording.positions) == recording.positions  # in order, no repeats
    assert len(set(recording.positions)) == len(recording.positions) == top
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, top)
        assert await timeline_rows(conn) == await expected_rows(conn, about)
        assert await tracking.parked(conn) == []


async def test_a_poison_event_in_a_group_is_parked_and_the_others_go_on(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    about = write_tenants(app, 10)
    async with live_runner(pool, [RiskTimelineProjection(), SeenProjection()]) as runner:
        async with pool.acquire() as conn:
            before = await all_caught_up(conn, [TIMELINE, SEEN])
            poison = before + 7
            await conn.execute("INSERT INTO test_seen_poison VALUES ($1)", poison)
        for _ in range(8):
            about |= await asyncio.to_thread(write_tenants, app, 1, per_save=5)
            await asyncio.sleep(0.005)
        async with pool.acquire() as conn:
            top = await all_caught_up(conn, [TIMELINE, SEEN])
        groups = runner.group.groups

    assert groups > 0
    async with pool.acquire() as conn:
        assert [(p.projection, p.position) for p in await tracking.parked(conn)] == [(SEEN, poison)]
        await assert_exactly_once(conn, top, missing=frozenset({poison}))
        assert await timeline_rows(conn) == await expected_rows(conn, about)


async def test_a_rebuild_swaps_one_projection_of_a_live_group(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 40)
    async with live_runner(pool, [RiskTimelineProjection(), SeenProjection()]):
        async with pool.acquire() as conn:
            await all_caught_up(conn, [TIMELINE, SEEN])
        writing = asyncio.create_task(keep_writing(app, rounds=30, tenants=1))
        outcome = await rebuild(database.url, [SeenProjection()], batch_size=50)
        await writing
        async with pool.acquire() as conn:
            top = await all_caught_up(conn, [TIMELINE, SEEN])
    assert isinstance(outcome[SEEN], int)
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, top)
        rows = await timeline_rows(conn)
        assert {r[1] for r in rows} <= set(range(1, top + 1))
        assert await tracking.parked(conn) == []
