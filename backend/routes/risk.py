"""The tenant's risk timeline: every fact with the risk level at that point, and now."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from domain.errors import UnknownAggregate
from domain.risk import Assessment
from domain.tenant import TenantRegistered
from projections import events as event_log
from projections.pagination import DEFAULT_PAGE_SIZE
from projections.risk_timeline import RiskTimelineProjection
from projections.risk_timeline_queries import (
    RiskTimelineEntry,
    SeriesPoint,
    current_risk,
    risk_series,
    risk_timeline,
)


class RiskTimeline(msgspec.Struct, frozen=True):
    # One page of entries, in log order.
    entries: list[RiskTimelineEntry]
    next_cursor: str | None
    # Every point of the tenant's history: [position, occurred_at, score, level].
    series: list[SeriesPoint]
    # The risk as of now (the server's clock): time-dependent rules such as an overdue
    # visit show here even when no event has arrived since.
    current: Assessment | None


class RiskController(Controller):
    path = "/tenants"
    tags = ["risk"]

    @get(
        "/{tenant_id:uuid}/risk-timeline",
        summary="The tenant's facts with the risk level at each point, a plot series, "
        "and the risk now",
    )
    async def risk_timeline(
        self,
        tenant_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> RiskTimeline:
        await read_models.at(RiskTimelineProjection.name, min_position)
        now = clock()
        async with pool.acquire() as conn:
            page = await risk_timeline(conn, tenant_id, cursor, limit)
            current = await current_risk(conn, tenant_id, now)
            if current is None and not await event_log.record_exists(
                conn, tenant_id, TenantRegistered
            ):
                raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
            series = await risk_series(conn, tenant_id)
        return RiskTimeline(
            entries=page.items, next_cursor=page.next_cursor, series=series, current=current
        )
