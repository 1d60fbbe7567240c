"""Rebuild while serving: new tables fill up beside the live ones, then one swap.

A live ProjectionRunner keeps running and new events keep arriving throughout; reads keep
seeing the old, complete data until the swap and the new, complete data after it; every
event ends up applied exactly once (``test_seen`` has no unique key on the position, so a
repeat would show). A rebuild killed at any point leaves the live tables serving.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.database import DatabaseUrl
from domain.application import FollowUpApplication
from projections import runner as runner_module
from projections import tracking
from projections.base import Projection
from projections.handovers import HandoverScheduleProjection
from projections.rebuild import RebuildRefused, rebuild
from projections.risk_timeline import RiskTimelineProjection
from projections.runner import ProjectionRunner, write_key
from tests.projection_helpers import head, tracked, until, write_tenants
from tests.runner_helpers import (
    SEEN,
    Gated,
    SeenProjection,
    assert_exactly_once,
    create_seen_tables,
    keep_writing,
    seen_caught_up,
)

ROOT = Path(__file__).resolve().parent.parent


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
async def live_runner(pool: asyncpg.Pool, projection: Projection) -> AsyncIterator[None]:
    runner = ProjectionRunner(pool, [projection], batch_size=50)
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()


async def table_shape(conn: asyncpg.Connection, table: str) -> dict[str, Any]:
    """What must survive a swap: the table's oid changes, its names and definitions don't."""
    indexes = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = 'public' AND tablename = $1 ORDER BY indexname",
        table,
    )
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = $1::regclass ORDER BY conname",
        f"public.{table}",
    )
    return {
        "indexes": [tuple(r) for r in indexes],
        "constraints": [tuple(r) for r in constraints],
        "oid": await conn.fetchval("SELECT $1::regclass::oid", f"public.{table}"),
        "copies": await conn.fetchval("SELECT count(*) FROM pg_class WHERE relname = $1", table),
    }


async def rebuild_schemas(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'rebuild%' ORDER BY 1"
    )
    return [r["nspname"] for r in rows]


async def sample_reads(pool: asyncpg.Pool, stop: asyncio.Event) -> list[tuple[int, int, int]]:
    """What a reader sees, again and again, in one statement (one snapshot) each time."""
    samples = []
    async with pool.acquire() as conn:
        while not stop.is_set():
            row = await conn.fetchrow(
                """
                SELECT (SELECT count(*) FROM test_seen) AS rows,
                       (SELECT count(DISTINCT position) FROM test_seen) AS events,
                       (SELECT position FROM projection_tracking WHERE projection = $1)
                         AS tracked
                """,
                SEEN,
            )
            samples.append((row["rows"], row["events"], row["tracked"]))
            await asyncio.sleep(0.002)
    return samples


async def test_rebuild_while_serving_swaps_in_complete_tables(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 300)  # 1,530 events
    async with live_runner(pool, SeenProjection()), pool.acquire() as conn:
        before = await seen_caught_up(conn)
        shape_before = await table_shape(conn, SEEN)
        stop_reading = asyncio.Event()
        reads = asyncio.create_task(sample_reads(pool, stop_reading))

        gated = Gated(SeenProjection(), pause_at=3)
        rebuilding = asyncio.create_task(
            rebuild(database.url, [gated], batch_size=100, max_batch_size=100)
        )
        await asyncio.wait_for(gated.paused.wait(), timeout=60)

        # Mid-rebuild: the new table holds two batches, the live one everything.
        assert await rebuild_schemas(conn) == ["rebuild_test_seen"]
        assert await conn.fetchval("SELECT count(*) FROM rebuild_test_seen.test_seen") == 200
        assert await tracking.rebuilds(conn) == [
            tracking.RebuildStatus(SEEN, "rebuild_test_seen", 200)
        ]
        await assert_exactly_once(conn, before)
        # The live runner keeps following new events meanwhile.
        await asyncio.to_thread(write_tenants, app, 20)
        mid = await seen_caught_up(conn)
        assert mid > before
        await assert_exactly_once(conn, mid)

        # Events keep arriving while the rebuild finishes and swaps.
        gated.resume.set()
        writing = asyncio.create_task(keep_writing(app, rounds=30, tenants=3))
        outcome = await rebuilding
        await writing
        stop_reading.set()
        samples = await reads
        top = await seen_caught_up(conn)

        swapped_at = outcome[SEEN]
        assert isinstance(swapped_at, int)
        assert mid <= swapped_at <= top
        await assert_exactly_once(conn, top)
        assert await tracked(conn, SEEN) == top == await head(conn)
        assert await tracking.parked(conn) == []
        # The old table is gone, the new one has the live names, no rebuild schema is left.
        shape_after = await table_shape(conn, SEEN)
        assert shape_after["oid"] != shape_before["oid"]
        assert shape_after["copies"] == 1
        assert shape_after["indexes"] == shape_before["indexes"]
        assert shape_after["constraints"] == shape_before["constraints"]
        assert await rebuild_schemas(conn) == []
        # New rows still get identities from the new table's own sequence.
        assert await conn.fetchval("SELECT count(DISTINCT id) FROM test_seen") == top

    # Every read saw complete data: one row per event up to the tracked position; never
    # empty, never the half-built table, never going back.
    assert len(samples) > 10
    assert all(rows == events == at > 0 for rows, events, at in samples), samples[:5]
    positions = [at for _, _, at in samples]
    assert positions == sorted(positions)
    assert positions[0] >= before and positions[-1] <= top


async def test_a_second_rebuild_right_after_the_first_works_and_keeps_the_names(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 40)
    projections: list[Projection] = [
        RiskTimelineProjection(),
        HandoverScheduleProjection(),
        SeenProjection(),
    ]
    tables = [t for p in projections for t in p.tables]
    async with pool.acquire() as conn:
        shapes = {t: await table_shape(conn, t) for t in tables}
        top = await head(conn)
        timelines = []
        for _ in range(2):
            outcome = await rebuild(database.url, projections, batch_size=64)
            assert outcome == {p.name: top for p in projections}
            for table in tables:
                shape = await table_shape(conn, table)
                assert shape["indexes"] == shapes[table]["indexes"]
                assert shape["constraints"] == shapes[table]["constraints"]
                assert shape["copies"] == 1
            await assert_exactly_once(conn, top)
            timelines.append(
                await conn.fetch("SELECT * FROM risk_timeline ORDER BY tenant_id, position")
            )
            assert await rebuild_schemas(conn) == []
        # The migration's own index names are still there for later migrations.
        assert "handover_schedule_open_idx" in {
            name for name, _ in shapes["handover_schedule"]["indexes"]
        }
    assert len(timelines[0]) == top - 4  # four NoteFiled events are about no tenant
    assert timelines[0] == timelines[1]


async def test_two_rebuilds_of_one_projection_at_once_are_refused(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 30)
    gated = Gated(SeenProjection(), pause_at=2)
    first = asyncio.create_task(rebuild(database.url, [gated], batch_size=20, max_batch_size=20))
    await asyncio.wait_for(gated.paused.wait(), timeout=60)
    second = await rebuild(database.url, [SeenProjection()])
    assert isinstance(second[SEEN], RebuildRefused)
    gated.resume.set()
    assert (await first)[SEEN] == 153
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, 153)


async def test_a_table_a_copy_would_lose_things_of_is_refused(
    pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    async with pool.acquire() as conn:
        await conn.execute("CREATE VIEW seen_view AS SELECT position FROM test_seen")
    outcome = await rebuild(database.url, [SeenProjection()])
    assert isinstance(outcome[SEEN], RebuildRefused)
    assert "1 views" in str(outcome[SEEN])
    async with pool.acquire() as conn:
        assert await rebuild_schemas(conn) == []


async def test_a_table_changed_during_the_rebuild_is_not_swapped_back(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 30)
    gated = Gated(SeenProjection(), pause_at=2)
    rebuilding = asyncio.create_task(
        rebuild(database.url, [gated], batch_size=20, max_batch_size=20)
    )
    await asyncio.wait_for(gated.paused.wait(), timeout=60)
    async with pool.acquire() as conn:
        # A migration runs meanwhile; the copy has the old shape.
        await conn.execute("ALTER TABLE test_seen ADD COLUMN added_later text")
        gated.resume.set()
        outcome = await rebuilding
        assert isinstance(outcome[SEEN], RebuildRefused)
        assert "changed during the rebuild" in str(outcome[SEEN])
        assert await conn.fetchval("SELECT count(*) FROM test_seen") == 0  # untouched
        assert await conn.fetchval(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'added_later'"
        )
        assert await rebuild_schemas(conn) == []


@pytest.mark.parametrize("mode", ["catching-up", "in-swap"])
async def test_a_rebuild_killed_midway_leaves_the_live_tables_serving(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl, mode: str
) -> None:
    write_tenants(app, 400)  # 2,040 events: the swap has the last 40 to write
    async with live_runner(pool, SeenProjection()), pool.acquire() as conn:
        before = await seen_caught_up(conn)
        shape = await table_shape(conn, SEEN)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.rebuild_child",
            database.url,
            mode,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        try:
            while True:
                line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
                assert line, "the rebuild exited before holding"
                assert not line.startswith(b"finished"), line
                if line.startswith(b"holding"):
                    break
            if mode == "in-swap":
                # The swap holds the write lock: the live runner is held off meanwhile.
                holder = await conn.fetchval(
                    "SELECT a.application_name FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.mode = 'ExclusiveLock' "
                    "AND l.objid::bigint = $1",
                    write_key(SEEN),
                )
                assert holder == f"folgja rebuild {SEEN}"
            else:
                assert await conn.fetchval("SELECT count(*) FROM rebuild_test_seen.test_seen")
            child.send_signal(signal.SIGKILL)
            await asyncio.wait_for(child.wait(), timeout=30)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()

        # The live table is the same table, complete, and the runner goes on.
        same = {**shape, "copies": 2}  # the live one and the crashed rebuild's
        assert await table_shape(conn, SEEN) == same
        await assert_exactly_once(conn, before)
        write_tenants(app, 10)
        top = await seen_caught_up(conn)
        await assert_exactly_once(conn, top)
        assert await table_shape(conn, SEEN) == same

        # The crash left its schema; the next rebuild drops it and succeeds.
        async def session_ended() -> bool:  # a killed client's session ends a moment later
            return not await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                f"folgja rebuild {SEEN}",
            )

        await until(session_ended, "the killed rebuild's session to end")
        assert await rebuild_schemas(conn) == ["rebuild_test_seen"]
        assert [r.projection for r in await tracking.rebuilds(conn)] == [SEEN]
        outcome = await rebuild(database.url, [SeenProjection()])
        assert outcome == {SEEN: top}
        await assert_exactly_once(conn, top)
        assert await rebuild_schemas(conn) == []
        assert (await table_shape(conn, SEEN))["indexes"] == shape["indexes"]


async def test_waiters_hear_the_swapped_in_position(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    from projections.waiter import PositionWaiter

    write_tenants(app, 20)
    waiter = PositionWaiter(pool, database.url)
    await waiter.start()
    try:
        async with pool.acquire() as conn:
            top = await head(conn)
        # Nothing runs the projection: only the swap can move it to the head.
        waiting = asyncio.create_task(waiter.wait_for(SEEN, top, within_s=60))

        async def waiting_started() -> bool:
            return waiter.waiting == 1

        await until(waiting_started, "the read to start waiting")
        assert not waiting.done()
        assert await rebuild(database.url, [SeenProjection()]) == {SEEN: top}
        assert await asyncio.wait_for(waiting, timeout=60) is True
    finally:
        await waiter.stop()


def test_the_cli_progress_line_shows_position_head_rate_and_eta(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from backend.cli import RebuildProgress

    bar = RebuildProgress(["a", "b"], every_s=0)
    bar.update("a", 600, 1000)
    bar.update("b", 500, 1000)  # the slowest one counts
    bar.finish()
    line = capsys.readouterr().err.split("\r")[-1]
    assert line.startswith("rebuild 2 projections")
    assert "[###############---------------] 500/1000" in line
    assert "events/s" in line
    assert "ETA " in line
