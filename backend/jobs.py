"""Scheduled jobs: what a job is, the registry of them, and each run's record and log line.

A job is a coroutine ``async def run(runtime) -> object`` under a stable name (the name is
the job's key in ``scheduler_jobs``, a metric label and a log field, so it never changes
once released) with a one-line description. ``backend/scheduler.py`` holds the registry
(:data:`backend.scheduler.JOBS`) and registers each job in one line::

    register(Job(name="settle_due_handovers", describe="...", run=settle_due_handovers))

:func:`run_job` runs one job once, for the leader's tick and for ``folgja jobs run`` alike:
it records the run in ``scheduler_jobs`` when it starts and when it ends (decision 64) and
logs one line about it. A job that fails is recorded and logged and never stops the jobs
after it. The records hold operational facts only: the exception's class and message
(our errors name rules and ids, not people), a count of what the job did, never what.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sized
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import asyncpg
import msgspec

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger("folgja.jobs")

Outcome = Literal["ok", "failed"]
# What started a run: the leader's tick, or an operator's `folgja jobs run`.
Trigger = Literal["tick", "cli"]

# A name is a metric label value and a log field as well as a key: plain and short.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
# The stored error is for recognising a failure, not for debugging it (the log has the
# traceback): a bounded line.
MAX_ERROR_CHARS = 300


@dataclass(frozen=True, kw_only=True)
class Job:
    name: str
    describe: str  # one line, shown by `folgja jobs list`
    run: Callable[[Runtime], Awaitable[object]]


class JobRegistry:
    """The jobs the leader runs at each tick, in the order they were registered."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    def register(self, job: Job) -> Job:
        """Add ``job``; refuses a second job of the same name (its records would mix)."""
        if not _NAME.fullmatch(job.name):
            raise ValueError(f"job name {job.name!r}: lower-case letters, digits and _ only")
        if job.name in self._jobs:
            raise ValueError(f"a job named {job.name!r} is already registered")
        if not job.describe.strip() or "\n" in job.describe:
            raise ValueError(f"job {job.name!r}: describe it in one line")
        self._jobs[job.name] = job
        return job

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def names(self) -> list[str]:
        return list(self._jobs)

    def __iter__(self) -> Iterator[Job]:
        return iter(list(self._jobs.values()))

    def __len__(self) -> int:
        return len(self._jobs)


@dataclass(frozen=True)
class Tick:
    """The tick a run belongs to: when it started, and the interval to the next one."""

    at: datetime
    interval_s: float


class JobRun(msgspec.Struct, frozen=True, kw_only=True):
    """How one run went (what :func:`run_job` answers)."""

    job: str
    outcome: Outcome
    duration_ms: float
    result_count: int | None
    error: str | None


def _described(text: str) -> msgspec.Meta:
    return msgspec.Meta(description=text)


class JobStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A registered job and its last run, as ``scheduler_jobs`` records it."""

    name: Annotated[str, _described("The job's stable name (`folgja jobs run NAME`)")]
    description: Annotated[str, _described("What the job does, in one line")]
    last_started_at: Annotated[
        datetime | None, _described("When its last run started; null: it has never run")
    ]
    last_finished_at: Annotated[datetime | None, _described("When its last run ended")]
    last_outcome: Annotated[
        Outcome | None, _described("How its last finished run ended: `ok` or `failed`")
    ]
    running: Annotated[
        bool,
        _described(
            "Its last run started after the last one ended: under way now, or its process "
            "died during it"
        ),
    ]
    last_success_at: Annotated[datetime | None, _described("When a run last ended `ok`")]
    next_run_at: Annotated[
        datetime | None,
        _described(
            "The leader's last tick that ran it plus the tick interval; null: no tick has "
            "run it yet"
        ),
    ]
    overdue: Annotated[
        bool,
        _described(
            "A whole tick interval has passed since `next_run_at`: no process leads, or "
            "the leader's tick is stuck"
        ),
    ]
    runs: Annotated[int, _described("Runs recorded, by ticks and `folgja jobs run`")]
    failures: Annotated[int, _described("Of those, the runs that failed")]


class JobRecord(JobStatus, frozen=True, kw_only=True):
    """:class:`JobStatus` and the rest of the row, for the operator (`folgja jobs list`);
    ``/health`` answers the status only, unauthenticated."""

    last_result_count: int | None = None
    last_duration_ms: float | None = None
    last_error: str | None = None
    last_trigger: Trigger | None = None
    last_pid: int | None = None
    last_host: str | None = None


def utc_now() -> datetime:
    # Job records are operations' time, the machine's clock: never the runtime's clock,
    # which tests set to the day a rule is about.
    return datetime.now(UTC)


def result_count(result: object) -> int | None:
    """A count of what a job did (the handovers settled, the tokens purged), never what."""
    if isinstance(result, int):
        return int(result)
    if isinstance(result, Sized) and not isinstance(result, str | bytes):
        return len(result)
    return None


def error_line(error: BaseException) -> str:
    message = " ".join(str(error).split())
    line = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return line[:MAX_ERROR_CHARS]


_STARTED = """
INSERT INTO scheduler_jobs AS j
    (job, last_started_at, last_trigger, last_tick_at, tick_interval_s, last_pid, last_host)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (job) DO UPDATE SET
    last_started_at = EXCLUDED.last_started_at,
    last_trigger = EXCLUDED.last_trigger,
    last_tick_at = COALESCE(EXCLUDED.last_tick_at, j.last_tick_at),
    tick_interval_s = COALESCE(EXCLUDED.tick_interval_s, j.tick_interval_s),
    last_pid = EXCLUDED.last_pid,
    last_host = EXCLUDED.last_host
