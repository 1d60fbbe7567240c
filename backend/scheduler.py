"""The scheduler: time-based rules, run by exactly one process at a time (the leader).

Every process starts an APScheduler ``AsyncIOScheduler`` that ticks every minute. At start
and at every tick, a process tries to take (or confirms it still holds) a PostgreSQL
session advisory lock on a dedicated connection; only the holder runs the jobs. When the
leader dies, its session ends, the lock is freed, and another process takes over at its
next tick.

Every job is idempotent: it decides from the write model what is due, and a second run (or
a second leader racing the first) finds nothing left to do or loses the optimistic-
concurrency race — nothing is recorded twice. That is also why ``folgja jobs run`` may run
a job beside the leader without taking the lock.

The jobs are registered below, one line each (:data:`JOBS`, ``backend/jobs.py``); every
run is recorded in ``scheduler_jobs`` and logged in one line (decision 64). The tick's
interval is ``FOLGJA_SCHEDULER_TICK_S`` (60 s by default): a job's next run is the last
tick that ran it plus that interval, and a leader's death is noticed by the others within
one interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import zlib
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from backend.alerting import run_time_rules
from backend.auth import sessions
from backend.jobs import Job, JobRegistry, Tick, run_job, utc_now
from backend.write_access import WriteAccess
from domain.errors import ConcurrentChange, DomainError, IllegalStateChange
from projections.handovers import due_handovers

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = zlib.crc32(b"folgja.scheduler.leader")
TICK_INTERVAL_S = 60.0
CONNECT_TIMEOUT_S = 10.0


async def settle_due_handovers(runtime: Runtime) -> list[UUID]:
    """Complete or lapse every handover whose date has come (as of the runtime's clock).

    Answers the handovers this run settled. Safe to run again at any time: a handover
    that is already settled (by an earlier run, a concurrent leader, or a late acceptance)
    is skipped.
    """
    today = runtime.today()
    async with runtime.pool.acquire() as conn:
        due = await due_handovers(conn, today)
    settled: list[UUID] = []
    write = WriteAccess.of(runtime)
    for row in due:
        try:
            result = await write.command(lambda uc: uc.handovers.settle_handover, row.handover_id)
        except (IllegalStateChange, ConcurrentChange):
            # Someone settled or changed it meanwhile; the next tick sees the new state.
            log.info("handover %s changed meanwhile; left for the next tick", row.handover_id)
            continue
        except DomainError as error:
            log.warning("handover %s not settled: %s", row.handover_id, error.rule)
            continue
        if result is not None:
            settled.append(row.handover_id)
    return settled  # run_job logs and records how many


# Expired tokens are kept a day for investigating a sign-in, then deleted.
EXPIRED_TOKEN_GRACE = timedelta(days=1)


async def purge_expired_tokens(runtime: Runtime) -> int:
    """Delete access and refresh tokens that expired over a day ago.

    Housekeeping: an expired token is refused whether or not its row is there, so this
    only keeps ``auth_tokens`` from growing with every sign-in (indexed on expiry). A
    device's latest tokens stay, so that a revoked tablet coming back after any time
    offline is still told to wipe (``sessions.purge_expired_tokens``); device credentials
    never expire.
    """
    async with runtime.pool.acquire() as conn:
        return await sessions.purge_expired_tokens(conn, runtime.clock() - EXPIRED_TOKEN_GRACE)


async def raise_due_alerts(runtime: Runtime) -> int:
    """The time rules (docs/alerts.md): raise, escalate and clear alerts; answer how many
    alerts changed."""
    runs = await run_time_rules(runtime)
    return sum(r.raised + r.escalated + r.cleared for r in runs)


# Every job the leader runs at each tick, in the order registered: one line per job. A
# name is stable once released (its records, metrics and `folgja jobs run NAME` use it).
JOBS = JobRegistry()
register = JOBS.register

register(
    Job(
        name="settle_due_handovers",
        describe="Complete or lapse every handover whose date has come",
        run=settle_due_handovers,
    )
)
register(
    Job(
        name="raise_due_alerts",
        describe="Raise, escalate and clear alerts by the time rules (docs/alerts.md)",
        run=raise_due_alerts,
    )
)
register(
    Job(
        name="purge_expired_tokens",
        describe="Delete access and refresh tokens that expired over a day ago",
        run=purge_expired_tokens,
    )
)


class Scheduler:
    def __init__(
        self,
        runtime: Runtime,
        database_url: str,
        *,
        interval_s: float = TICK_INTERVAL_S,
        jobs: JobRegistry | None = None,
    ) -> None:
        self._runtime = runtime
        self._database_url = database_url
        self._interval_s = interval_s
        self.jobs = JOBS if jobs is None else jobs
        self._scheduler: AsyncIOScheduler | None = None
        self._lock_conn: asyncpg.Connection | None = None
        self._ticking: asyncio.Task[object] | None = None
        self._leading = asyncio.Lock()
        self.is_leader = False

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(event_loop=asyncio.get_running_loop())
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self._interval_s,
            id="folgja-tick",
            coalesce=True,
            max_instances=1,
            # APScheduler wants whole seconds here, at least one (a test ticks faster).
            misfire_grace_time=max(1, round(self._interval_s)),
        )
        scheduler.start()
        self._scheduler = scheduler
        # Elect the leader now rather than at the first tick, a minute away: with several
        # workers (or servers), which one leads is then known (pg_locks) from the start.
        # Only the lock is taken here; the jobs still run at the ticks.
        await self._lead()

    async def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        ticking = self._ticking
        if ticking is not None and not ticking.done():
            ticking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticking
        await self._resign()

    @property
    def interval_s(self) -> float:
        return self._interval_s

    async def tick(self) -> bool:
        """Run every job if this process leads; answer whether it did."""
        self._ticking = asyncio.current_task()
        if not await self._lead():
            return False
        tick = Tick(utc_now(), self._interval_s)
        for job in self.jobs:
            # Records and logs the run; a failed job does not stop the ones after it.
            await run_job(self._runtime, job, trigger="tick", tick=tick)
        return True

    async def _lead(self) -> bool:
        """Take the leader lock, or confirm that our session (and so the lock) is alive."""
        async with self._leading:
            return await self._take_or_keep_lock()

    async def _take_or_keep_lock(self) -> bool:
        try:
            if self._lock_conn is None or self._lock_conn.is_closed():
                self.is_leader = False
                self._lock_conn = await asyncpg.connect(
                    self._database_url,
                    timeout=CONNECT_TIMEOUT_S,
                    # Which process leads shows in pg_stat_activity next to its lock.
                    server_settings={"application_name": f"folgja-scheduler {os.getpid()}"},
                )
            if self.is_leader:
                await self._lock_conn.fetchval("SELECT 1", timeout=CONNECT_TIMEOUT_S)
                return True
            self.is_leader = bool(
                await self._lock_conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY, timeout=CONNECT_TIMEOUT_S
                )
            )
            if self.is_leader:
                log.info("this process now leads the scheduler")
            return self.is_leader
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            log.warning("scheduler lost its database session; will retry", exc_info=True)
            await self._resign()
            return False

    async def _resign(self) -> None:
        """Close the lock's session: PostgreSQL frees the lock with it."""
        self.is_leader = False
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), CONNECT_TIMEOUT_S)
