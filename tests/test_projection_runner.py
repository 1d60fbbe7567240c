"""The projection runner against a real PostgreSQL: exactly-once, crashes, parking, rebuild, lock.

Events are written through the real write model; the runner under test is the real one
(``projections/runner.py``) following the real timeline projection, sometimes wrapped to
record, fail or hang (``tests/projection_helpers.py``).
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

from backend.database import DatabaseUrl, runner_home, runner_pool
from domain.application import FollowUpApplication
from projections import runner as runner_module
from projections import tracking
from projections.base import Projection
from projections.rebuild import rebuild
from projections.risk_timeline import RiskTimelineProjection
from projections.runner import ProjectionRunner, advisory_key
from projections.tracking import ProjectionStatus
from tests.projection_helpers import (
    Poisoned,
    Recording,
    expected_rows,
    head,
    timeline_rows,
    tracked,
    until,
    write_tenants,
)
from tests.runner_helpers import catch_up

ROOT = Path(__file__).resolve().parent.parent
TIMELINE = RiskTimelineProjection.name


@pytest.fixture(autouse=True)
def quick_lock_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    # A runner that finds the lock taken retries after LOCK_RETRY_S; don't wait seconds.
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)


@asynccontextmanager
async def running(
    pool: asyncpg.Pool, projection: Projection, *, batch_size: int
) -> AsyncIterator[ProjectionRunner]:
    runner = ProjectionRunner(pool, [projection], batch_size=batch_size, max_batch_size=batch_size)
    await runner.start()
    try:
        yield runner
    finally:
        await runner.stop()


async def caught_up(pool: asyncpg.Pool) -> int:
    """Wait until the timeline's tracking record reaches the log's head; answer the head."""
    async with pool.acquire() as conn:

        async def reached() -> bool:
            return await tracked(conn) == await head(conn)

        await until(reached, "the timeline to reach the head of the log")
        return await head(conn)


async def full_timeline(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await conn.fetch("SELECT * FROM risk_timeline ORDER BY position, tenant_id")
    return [tuple(r.values()) for r in rows]


# --- (a) exactly once, across a restart ----------------------------------------------------------


async def test_each_event_is_projected_exactly_once_across_a_restart(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    about = write_tenants(app, 40)
    first = Recording(RiskTimelineProjection())
    async with running(pool, first, batch_size=7):
        await caught_up(pool)
        about |= write_tenants(app, 15)  # while it runs: it follows the log
        await caught_up(pool)
    stopped_at = first.positions[-1]

    about |= write_tenants(app, 25)  # while nothing runs
    second = Recording(RiskTimelineProjection())
    async with running(pool, second, batch_size=7):
        top = await caught_up(pool)

    assert top == len(about)
    assert first.positions == list(range(1, stopped_at + 1))
    assert second.positions == list(range(stopped_at + 1, top + 1))
    async with pool.acquire() as conn:
        rows = await timeline_rows(conn)
        assert rows == await expected_rows(conn, about)
        assert len(rows) == sum(1 for t in about.values() if t is not None)
        assert await tracked(conn) == top


# --- (b) killed in the middle of a batch ------------------------------------------------


async def test_a_runner_killed_mid_batch_loses_and_repeats_nothing(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    about = write_tenants(app, 1000)  # 5,000 tenant events and 100 others
    batch_size, hold_at = 50, 7
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.runner_child",
        database.url,
        str(batch_size),
        str(hold_at),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    committed, held = 0, (0, 0)
    try:
        while True:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
            assert line, "the child runner exited before holding a batch"
            word, *numbers = line.decode().split()
            if word == "advanced":
                committed = int(numbers[0])
            elif word == "holding":
                held = (int(numbers[0]), int(numbers[1]))
                break
        child.send_signal(signal.SIGKILL)  # rows of batch `hold_at` are written, not committed
        await asyncio.wait_for(child.wait(), timeout=30)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL

    async with pool.acquire() as conn:
        top = await head(conn)
        expected = await expected_rows(conn, about)
        # Some batches committed, the held one did not, the rest never started.
        assert committed == (hold_at - 1) * batch_size
        assert held == (committed + 1, committed + batch_size)
        assert await tracked(conn) == committed
        assert await timeline_rows(conn) == {r for r in expected if r[1] <= committed}

    fresh = Recording(RiskTimelineProjection())
    async with running(pool, fresh, batch_size=500) as runner:
        await caught_up(pool)
        assert runner.active == {TIMELINE}  # the dead process's lock went with it

    # It redid the uncommitted batch and everything after it, and nothing before.
    assert fresh.positions == list(range(committed + 1, top + 1))
    async with pool.acquire() as conn:
        rows = await timeline_rows(conn)
        assert rows == expected
        assert len(rows) == sum(1 for t in about.values() if t is not None) == 5000
        assert await tracked(conn) == top == len(about)


# --- (c) an event that cannot be projected ---------------------------------------------


@pytest.mark.parametrize("in_sql", [False, True], ids=["python-error", "sql-error"])
async def test_an_event_that_cannot_be_projected_is_parked_and_passed(
    app: FollowUpApplication, pool: asyncpg.Pool, in_sql: bool
) -> None:
    about = write_tenants(app, 10)
    async with pool.acquire() as conn:
        expected = await expected_rows(conn, about)
        poison_row = sorted(expected, key=lambda r: r[1])[len(expected) // 2]
        poison = poison_row[1]
        topic = await conn.fetchval(
            "SELECT topic FROM folgja_events WHERE notification_id = $1", poison
        )

    async with running(
        pool, Poisoned(RiskTimelineProjection(), poison, in_sql=in_sql), batch_size=8
    ):
        await caught_up(pool)
        about |= write_tenants(app, 3)  # it goes on past the parked event
        top = await caught_up(pool)

    async with pool.acquire() as conn:
        parked = await tracking.parked(conn)
        assert [(p.projection, p.position, p.topic) for p in parked] == [(TIMELINE, poison, topic)]
        error = (
            "DivisionByZeroError: "
            if in_sql
            else f"ValueError: cannot summarise the event at {poison}"
        )
        assert parked[0].error.startswith(error)
        # (The NAV outbox's row is its migration's: it starts at the log's head, decision 66.)
        statuses = [s for s in await tracking.statuses(conn, top) if s.projection != "nav_outbox"]
        assert statuses == [ProjectionStatus(projection=TIMELINE, position=top, lag=0, parked=1)]
        assert await timeline_rows(conn) == (await expected_rows(conn, about)) - {poison_row}


async def test_a_batch_that_fails_keeps_the_other_events_of_that_batch(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    about = write_tenants(app, 2, notes_every=0)  # 10 events, one batch
    projection = Poisoned(RiskTimelineProjection(), 1, in_sql=True)
    assert await catch_up(pool, projection, batch_size=100) == 10
    async with pool.acquire() as conn:
        assert [p.position for p in await tracking.parked(conn)] == [1]
        rows = await timeline_rows(conn)
        assert {r[1] for r in rows} == set(range(2, 11))
        assert rows == {r for r in await expected_rows(conn, about) if r[1] != 1}


# --- (d) rebuild -------------------------------------------------------------------------


async def test_rebuild_reproduces_identical_rows_and_clears_old_parked_events(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 30)
    projection = RiskTimelineProjection()
    top = await catch_up(pool, projection, batch_size=16)
    async with pool.acquire() as conn:
        before = await full_timeline(conn)
        await tracking.park(conn, TIMELINE, 3, "some.topic", "an old failure")

    progress: list[tuple[str, int, int]] = []
    outcome = await rebuild(
        database.url,
        [projection],
        batch_size=7,
        progress=lambda name, at, head_: progress.append((name, at, head_)),
    )

    assert outcome == {TIMELINE: top}
    # Batches from 7, doubling while behind, until within 7 of the head; the rest inside
    # the swap.
    expected, at, size = [], 0, 7
    while top - at > 7:
        at = min(at + size, top)
        expected.append(at)
        size *= 2
    assert [at for _, at, _ in progress] == [*expected, top]
    async with pool.acquire() as conn:
        assert len(before) == top - 3  # three NoteFiled events are about no tenant
        assert await full_timeline(conn) == before
        assert await tracked(conn) == top
        assert await tracking.parked(conn, TIMELINE) == []


async def test_a_running_runner_goes_on_after_a_rebuild(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    about = write_tenants(app, 20)
    projection = Recording(RiskTimelineProjection())
    async with running(pool, projection, batch_size=9):
        await caught_up(pool)
        async with pool.acquire() as conn:
            before = await full_timeline(conn)
        applied_before = len(projection.positions)

        rebuilt = await rebuild(database.url, [RiskTimelineProjection()])
        assert rebuilt == {TIMELINE: len(about)}
        # The runner goes on from the swapped-in position, on the new table.
        about |= write_tenants(app, 1, notes_every=0)
        top = await caught_up(pool)

    assert projection.positions[applied_before:] == list(range(top - 4, top + 1))
    async with pool.acquire() as conn:
        after = await full_timeline(conn)
        assert await timeline_rows(conn) == await expected_rows(conn, about)
    assert after[: len(before)] == before
    assert [row[1] for row in after[len(before) :]] == list(range(top - 4, top + 1))


# --- (e) one runner per projection ---------------------------------------------------------------


async def advisory_holders(conn: asyncpg.Connection, projection: str) -> int:
    count = await conn.fetchval(
        """
        SELECT count(*) FROM pg_locks
        WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid::bigint = $1
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        advisory_key(projection),
    )
    return int(count)


