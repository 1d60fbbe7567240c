"""Bounded load tests (issue 13, item 5): many tablets sync at once, nothing is lost.

Tablets come back online together, each doing what ``python -m bench --sync-load`` times:
an initial pull, a push of 20 visit completions, three incremental pulls. Against the real
server (``python -m backend.cli run``, one worker, its projections) and a real PostgreSQL,
every tablet on a connection of its own: no request fails, every pushed item is applied
exactly once, and each tablet got exactly its caseload. Speed is the benchmark's business.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from backend.database import DatabaseUrl
from bench.sync_load import (
    CLIENT_TIMEOUT_S,
    INCREMENTAL_PULLS,
    KINDS,
    PUSH_ITEMS,
    LoadWorker,
    create_caseloads,
    create_workers,
    lost_items,
    one_tablet,
    register_tablets,
)
from tests.sync_server import ServerProcess, projections_caught_up, until


@pytest.fixture
def server(database: DatabaseUrl, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(database, tmp_path / "server.log", workers=1)
    yield process
    process.stop()


async def _all_at_once(server: ServerProcess, workers: list[LoadWorker]) -> list[str]:
    limits = httpx.Limits(max_connections=len(workers), max_keepalive_connections=len(workers))
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=CLIENT_TIMEOUT_S, limits=limits
    ) as client:
        await register_tablets(client, workers)
        latencies: dict[str, list[float]] = {k: [] for k in KINDS}
        errors: list[str] = []
        tablets = asyncio.gather(*(one_tablet(client, w, latencies, errors) for w in workers))
        # A liveness bound, not a speed one: these finish in seconds, or never.
        await asyncio.wait_for(tablets, timeout=240)
    assert len(latencies["initial pull"]) == len(workers)  # each checked its caseload
    assert len(latencies["incremental pull"]) == len(workers) * INCREMENTAL_PULLS or errors
    return errors


async def _exactly_once(database: DatabaseUrl, workers: list[LoadWorker]) -> None:
    conn = await asyncpg.connect(database.url)
    try:
        assert await lost_items(conn, workers) == 0
        outcomes = await conn.fetchval(
            "SELECT count(*) FROM sync_outcomes o JOIN devices d ON d.id = o.device_id "
            "WHERE d.user_id = ANY($1::uuid[])",
            [w.user_id for w in workers],
        )
        completions = await conn.fetchval(
            "SELECT count(*) FROM folgja_events WHERE topic = 'domain.visit:VisitCompleted'"
        )
        assert outcomes == completions == len(workers) * PUSH_ITEMS
    finally:
        await conn.close()


async def test_thirty_tablets_at_once_lose_nothing(
    database: DatabaseUrl, server: ServerProcess
) -> None:
    workers = await create_workers(database.url, 30)
    await asyncio.to_thread(create_caseloads, database, workers, 1)
    await asyncio.to_thread(server.start)
    await asyncio.to_thread(until, lambda: projections_caught_up(database), "caught up")
    assert await _all_at_once(server, workers) == []
    await _exactly_once(database, workers)


async def test_more_pushes_at_once_than_the_pool_holds_never_wedge_the_server(
    database: DatabaseUrl, server: ServerProcess
) -> None:
    """A push holds two request-pool connections at once. With a pool of two and ten
    tablets pushing together, pushes each holding one and waiting for a second would wait
    for ever (seen with the real pool under 200 tablets); all must finish, nothing lost."""
    server.env["FOLGJA_REQUEST_POOL_SIZE"] = "2"
    workers = await create_workers(database.url, 10)
    await asyncio.to_thread(create_caseloads, database, workers, 1)
    await asyncio.to_thread(server.start)
    await asyncio.to_thread(until, lambda: projections_caught_up(database), "caught up")
    assert await _all_at_once(server, workers) == []
    await _exactly_once(database, workers)
