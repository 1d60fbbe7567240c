"""Liveness, readiness, and the projections' state."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from backend.runtime import Runtime
from projections import events as event_log
from projections import tracking


class Health(msgspec.Struct):
    status: str
    head_position: int
    projections: list[tracking.ProjectionStatus]
    parked: list[tracking.ParkedEvent]
    runner_active: list[str]


class HealthController(Controller):
    tags = ["operations"]

    @get("/health", summary="Liveness, projection lag and parked events")
    async def health(self, runtime: NamedDependency[Runtime]) -> Health:
        async with runtime.pool.acquire() as conn:
            head = await event_log.head_position(conn)
            statuses = await tracking.statuses(conn, head)
            parked = await tracking.parked(conn)
        active = sorted(runtime.runner.active) if runtime.runner else []
        status = "degraded" if parked else "ok"
        return Health(status, head, statuses, parked, active)

    @get("/ready", summary="Ready to serve: the database answers")
    async def ready(self, runtime: NamedDependency[Runtime]) -> Response[dict[str, str]]:
        try:
            async with runtime.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception:
            return Response({"status": "unavailable"}, status_code=HTTP_503_SERVICE_UNAVAILABLE)
        return Response({"status": "ready"}, status_code=HTTP_200_OK)
