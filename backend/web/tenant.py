"""The tenant page: the risk timeline drawn as a chart (server-rendered SVG), its points
in a table, and the timeline under it. Printable (``static/print.css``).

Under the API's risk-timeline line of the policy table (those who follow the tenant): the
path names the tenant, so the access log writes the read as the API's does.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from backend.auth.authorize import Access, tenant_fields
from backend.auth.guards import WEB_PREFIX
from backend.runtime import Clock, ReadModels
from backend.web.chart import Point, risk_svg
from backend.web.fbe import position_asked
from backend.web.render import labels, page
from backend.write_access import WriteAccess
from domain.errors import UnknownAggregate
from domain.risk import RiskLevel
from projections.risk_timeline import RiskTimelineProjection
from projections.risk_timeline_queries import current_risk, latest_risk_timeline

# The newest facts shown (the chart and table draw these; older ones are at the API,
# GET /tenants/{id}/risk-timeline, a page at a time).
MAX_POINTS = 200


class TenantPage(Controller):
    path = WEB_PREFIX + "/tenants"
    include_in_schema = False

    @get("/{tenant_id:uuid}")
    async def tenant(
        self,
        request: Request[Any, Any, Any],
        tenant_id: FromPath[UUID],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        write: NamedDependency[WriteAccess],
    ) -> Template:
        await read_models.at(RiskTimelineProjection.name, position_asked(request))
        tenant = await write.read(lambda uc: uc.records.tenant(tenant_id))
        if tenant is None:
            raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
        shown = tenant_fields(access, tenant)
        async with pool.acquire() as conn:
            entries = await latest_risk_timeline(conn, tenant_id, MAX_POINTS)
            current = await current_risk(conn, tenant_id, clock())
        points = [
            Point(
                at=e.occurred_at,
                score=e.score,
                level=RiskLevel(e.level),
                summary=e.summary,
                reasons=tuple(r.detail for r in e.reasons),
            )
            for e in entries
        ]
        t = labels(request)
        return page(
            request,
            "tenant.html",
            tenant=shown,
            entries=entries,
            current=current,
            chart=Markup(risk_svg(points, t)),
            newest_only=len(entries) == MAX_POINTS,
        )