async def test_only_one_runner_holds_a_projection_at_a_time(
    app: FollowUpApplication,
    pool: asyncpg.Pool,
    database: DatabaseUrl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = 0

    def counted_key(projection: str) -> int:
        nonlocal attempts
        attempts += 1
        return advisory_key(projection)

    monkeypatch.setattr(runner_module, "advisory_key", counted_key)
    about = write_tenants(app, 10)
    other_pool = await asyncpg.create_pool(database.url, min_size=1, max_size=10)
    recorders = [Recording(RiskTimelineProjection()), Recording(RiskTimelineProjection())]
    runners = [
        ProjectionRunner(pool, [recorders[0]], batch_size=5),
        ProjectionRunner(other_pool, [recorders[1]], batch_size=5),
    ]
    try:
        for runner in runners:
            await runner.start()
        async with pool.acquire() as conn:

            async def loser_tried_again() -> bool:
                return attempts >= 6  # the winner once, the loser several times

            await until(loser_tried_again, "the second runner to retry the lock")
            await caught_up(pool)
            active = [TIMELINE in r.active for r in runners]
            assert sorted(active) == [False, True]
            assert await advisory_holders(conn, TIMELINE) == 1
            winner, loser = (0, 1) if active[0] else (1, 0)
            assert recorders[loser].positions == []

            # When the winner stops, the other one takes over where it left off.
            await runners[winner].stop()
            assert runners[winner].active == set()

            async def loser_took_over() -> bool:
                return TIMELINE in runners[loser].active

            await until(loser_took_over, "the second runner to take the lock")
            about |= write_tenants(app, 4)
            top = await caught_up(pool)
            assert await advisory_holders(conn, TIMELINE) == 1
            assert recorders[winner].positions + recorders[loser].positions == list(
                range(1, top + 1)
            )
            assert await timeline_rows(conn) == await expected_rows(conn, about)
    finally:
        for runner in runners:
            await runner.stop()
        await other_pool.close()


async def test_a_home_connection_of_its_own_holds_the_locks_and_takes_them_when_closed(
    app: FollowUpApplication, database: DatabaseUrl
) -> None:
    """As the server runs it (decision 47): the locks on the home connection, the pool's
    connections released without a reset, every lock gone when the runner stops."""
    pool = await runner_pool(database.url, max_size=4)
    write_tenants(app, 20)
    projection = RiskTimelineProjection()
    runner = ProjectionRunner(
        pool, [projection], batch_size=16, connect_home=runner_home(database.url)
    )
    try:
        await runner.start()
        await caught_up(pool)
        async with pool.acquire() as conn:
            assert await advisory_holders(conn, projection.name) == 1
            holder = await conn.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid = 0 AND objid::bigint = $1",
                advisory_key(projection.name),
            )
            # Not a pooled connection: those hold no session lock.
            assert holder != conn.get_server_pid()
    finally:
        await runner.stop()
    async with pool.acquire() as conn:

        async def released() -> bool:
            return await advisory_holders(conn, projection.name) == 0

        await until(released, "the runner's lock released with its home connection")
    await pool.close()
