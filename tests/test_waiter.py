"""The position waiter listens on a connection of its own, and survives losing it.

Real PostgreSQL throughout: the listening backend is ended with ``pg_terminate_backend``,
as an administrator, a failover or a restarted pooler would end it.
"""

from __future__ import annotations

import asyncio

import asyncpg

from backend.database import REQUEST_POOL_MAX, DatabaseUrl, request_pool
from domain.application import FollowUpApplication
from projections import events as event_log
from projections import tracking
from projections.waiter import PositionWaiter
from tests.projection_helpers import until, write_tenants

WAITED = "test_waited"  # a projection nothing runs: only this test moves it


async def _head_and_row(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        await tracking.ensure_row(conn, WAITED)
        return await event_log.head_position(conn)


async def _advance(url: str, to: int) -> None:
    """Move the projection's tracking to ``to`` and announce it, as a runner's batch does."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            assert await tracking.advance(conn, WAITED, 0, to)
    finally:
        await conn.close()


async def _terminate(pool: asyncpg.Pool, pid: int) -> None:
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)


async def test_a_waiting_read_wakes_after_the_listening_connection_is_replaced(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 2)
    top = await _head_and_row(pool)
    waiter = PositionWaiter(pool, database.url)
    await waiter.start()
    try:
        first = waiter.listener_pid
        assert first is not None
        await _terminate(pool, first)

        async def listening_again() -> bool:
            return waiter.connects == 2 and waiter.listener_pid not in (None, first)

        await until(listening_again, "the waiter to listen on a new connection")
        waiting = asyncio.create_task(waiter.wait_for(WAITED, top, within_s=60))

        async def waiting_started() -> bool:
            return waiter.waiting == 1

        await until(waiting_started, "the read to start waiting")
        # Only a NOTIFY heard on the new connection can wake it now.
        await _advance(database.url, top)
        assert await asyncio.wait_for(waiting, timeout=60) is True
    finally:
        await waiter.stop()


class GatedWaiter(PositionWaiter):
    """Connects again only once the test opens the gate (the first connect is free)."""

    def __init__(self, pool: asyncpg.Pool, database_url: str) -> None:
        super().__init__(pool, database_url)
        self.gate = asyncio.Event()

    async def _connect(self) -> asyncpg.Connection:
        if self.connects > 0:
            await self.gate.wait()
        return await super()._connect()


async def test_a_position_announced_while_disconnected_still_wakes_the_read(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    write_tenants(app, 2)
    top = await _head_and_row(pool)
    waiter = GatedWaiter(pool, database.url)
    await waiter.start()
    try:
        first = waiter.listener_pid
        assert first is not None
        await _terminate(pool, first)

        async def lost() -> bool:
            return waiter.listener_pid is None

        await until(lost, "the waiter to notice its connection is gone")
        waiting = asyncio.create_task(waiter.wait_for(WAITED, top, within_s=60))

        async def waiting_started() -> bool:
            return waiter.waiting == 1

        await until(waiting_started, "the read to start waiting")
        await _advance(database.url, top)  # announced to nobody
        assert not waiting.done()
        waiter.gate.set()  # reconnects, then reads every projection's position
        assert await asyncio.wait_for(waiting, timeout=60) is True
        assert waiter.connects == 2
    finally:
        await waiter.stop()


async def test_the_waiter_takes_no_connection_from_the_request_pool(
    database: DatabaseUrl,
) -> None:
    pool = await request_pool(database.url)
    waiter = PositionWaiter(pool, database.url)
    await waiter.start()
    try:
        assert pool.get_idle_size() == pool.get_size()  # nothing borrowed
        # Every connection of the pool can still be borrowed at once, none of them the
        # listener. (The timeout only bounds a hang; nothing here is timed.)
        held = [await pool.acquire(timeout=60) for _ in range(REQUEST_POOL_MAX)]
        try:
            pids = {conn.get_server_pid() for conn in held}
            assert len(pids) == REQUEST_POOL_MAX
            assert waiter.listener_pid not in pids
        finally:
            for conn in held:
                await pool.release(conn)
    finally:
        await waiter.stop()
        await pool.close()


async def test_the_request_pool_releases_without_the_reset_query(database: DatabaseUrl) -> None:
    """The rule of decision (request pool): borrowers leave no session state, so the pool
    does not pay a round trip per release to clear it. Session state a borrower did leave
    would stay (shown here with ``application_name``); an open transaction does not."""
    pool = await request_pool(database.url)
    try:
        conn = await pool.acquire()
        pid = conn.get_server_pid()
        await conn.execute("SET application_name = 'left-behind'")
        await conn.execute("BEGIN")
        await conn.execute("CREATE TABLE test_left_open (x int)")
        await pool.release(conn)
        held = [await pool.acquire(timeout=60) for _ in range(REQUEST_POOL_MAX)]
        try:
            same = next(c for c in held if c.get_server_pid() == pid)
            assert await same.fetchval("SHOW application_name") == "left-behind"
            assert not same.is_in_transaction()
            assert await same.fetchval("SELECT to_regclass('test_left_open')") is None
        finally:
            for c in held:
                await pool.release(c)
    finally:
        await pool.close()
