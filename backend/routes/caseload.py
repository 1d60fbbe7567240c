"""Caseloads per worker and per team (the responsible service), and the tenants nobody
is responsible for. Risk and overdue are as of now (the server's clock).

Each answer names the tenants on its page for the access log (one row per tenant shown).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter

from backend.auth.access_log import show_tenants
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from domain.municipal_services import Service
from domain.risk import RiskLevel
from projections.caseload import CaseloadProjection
from projections.caseload_queries import (
    CaseloadEntry,
    CaseloadFilters,
    WithoutServiceEntry,
    caseload_for_team,
    caseload_for_worker,
    tenants_without_responsible_service,
)
from projections.pagination import DEFAULT_PAGE_SIZE, Page
from projections.risk_timeline import RiskTimelineProjection

RiskLevels = Annotated[
    list[RiskLevel] | None,
    Parameter(description="Only tenants at one of these current risk levels (repeatable)"),
]
OverdueOnly = Annotated[
    bool, Parameter(description="Only tenants with no completed visit within their interval")
]
FlaggedOnly = Annotated[bool, Parameter(description="Only tenants whose address is flagged")]


def _filters(
    risk_level: list[RiskLevel] | None, overdue_only: bool, flagged_only: bool
) -> CaseloadFilters:
    return CaseloadFilters(
        risk_levels=tuple(risk_level or ()), overdue_only=overdue_only, flagged_only=flagged_only
    )


async def caseload_caught_up(read_models: ReadModels, min_position: int | None) -> None:
    # The caseload shows both projections' work: its own rows and the risk inputs.
    await read_models.at(CaseloadProjection.name, min_position)
    await read_models.at(RiskTimelineProjection.name, min_position)


class CaseloadController(Controller):
    path = "/caseload"
    tags = ["boards"]

    @get(
        "/workers/{worker_id:uuid}",
        summary="The tenants a worker is contact for: current risk (highest first), "
        "last and next visit, overdue, the address's safety flag",
    )
    async def worker(
        self,
        request: Request[Any, Any, Any],
        worker_id: FromPath[UUID],
        read_models: NamedDependency[ReadModels],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        risk_level: RiskLevels = None,
        overdue_only: OverdueOnly = False,
        flagged_only: FlaggedOnly = False,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[CaseloadEntry]:
        await caseload_caught_up(read_models, min_position)
        filters = _filters(risk_level, overdue_only, flagged_only)
        async with pool.acquire() as conn:
            page = await caseload_for_worker(conn, worker_id, clock(), filters, cursor, limit)
        show_tenants(request, ((e.tenant_id, None) for e in page.items))
        return page

    @get(
        "/teams/{service:str}",
        summary="The tenants a service (team) is responsible for, highest current risk first",
    )
    async def team(
        self,
        request: Request[Any, Any, Any],
        service: Annotated[Service, Parameter(description="The responsible service")],
        read_models: NamedDependency[ReadModels],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        risk_level: RiskLevels = None,
        overdue_only: OverdueOnly = False,
        flagged_only: FlaggedOnly = False,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[CaseloadEntry]:
        await caseload_caught_up(read_models, min_position)
        filters = _filters(risk_level, overdue_only, flagged_only)
        async with pool.acquire() as conn:
            page = await caseload_for_team(conn, service, clock(), filters, cursor, limit)
        show_tenants(request, ((e.tenant_id, None) for e in page.items))
        return page


class TenantsWithoutServiceController(Controller):
    path = "/tenants"
    tags = ["boards"]

    @get(
        "/without-responsible-service",
        summary="Tenants in active follow-up that no service is responsible for, "
        "longest wait first",
    )
    async def without_responsible_service(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[WithoutServiceEntry]:
        await read_models.at(CaseloadProjection.name, min_position)
        async with pool.acquire() as conn:
            page = await tenants_without_responsible_service(conn, cursor, limit)
        show_tenants(request, ((e.tenant_id, None) for e in page.items))
        return page
