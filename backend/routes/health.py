"""Liveness, readiness, the projections' and the scheduled jobs' state, metrics, and
retrying parked events."""

from __future__ import annotations

from typing import Annotated

import asyncpg
import msgspec
from litestar import Controller, MediaType, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from backend.jobs import JobRecord, JobStatus, job_statuses, status_of
from backend.metrics import job_metrics_text, request_metrics_text
from backend.openapi import problem_response
from backend.scheduler import JOBS, Scheduler
from domain.errors import UnknownAggregate
from projections import events as event_log
from projections import tracking
from projections.base import Projection
from projections.registry import all_projections
from projections.runner import ProjectionRunner, RetryOutcome, retry_parked, running_anywhere

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class SchedulerHealth(msgspec.Struct):
    """The scheduled jobs, as recorded by whichever process ran them, and this process's
    part in the scheduler."""

    takes_part: Annotated[
        bool,
        msgspec.Meta(
            description="This process runs a scheduler (FOLGJA_RUN_SCHEDULER) and so may lead"
        ),
    ]
    leads: Annotated[
        bool,
        msgspec.Meta(description="This process holds the leader lock: its ticks run the jobs"),
    ]
    tick_interval_s: Annotated[
        float | None,
        msgspec.Meta(description="This process's tick interval (FOLGJA_SCHEDULER_TICK_S)"),
    ]
    jobs: list[JobStatus]


class Health(msgspec.Struct):
    status: Annotated[
        str,
        msgspec.Meta(
            description="`ok`, or `degraded` while events are parked, a job's last run "
            "failed or a job is overdue"
        ),
    ]
    head_position: int
    projections: list[tracking.ProjectionStatus]
    parked: list[tracking.ParkedEvent]
    runner_active: list[str]
    rebuilds: list[tracking.RebuildStatus]
    scheduler: SchedulerHealth


def _jobs_wait(jobs: list[JobRecord]) -> bool:
    """A job failed its last run or missed a tick: something waits that should not."""
    return any(j.last_outcome == "failed" or j.overdue for j in jobs)


def _projections(runner: ProjectionRunner | None) -> list[Projection]:
    return runner.projections if runner else all_projections()


class HealthController(Controller):
    tags = ["operations"]

    @get(
        "/health",
        summary="Liveness, projection lag, parked events, rebuilds under way, and the "
        "scheduled jobs' last runs",
        description="Always 200 while the database answers; `status` says `degraded` when "
        "something waits: parked events, a job whose last run failed, or a job overdue (no "
        "process has led the scheduler for a whole tick). Each job's record is written by "
        "whichever process ran it, so every worker answers the same jobs; `leads` is this "
        "process's own.",
    )
    async def health(
        self,
        runner: NamedDependency[ProjectionRunner | None],
        scheduler: NamedDependency[Scheduler | None],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Health:
        names = [p.name for p in _projections(runner)]
        async with pool.acquire() as conn:
            head = await event_log.head_position(conn)
            statuses = await tracking.statuses(conn, head, names)
            parked = await tracking.parked(conn)
            rebuilds = await tracking.rebuilds(conn)
            active = sorted(await running_anywhere(conn, names))
            jobs = await job_statuses(conn, scheduler.jobs if scheduler else JOBS)
        status = "degraded" if parked or _jobs_wait(jobs) else "ok"
        part = SchedulerHealth(
            takes_part=scheduler is not None,
            leads=scheduler is not None and scheduler.is_leader,
            tick_interval_s=scheduler.interval_s if scheduler else None,
            jobs=[status_of(j) for j in jobs],
        )
        return Health(status, head, statuses, parked, active, rebuilds, part)

    @get(
        "/metrics",
        summary="Prometheus text: log head, projection position, lag and parked events; "
        "the scheduled jobs' runs, failures and last success; request count and latency "
        "per route",
        description="The projection and job series are read from the database, so every "
        "worker reports the same; `folgja_scheduler_leader` and the request series are "
        "the answering process's own.",
        media_type=MediaType.TEXT,
    )
    async def metrics(
        self,
        runner: NamedDependency[ProjectionRunner | None],
        scheduler: NamedDependency[Scheduler | None],
        pool: NamedDependency[asyncpg.Pool],
        state: State,
    ) -> Response[str]:
        names = [p.name for p in _projections(runner)]
        async with pool.acquire() as conn:
            head = await event_log.head_position(conn)
            statuses = await tracking.statuses(conn, head, names)
            rebuilds = await tracking.rebuilds(conn)
            active = await running_anywhere(conn, names)
            jobs = await job_statuses(conn, scheduler.jobs if scheduler else JOBS)
        text = (
            render_metrics(head, statuses, rebuilds, active)
            + job_metrics_text(jobs, leads=scheduler is not None and scheduler.is_leader)
            + request_metrics_text(state)
        )
        return Response(text, media_type=PROMETHEUS_TEXT)

    @post(
        "/projections/{name:str}/parked/retry",
        summary="Apply the projection's parked events again (after a fix); admins only",
        description="Each parked event is read from the log by position and applied in its "
        "own transaction; it leaves the parked list on success and stays, with the new "
        "error, on failure. Only the admin role may call it (docs/access.md); the CLI's "
        "`folgja projections retry-parked` does the same on the server's machine.",
        status_code=HTTP_200_OK,
        responses={404: problem_response("`name`/`exists`: no projection of that name.")},
    )
    async def retry_parked(
        self,
        name: FromPath[str],
        runner: NamedDependency[ProjectionRunner | None],
        pool: NamedDependency[asyncpg.Pool],
    ) -> RetryOutcome:
        projection = next((p for p in _projections(runner) if p.name == name), None)
        if projection is None:
            raise UnknownAggregate("name", "exists", f"no projection named {name!r}")
        return await retry_parked(pool, projection)

    @get(
        "/ready",
        summary="Ready to serve: the database answers",
        responses={
            503: ResponseSpec(
                dict[str, str],
                description='`{"status": "unavailable"}`: the database does not answer.',
                generate_examples=False,
            )
        },
    )
    async def ready(self, pool: NamedDependency[asyncpg.Pool]) -> Response[dict[str, str]]:
        try:
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return Response({"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": "ready"}, status_code=HTTP_200_OK)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(
    head: int,
    statuses: list[tracking.ProjectionStatus],
    rebuilds: list[tracking.RebuildStatus],
    active: set[str],
) -> str:
    """The Prometheus text exposition format (version 0.0.4) for a few gauges."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str | None, int]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for projection, value in samples:
            labels = "" if projection is None else f'{{projection="{_label(projection)}"}}'
            lines.append(f"{name}{labels} {value}")

    gauge("folgja_event_log_head", "Position of the newest event in the log.", [(None, head)])
    gauge(
        "folgja_projection_position",
        "Last log position whose effects are in the projection's tables.",
        [(s.projection, s.position) for s in statuses],
    )
    gauge(
        "folgja_projection_lag_events",
        "Events in the log the projection has not written yet (head - position).",
        [(s.projection, s.lag) for s in statuses],
    )
    gauge(
        "folgja_projection_parked_events",
        "Events the projection could not process, kept for a retry.",
        [(s.projection, s.parked) for s in statuses],
    )
    gauge(
        "folgja_projection_runner_active",
        "1 if this process runs the projection (holds its lock).",
        [(s.projection, int(s.projection in active)) for s in statuses],
    )
    gauge(
        "folgja_projection_rebuild_position",
        "Position a rebuild under way (or left by a crash) has reached in its own tables.",
        [(r.projection, r.position) for r in rebuilds],
    )
    return "\n".join(lines) + "\n"