"""

# An upsert too: a run whose start could not be recorded is still counted. Each run adds
# to the counters in one statement, so a CLI run beside the leader's loses no count.
_FINISHED = """
INSERT INTO scheduler_jobs AS j
    (job, runs, failures, last_started_at, last_finished_at, last_outcome, last_error,
     last_result_count, last_duration_ms, last_success_at, last_trigger, last_pid, last_host)
VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (job) DO UPDATE SET
    runs = j.runs + 1,
    failures = j.failures + EXCLUDED.failures,
    last_started_at = EXCLUDED.last_started_at,
    last_finished_at = EXCLUDED.last_finished_at,
    last_outcome = EXCLUDED.last_outcome,
    last_error = EXCLUDED.last_error,
    last_result_count = EXCLUDED.last_result_count,
    last_duration_ms = EXCLUDED.last_duration_ms,
    last_success_at = COALESCE(EXCLUDED.last_success_at, j.last_success_at),
    last_trigger = EXCLUDED.last_trigger,
    last_pid = EXCLUDED.last_pid,
    last_host = EXCLUDED.last_host
"""


async def _record(pool: asyncpg.Pool, sql: str, *args: object) -> None:
    """Write a run's record; a failure to write it is logged, never the job's failure (the
    job's own effects do not depend on it, and the next run writes the row again)."""
    try:
        async with pool.acquire() as conn:
            await conn.execute(sql, *args)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as failed:
        log.warning("could not record a scheduler job run: %s", type(failed).__name__)


async def run_job(
    runtime: Runtime, job: Job, *, trigger: Trigger, tick: Tick | None = None
) -> JobRun:
    """Run ``job`` once: record its start, run it, record and log how it went.

    Never raises for the job's failure (answered as ``outcome="failed"``), only for
    cancellation: a run cut short by a stopping server stays recorded as started, not
    finished (``running`` in its status).
    """
    pid, host = os.getpid(), socket.gethostname()
    started_at = utc_now()
    await _record(
        runtime.pool,
        _STARTED,
        job.name,
        started_at,
        trigger,
        tick.at if tick else None,
        tick.interval_s if tick else None,
        pid,
        host,
    )
    began = time.perf_counter()
    failure: Exception | None = None
    count: int | None = None
    try:
        count = result_count(await job.run(runtime))
    except asyncio.CancelledError:
        raise
    except Exception as raised:
        failure = raised
    duration_ms = round((time.perf_counter() - began) * 1000, 3)
    finished_at = utc_now()
    outcome: Outcome = "ok" if failure is None else "failed"
    error = None if failure is None else error_line(failure)
    await _record(
        runtime.pool,
        _FINISHED,
        job.name,
        int(failure is not None),
        started_at,
        finished_at,
        outcome,
        error,
        count,
        duration_ms,
        finished_at if failure is None else None,
        trigger,
        pid,
        host,
    )
    # One line per run, the same fields as `extra` (for a structured handler) and as the
    # JSON message (for a plain one). The error's class only: its message may be long, and
    # the traceback below the line carries it.
    fields: dict[str, object] = {
        "event": "scheduler_job_run",
        "job": job.name,
        "trigger": trigger,
        "outcome": outcome,
        "duration_ms": duration_ms,
        "result_count": count,
    }
    if failure is not None:
        fields["error"] = type(failure).__name__
    message = msgspec.json.encode(fields).decode()
    if failure is None:
        log.info(message, extra=fields)
    else:
        log.error(message, extra=fields, exc_info=failure)
    return JobRun(
        job=job.name, outcome=outcome, duration_ms=duration_ms, result_count=count, error=error
    )


async def job_statuses(
    conn: asyncpg.Connection, jobs: Iterable[Job], now: datetime | None = None
) -> list[JobRecord]:
    """Every job in ``jobs`` (in order) with its record; a job never run has none."""
    jobs = list(jobs)
    now = now or utc_now()
    rows = {
        r["job"]: r
        for r in await conn.fetch(
            "SELECT * FROM scheduler_jobs WHERE job = ANY($1::text[])", [j.name for j in jobs]
        )
    }
    statuses = []
    for job in jobs:
        row = rows.get(job.name)
        if row is None:
            statuses.append(
                JobRecord(
                    name=job.name,
                    description=job.describe,
                    last_started_at=None,
                    last_finished_at=None,
                    last_outcome=None,
                    running=False,
                    last_success_at=None,
                    next_run_at=None,
                    overdue=False,
                    runs=0,
                    failures=0,
                )
            )
            continue
        next_run_at = None
        overdue = False
        if row["last_tick_at"] is not None and row["tick_interval_s"] is not None:
            interval = timedelta(seconds=row["tick_interval_s"])
            next_run_at = row["last_tick_at"] + interval
            overdue = now > next_run_at + interval
        started, finished = row["last_started_at"], row["last_finished_at"]
        statuses.append(
            JobRecord(
                name=job.name,
                description=job.describe,
                last_started_at=started,
                last_finished_at=finished,
                last_outcome=row["last_outcome"],
                running=started is not None and (finished is None or started > finished),
                last_success_at=row["last_success_at"],
                next_run_at=next_run_at,
                overdue=overdue,
                runs=row["runs"],
                failures=row["failures"],
                last_result_count=row["last_result_count"],
                last_duration_ms=row["last_duration_ms"],
                last_error=row["last_error"],
                last_trigger=row["last_trigger"],
                last_pid=row["last_pid"],
                last_host=row["last_host"],
            )
        )
    return statuses


def status_of(record: JobRecord) -> JobStatus:
    return JobStatus(**{name: getattr(record, name) for name in JobStatus.__struct_fields__})
