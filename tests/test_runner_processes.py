"""One runner per projection across OS processes: two server-like processes, one lock.

Two children (``tests/runner_process_child.py``) each run the real ProjectionRunner over
``test_seen`` against the same database. Exactly one holds the projection's advisory lock
(seen in ``pg_locks``) and writes; when it is killed, the other takes over where it left
off, and every event ends up applied exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend.database import DatabaseUrl
from domain.application import FollowUpApplication
from projections.runner import advisory_key
from tests.projection_helpers import until, write_tenants
from tests.runner_helpers import (
    SEEN,
    assert_exactly_once,
    create_seen_tables,
    keep_writing,
    seen_caught_up,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def conn(database: DatabaseUrl) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.url)
    await create_seen_tables(connection)
    yield connection
    await connection.close()


class Child:
    """A runner process and what it printed."""

    def __init__(self, label: str, process: asyncio.subprocess.Process) -> None:
        self.label = label
        self.process = process
        self.advanced: list[int] = []
        self.started = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if not line.endswith(b"\n"):
                break  # cut short by the kill
            word, *numbers = line.decode().split()
            if word == "started":
                self.started.set()
            elif word == "advanced":
                self.advanced.append(int(numbers[0]))

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.process.wait(), timeout=30)
        await self._reading


async def spawn(database: DatabaseUrl, label: str) -> Child:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.runner_process_child",
        database.url,
        label,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    return Child(label, process)


async def lock_holders(conn: asyncpg.Connection) -> list[str]:
    """application_name of every session holding the projection's runner lock."""
    rows = await conn.fetch(
        """
        SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid::bigint = $1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """,
        advisory_key(SEEN),
    )
    return sorted(r["application_name"] for r in rows)


async def reported(child: Child, position: int) -> None:
    """Wait until ``child`` has printed that it committed up to ``position``."""

    async def seen() -> bool:
        return bool(child.advanced) and child.advanced[-1] == position

    await until(seen, f"{child.label} to report position {position}")


async def test_two_processes_run_a_projection_one_at_a_time(
    app: FollowUpApplication, conn: asyncpg.Connection, database: DatabaseUrl
) -> None:
    write_tenants(app, 200)  # 1,020 events
    children = [await spawn(database, "runner-a"), await spawn(database, "runner-b")]
    try:
        for child in children:
            await asyncio.wait_for(child.started.wait(), timeout=60)
        first = await seen_caught_up(conn)
        holders = await lock_holders(conn)
        assert len(holders) == 1
        winner = next(c for c in children if c.label == holders[0])
        loser = next(c for c in children if c is not winner)
        await reported(winner, first)
        assert loser.advanced == []

        # More events while both live: still only the holder writes.
        write_tenants(app, 20)
        second = await seen_caught_up(conn)
        assert await lock_holders(conn) == [winner.label]
        await reported(winner, second)
        assert loser.advanced == []

        # Kill the holder (with a stream of events arriving); the other takes over.
        writing = asyncio.create_task(keep_writing(app, rounds=20, tenants=4))
        await winner.kill()

        async def taken_over() -> bool:
            return await lock_holders(conn) == [loser.label]

        await until(taken_over, f"{loser.label} to take the lock")
        await writing
        top = await seen_caught_up(conn)
        assert await lock_holders(conn) == [loser.label]
        await reported(loser, top)
        # It went on from where the dead one's last commit left the tracking record.
        assert loser.advanced[0] > winner.advanced[-1] >= second
        await assert_exactly_once(conn, top)
    finally:
        for child in children:
            await child.kill()

    async def released() -> bool:  # a killed client's session ends a moment later
        return await lock_holders(conn) == []

    await until(released, "the killed runners' sessions to end")
