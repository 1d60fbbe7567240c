"""Projections split over the server's process and a supervised child process.

``Projections.start`` (what ``backend/runtime.py`` and the read-side benchmark use) runs
the projections ``projection_child`` names in a child ``folgja projections run --only``;
the child is started again when it dies and stopped with the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg
import pytest

from backend.database import DatabaseUrl
from backend.runtime import Projections
from backend.settings import Settings
from domain.application import FollowUpApplication
from domain.codec import decode_event
from projections import events as event_log
from projections.registry import all_projections
from projections.runner import advisory_key
from projections.summaries import summarize
from tests.projection_helpers import until, write_tenants

ROOT = Path(__file__).resolve().parent.parent


async def _positions(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT projection, position FROM projection_tracking")
    return {r["projection"]: r["position"] for r in rows}


async def _lock_holders(conn: asyncpg.Connection, projection: str) -> list[int]:
    """Backend pids holding the projection's session lock in this test's database (other
    tests' databases on the same server take the same keys)."""
    rows = await conn.fetch(
        "SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
        "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
        advisory_key(projection),  # a crc32: below 2**32, so objid alone
    )
    return [r["pid"] for r in rows]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_child_runs_its_projections_is_restarted_and_stopped(
    database: DatabaseUrl, app: FollowUpApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("backend.runtime.CHILD_RESTART_S", 0.1)
    # The child imports the project as the server's worker does.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    write_tenants(app, 20)
    settings = Settings(database_url=database.url, projection_child=("risk_timeline",))
    conn = await asyncpg.connect(database.url)
    running = await Projections.start(database.url, settings)
    try:
        assert running.runner is not None and running.child is not None
        assert [p.name for p in running.runner.followed if p.name == "risk_timeline"] == []
        # The server still serves them all.
        assert len(running.runner.projections) == len(all_projections())
        head = await event_log.head_position(conn)

        async def all_caught_up() -> bool:
            positions = await _positions(conn)
            return len(positions) == len(all_projections()) and all(
                p >= head for p in positions.values()
            )

        await until(all_caught_up, "every projection, in either process, at the head")
        # The child wrote the timeline: a row for each of the 20 tenants' 5 events.
        assert await conn.fetchval("SELECT count(*) FROM risk_timeline") == 20 * 5

        # The risk timeline's lock is held by the child's connection, not ours.
        assert "risk_timeline" not in running.runner.active
        first = running.child.pid
        assert first is not None

        # Killed: started again, and it goes on from where it was.
        os.kill(first, signal.SIGKILL)

        async def restarted() -> bool:
            assert running.child is not None
            return running.child.starts == 2 and running.child.pid not in (None, first)

        await until(restarted, "the child started again")
        write_tenants(app, 5)
        head = await event_log.head_position(conn)
        await until(all_caught_up, "the restarted child caught up")
        second = running.child.pid
        assert second is not None
    finally:
        await running.stop()
    # Stopped with the server: the process is gone and its lock released (PostgreSQL ends
    # the session when it notices the disconnect, a moment after the process exits).
    assert not _alive(second)

    async def released() -> bool:
        return await _lock_holders(conn, "risk_timeline") == []

    await until(released, "the child's lock released")
    await conn.close()


def test_projections_run_command_stops_at_end_of_stdin(
    database: DatabaseUrl, app: FollowUpApplication
) -> None:
    write_tenants(app, 3)

    async def go() -> None:
        env = dict(os.environ, DATABASE_URL=database.url, PYTHONPATH=str(ROOT))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backend.cli",
            "projections",
            "run",
            "--only",
            "risk_timeline",
            "--exit-with-stdin",
            stdin=asyncio.subprocess.PIPE,
            env=env,
        )
        conn = await asyncpg.connect(database.url)
        try:
            head = await event_log.head_position(conn)

            async def caught_up() -> bool:
                return (await _positions(conn)).get("risk_timeline", 0) >= head

            await until(caught_up, "risk_timeline at the head")
            # Only what it was told to run moved (the NAV outbox's row is its migration's,
            # at the log's head when migrated: decision 66).
            moved = {p for p, position in (await _positions(conn)).items() if position > 0}
            assert moved == {"risk_timeline"}
            about_tenant = 0
            for r in await conn.fetch(
                "SELECT originator_id, originator_version, topic, state FROM folgja_events"
            ):
                event = decode_event(r["topic"], r["state"], r[0], r[1])
                about_tenant += summarize(event) is not None
            assert await conn.fetchval("SELECT count(*) FROM risk_timeline") == about_tenant
            assert process.stdin is not None
            process.stdin.close()  # as when the server dies
            assert await asyncio.wait_for(process.wait(), 60) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await conn.close()

    asyncio.run(go())


def test_projections_run_refuses_unknown_names() -> None:
    from backend.cli import main

    assert main(["projections", "run", "--only", "no_such_projection"]) == 2
