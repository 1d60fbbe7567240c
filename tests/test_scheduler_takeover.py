"""The scheduler's leader dies; another process takes over and runs the jobs (decision
17, 52 and 64).

Two processes each open the server's runtime with a short tick
(``tests/scheduler_process_child.py``, ``FOLGJA_SCHEDULER_TICK_S``) against the same
database. The test kills the one holding the leader lock with SIGKILL (no chance to let
go) and watches, through ``pg_locks`` and ``scheduler_jobs``, the other take the lock and
run every job.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from backend.database import DatabaseUrl
from backend.scheduler import JOBS, LEADER_LOCK_KEY
from tests.projection_helpers import until

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 0.2  # the children's tick: a take-over is seen in well under a second


class Child:
    """A process with the server's runtime and scheduler; what it printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pid = process.pid
        self.started = asyncio.Event()
        self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            if line.split()[:1] == [b"started"]:
                self.started.set()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await asyncio.wait_for(self.process.wait(), timeout=30)
        await self._reading


async def spawn(database: DatabaseUrl) -> Child:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLGJA_")}
    env.update(
        DATABASE_URL=database.url,
        FOLGJA_SCHEDULER_TICK_S=str(TICK_S),
        FOLGJA_RUN_PROJECTIONS="false",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.scheduler_process_child",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    return Child(process)


@pytest.fixture
async def conn(database: DatabaseUrl) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database.url)
    yield connection
    await connection.close()


async def leader_pids(conn: asyncpg.Connection) -> list[int]:
    """The process id each session holding the leader lock in this database names in its
    application_name (pg_locks is server-wide: other tests' databases hold the same key)."""
    rows = await conn.fetch(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
        LEADER_LOCK_KEY,
    )
    return sorted(int(r["application_name"].removeprefix("folgja-scheduler ")) for r in rows)


async def job_rows(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    return {r["job"]: r for r in await conn.fetch("SELECT * FROM scheduler_jobs")}


async def test_the_leaders_death_hands_the_jobs_over_within_a_minute(
    database: DatabaseUrl, conn: asyncpg.Connection
) -> None:
    names = set(JOBS.names())
    children = [await spawn(database), await spawn(database)]
    try:
        for child in children:
            await asyncio.wait_for(child.started.wait(), timeout=60)
        # Each elects at start (decision 52): by now exactly one holds the lock.
        [leader_pid] = await leader_pids(conn)
        [leader] = [c for c in children if c.pid == leader_pid]
        [follower] = [c for c in children if c is not leader]

        async def leader_ran_three_ticks() -> bool:
            found = await job_rows(conn)
            # Whenever looked at, every run so far is the leader's: the follower runs none.
            assert {r["last_pid"] for r in found.values()} <= {leader.pid}
            return found.keys() == names and all(r["runs"] >= 3 for r in found.values())

        await until(leader_ran_three_ticks, "the leader running every job at three ticks")
        runs_before = {name: r["runs"] for name, r in (await job_rows(conn)).items()}

        await leader.kill()  # no goodbye: its session, and the lock, end with the process

        async def follower_leads() -> bool:
            return await leader_pids(conn) == [follower.pid]

        await until(follower_leads, "the follower taking the leader lock", within_s=60)

        async def follower_ran_every_job() -> bool:
            found = await job_rows(conn)
            # Finished, not only started: a run's start names its process before its end
            # counts it (the outcome shown until then is the leader's last).
            return all(
                r["last_pid"] == follower.pid
                and r["last_outcome"] == "ok"
                and r["last_finished_at"] is not None
                and r["last_finished_at"] >= r["last_started_at"]
                for r in found.values()
            )

        await until(follower_ran_every_job, "the follower running every job", within_s=60)
        after = await job_rows(conn)
        assert all(after[name]["runs"] > runs_before[name] for name in names)
        assert all(r["failures"] == 0 for r in after.values())
    finally:
        for child in children:
            await child.kill()
