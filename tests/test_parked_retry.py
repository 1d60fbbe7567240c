"""Parked events are retried after a fix: by function, by the CLI and over HTTP.

``test_seen`` fails for every event whose position is listed in ``test_seen_poison`` (the
bug); deleting that row is the fix. A retry re-reads each parked event from the log,
applies it in its own transaction, and unparks it on success or keeps it, with the new
error, on failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from litestar.testing import TestClient

from backend import runtime as runtime_module
from backend.app import create_app
from backend.cli import main
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.application import FollowUpApplication
from projections import registry, tracking
from projections import runner as runner_module
from projections.base import Projection
from projections.runner import retry_parked
from tests.api import assert_problem
from tests.conftest import Clock
from tests.projection_helpers import write_tenants
from tests.runner_helpers import (
    SEEN,
    SeenProjection,
    assert_exactly_once,
    catch_up,
    create_seen_tables,
)


async def _prepare(database: DatabaseUrl, poison: list[int]) -> None:
    conn = await asyncpg.connect(database.url)
    try:
        await create_seen_tables(conn)
        await conn.executemany("INSERT INTO test_seen_poison VALUES ($1)", [(p,) for p in poison])
    finally:
        await conn.close()


async def _fix(database: DatabaseUrl, position: int) -> None:
    conn = await asyncpg.connect(database.url)
    try:
        await conn.execute("DELETE FROM test_seen_poison WHERE position = $1", position)
    finally:
        await conn.close()


@pytest.fixture
def with_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server and the CLI know the test projection too."""
    real = registry.all_projections

    def all_projections() -> list[Projection]:
        return [*real(), SeenProjection()]

    monkeypatch.setattr(registry, "all_projections", all_projections)
    monkeypatch.setattr(runtime_module, "all_projections", all_projections)


async def test_a_parked_event_is_applied_once_fixed_and_kept_while_it_still_fails(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    await _prepare(database, [7, 20])
    write_tenants(app, 10)  # 51 events
    projection = SeenProjection()
    assert await catch_up(pool, projection, batch_size=8) == 51
    async with pool.acquire() as conn:
        first = await tracking.parked(conn, SEEN)
        assert [p.position for p in first] == [7, 20]
        assert first[0].error == "ValueError: the event at 7 is marked as poison"
        await assert_exactly_once(conn, 51, missing={7, 20})
        topics = await conn.fetch(
            "SELECT topic FROM folgja_events WHERE notification_id = ANY($1) "
            "ORDER BY notification_id",
            [7, 20],
        )
        assert [p.topic for p in first] == [r["topic"] for r in topics]

    # Not fixed yet: both stay parked, nothing is written.
    outcome = await retry_parked(pool, projection)
    assert outcome.retried == []
    assert [p.position for p in outcome.still_parked] == [7, 20]
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, 51, missing={7, 20})

    # One fixed: that one is applied (once) and unparked, the other stays.
    await _fix(database, 20)
    outcome = await retry_parked(pool, projection)
    assert outcome.retried == [20]
    assert [(p.position, p.error) for p in outcome.still_parked] == [
        (7, "ValueError: the event at 7 is marked as poison")
    ]
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, 51, missing={7})

    await _fix(database, 7)
    outcome = await retry_parked(pool, projection)
    assert (outcome.retried, outcome.still_parked) == ([7], [])
    again = await retry_parked(pool, projection)
    assert (again.retried, again.still_parked) == ([], [])
    async with pool.acquire() as conn:
        await assert_exactly_once(conn, 51)
        assert await tracking.parked(conn) == []


async def test_a_retry_keeps_the_new_error(
    app: FollowUpApplication, pool: asyncpg.Pool, database: DatabaseUrl
) -> None:
    await _prepare(database, [3])
    write_tenants(app, 1, notes_every=0)
    assert await catch_up(pool, SeenProjection()) == 5

    class StillBroken(SeenProjection):
        async def apply(self, conn: asyncpg.Connection, events: Any) -> None:
            raise RuntimeError("a different bug")

    outcome = await retry_parked(pool, StillBroken())
    assert outcome.retried == []
    assert [(p.position, p.error) for p in outcome.still_parked] == [
        (3, "RuntimeError: a different bug")
    ]


def test_the_cli_retries_parked_events(
    app: FollowUpApplication,
    database: DatabaseUrl,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    with_seen: None,
) -> None:
    monkeypatch.setenv("DATABASE_URL", database.url)
    asyncio.run(_prepare(database, [4]))
    write_tenants(app, 2, notes_every=0)

    async def project() -> None:
        pool = await asyncpg.create_pool(database.url, min_size=1, max_size=2)
        try:
            await catch_up(pool, SeenProjection())
        finally:
            await pool.close()

    asyncio.run(project())
    assert main(["projections", "retry-parked", SEEN]) == 1
    assert "test_seen: 0 retried, 1 still parked" in capsys.readouterr().out
    asyncio.run(_fix(database, 4))
    assert main(["projections", "retry-parked"]) == 0
    out = capsys.readouterr().out
    assert "test_seen: 1 retried, 0 still parked" in out
    assert "risk_timeline: 0 retried, 0 still parked" in out
    assert main(["projections", "retry-parked", "no_such_projection"]) == 2


def _until(condition: Callable[[], bool], what: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_http_shows_parked_events_and_retries_them_after_a_fix(
    app: FollowUpApplication,
    database: DatabaseUrl,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    with_seen: None,
) -> None:
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)
    asyncio.run(_prepare(database, [6]))
    settings = Settings(database_url=database.url, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        write_tenants(app, 3, notes_every=0)  # 15 events; the server's runner follows

        def seen_status() -> dict[str, Any]:
            health = client.get("/health").json()
            return next(p for p in health["projections"] if p["projection"] == SEEN)

        _until(lambda: seen_status()["position"] == 15, "the server to project test_seen")
        health = client.get("/health").json()
        assert health["status"] == "degraded"
        assert [(p["projection"], p["position"]) for p in health["parked"]] == [(SEEN, 6)]
        assert seen_status() == {"projection": SEEN, "position": 15, "lag": 0, "parked": 1}

        response = client.post(f"/projections/{SEEN}/parked/retry")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["retried"] == []
        assert [p["position"] for p in body["still_parked"]] == [6]

        asyncio.run(_fix(database, 6))
        response = client.post(f"/projections/{SEEN}/parked/retry")
        assert response.status_code == 200, response.text
        assert response.json() == {"projection": SEEN, "retried": [6], "still_parked": []}
        health = client.get("/health").json()
        assert health["status"] == "ok"
        assert health["parked"] == []
        assert seen_status()["parked"] == 0

        # The runner goes on as before.
        write_tenants(app, 1, notes_every=0)
        _until(lambda: seen_status()["position"] == 20, "the server to project new events")

        assert_problem(client.post("/projections/nothing/parked/retry"), 404, "name", "exists")

    async def check() -> None:
        conn = await asyncpg.connect(database.url)
        try:
            await assert_exactly_once(conn, 20)
        finally:
            await conn.close()

    asyncio.run(check())
