"""A bounded load test (issue 13, item 5): many tablets sync at once, nothing is lost.

Thirty tablets come back online together, each doing what ``python -m bench --sync-load``
times: an initial pull, a push of 20 visit completions, three incremental pulls. Through
the real app (in process, every tablet's requests interleaved on one event loop) and a
real PostgreSQL: no request fails, every pushed item is applied exactly once, and each
tablet got exactly its caseload. Speed is the benchmark's business, not this test's.
"""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.settings import Settings
from bench.sync_load import (
    INCREMENTAL_PULLS,
    KINDS,
    PUSH_ITEMS,
    create_caseloads,
    create_workers,
    lost_items,
    one_tablet,
    register_tablets,
)
from projections import events as event_log
from projections.registry import all_projections

TABLETS = 30


async def test_thirty_tablets_at_once_lose_nothing(database: DatabaseUrl) -> None:
    workers = await create_workers(database.url, TABLETS)
    await asyncio.to_thread(create_caseloads, database, workers, 1)
    app = create_app(Settings(database_url=database.url, run_scheduler=False), database=database)
    async with AsyncTestClient(app) as client:
        conn = await asyncpg.connect(database.url)
        try:
            names = [p.name for p in all_projections()]

            async def settled() -> None:
                """Every read model has the whole log (polled: the app runs on its own loop)."""
                head = await event_log.head_position(conn)
                for _ in range(600):
                    lowest = await conn.fetchval(
                        "SELECT CASE WHEN count(*) = $2 THEN min(position) END "
                        "FROM projection_tracking WHERE projection = ANY($1::text[])",
                        names,
                        len(names),
                    )
                    if lowest is not None and lowest >= head:
                        return
                    await asyncio.sleep(0.05)
                raise AssertionError("the read models did not catch up within 30 s")

            await settled()
            await register_tablets(client, workers)
            latencies: dict[str, list[float]] = {k: [] for k in KINDS}
            errors: list[str] = []
            await asyncio.gather(*(one_tablet(client, w, latencies, errors) for w in workers))
            assert errors == []
            assert len(latencies["initial pull"]) == TABLETS  # each checked its caseload
            assert len(latencies["push of 20"]) == TABLETS
            assert len(latencies["incremental pull"]) == TABLETS * INCREMENTAL_PULLS
            await settled()
            assert await lost_items(conn, workers) == 0
            # Exactly once: one outcome per item, one completion event per visit pushed.
            outcomes = await conn.fetchval(
                "SELECT count(*) FROM sync_outcomes o JOIN devices d ON d.id = o.device_id "
                "WHERE d.user_id = ANY($1::uuid[])",
                [w.user_id for w in workers],
            )
            completions = await conn.fetchval(
                "SELECT count(*) FROM folgja_events WHERE topic = 'domain.visit:VisitCompleted'"
            )
            assert outcomes == completions == TABLETS * PUSH_ITEMS
        finally:
            await conn.close()
