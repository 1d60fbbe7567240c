"""The scheduler's jobs: the registry, each run's record and log line, and /health
(decision 64), against real PostgreSQL. The leader's take-over across processes:
tests/test_scheduler_takeover.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.jobs import Job, JobRegistry, job_statuses, run_job
from backend.runtime import Runtime
from backend.scheduler import JOBS, Scheduler
from backend.settings import Settings
from tests.conftest import Clock

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 0.2  # the children's tick: a take-over is seen in well under a second


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    # The app's own scheduler is off: the tests tick schedulers they make.
    settings = Settings(database_url=database.url, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as test_client:
        yield test_client


def runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime
    return rt


async def rows(url: str) -> dict[str, asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return {r["job"]: r for r in await conn.fetch("SELECT * FROM scheduler_jobs")}
    finally:
        await conn.close()


# --- the registry ------------------------------------------------------------------------


async def _nothing(_: Runtime) -> None:
    return None


def test_the_registry_holds_each_job_once_under_a_plain_name() -> None:
    assert JOBS.names() == ["settle_due_handovers", "raise_due_alerts", "purge_expired_tokens"]
    assert all(job.describe and "\n" not in job.describe for job in JOBS)
    registry = JobRegistry()
    registry.register(Job(name="a_job", describe="Does a thing", run=_nothing))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Job(name="a_job", describe="Does another", run=_nothing))
    for bad in ("A-Job", "job name", "", "x" * 64):
        with pytest.raises(ValueError, match="lower-case"):
            registry.register(Job(name=bad, describe="Bad name", run=_nothing))
    with pytest.raises(ValueError, match="one line"):
        registry.register(Job(name="two_lines", describe="one\ntwo", run=_nothing))
    assert registry.names() == ["a_job"]


# --- a tick's records ----------------------------------------------------------------------


class Boom(RuntimeError):
    pass


async def _fails(_: Runtime) -> object:
    raise Boom("the rule broke")


async def _three(_: Runtime) -> list[int]:
    return [1, 2, 3]


def test_a_tick_records_and_logs_each_run_and_a_failure_stops_no_other_job(
    client: TestClient, database: DatabaseUrl, caplog: pytest.LogCaptureFixture
) -> None:
    rt = runtime(client)
    registry = JobRegistry()
    registry.register(Job(name="fails", describe="Always fails", run=_fails))
    registry.register(Job(name="three", describe="Does three things", run=_three))
    scheduler = Scheduler(rt, database.url, interval_s=30, jobs=registry)
    rt.scheduler = scheduler  # /health reads the runtime's scheduler; close() stops it
    assert client.get("/health").json()["scheduler"]["jobs"][0]["runs"] == 0

    with caplog.at_level(logging.INFO, logger="folgja.jobs"):
        assert client.blocking_portal.call(scheduler.tick) is True
        assert client.blocking_portal.call(scheduler.tick) is True

    found = asyncio.run(rows(database.url))
    fails, three = found["fails"], found["three"]
    assert (fails["runs"], fails["failures"], fails["last_outcome"]) == (2, 2, "failed")
    assert fails["last_error"] == "Boom: the rule broke"
    assert fails["last_success_at"] is None
    assert (three["runs"], three["failures"], three["last_outcome"]) == (2, 0, "ok")
    assert three["last_result_count"] == 3 and three["last_error"] is None
    for row in (fails, three):
        assert row["last_trigger"] == "tick" and row["tick_interval_s"] == 30
        assert row["last_pid"] == os.getpid() and row["last_host"]
        assert row["last_tick_at"] <= row["last_started_at"] <= row["last_finished_at"]
    # One line per run, its fields as `extra`; the failure's with its traceback.
    lines = [r for r in caplog.records if getattr(r, "job", None) in ("fails", "three")]
    assert [(r.job, r.outcome, r.result_count) for r in lines] == [  # type: ignore[attr-defined]
        ("fails", "failed", None),
        ("three", "ok", 3),
    ] * 2
    assert all(isinstance(r.duration_ms, float) for r in lines)  # type: ignore[attr-defined]
    assert lines[0].exc_info is not None and lines[0].levelno == logging.ERROR
    assert lines[1].getMessage().startswith('{"event":"scheduler_job_run","job":"three"')

    health = client.get("/health").json()
    assert health["status"] == "degraded"  # a job's last run failed
    part = health["scheduler"]
    assert part["takes_part"] and part["leads"] and part["tick_interval_s"] == 30
    by_name = {j["name"]: j for j in part["jobs"]}
    assert list(by_name) == ["fails", "three"]
    assert by_name["fails"]["last_outcome"] == "failed" and by_name["fails"]["failures"] == 2
    assert by_name["three"]["last_outcome"] == "ok" and by_name["three"]["runs"] == 2
    assert not by_name["three"]["running"] and not by_name["three"]["overdue"]
    assert "last_error" not in by_name["fails"]  # /health is public: no error text
    assert by_name["three"]["next_run_at"] is not None


def test_a_job_no_tick_has_run_for_a_whole_interval_is_overdue(
    client: TestClient, database: DatabaseUrl
) -> None:
    rt = runtime(client)
    registry = JobRegistry()
    registry.register(Job(name="three", describe="Does three things", run=_three))
    scheduler = Scheduler(rt, database.url, interval_s=60, jobs=registry)
    rt.scheduler = scheduler
    assert client.blocking_portal.call(scheduler.tick)
    assert client.get("/health").json()["status"] == "ok"

    async def statuses(now_after: timedelta) -> bool:
        async with rt.pool.acquire() as conn:
            [only] = await job_statuses(conn, registry)
            [later] = await job_statuses(conn, registry, only.last_started_at + now_after)
        assert only.next_run_at is not None and only.last_started_at is not None
        assert only.next_run_at - only.last_started_at <= timedelta(seconds=60)
        return later.overdue

    # Due a minute after its tick; overdue once a further whole tick has been missed.
    assert client.blocking_portal.call(statuses, timedelta(seconds=110)) is False
    assert client.blocking_portal.call(statuses, timedelta(seconds=125)) is True


def test_a_cli_run_beside_the_ticks_adds_to_the_same_record(
    client: TestClient, database: DatabaseUrl
) -> None:
    rt = runtime(client)
    job = JOBS.get("purge_expired_tokens")
    assert job is not None
    run = client.blocking_portal.call(lambda: run_job(rt, job, trigger="cli"))
    assert (run.outcome, run.result_count, run.error) == ("ok", 0, None)
    row = asyncio.run(rows(database.url))["purge_expired_tokens"]
    assert (row["runs"], row["last_trigger"], row["last_tick_at"]) == (1, "cli", None)
