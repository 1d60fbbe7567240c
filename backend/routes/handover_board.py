"""The handover board: handovers by effective date, grouped by status, the overdue ones, and
the tenants no service is responsible for."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter

from backend.auth.access_log import show_tenants
from backend.auth.authorize import Access
from backend.auth.need_to_know import LEAD_ROLES, board_service
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from domain.events import local_date
from domain.handover import HandoverStatus
from domain.municipal_services import Service
from projections.caseload import CaseloadProjection
from projections.caseload_queries import tenants_without_responsible_service
from projections.handover_board import HandoverBoard, handover_board
from projections.handovers import HandoverScheduleProjection
from projections.pagination import DEFAULT_PAGE_SIZE

# How many gap tenants the board's first page shows; the rest are paged at
# /tenants/without-responsible-service (its ``next_cursor`` is that endpoint's cursor).
GAP_PAGE_SIZE = 50


class HandoverBoardController(Controller):
    path = "/handover-board"
    tags = ["boards"]

    @get(
        "/",
        summary="Handovers by effective date, with the count in each group; on the first "
        "page also the tenants no service is responsible for",
    )
    async def board(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        access: NamedDependency[Access],
        status: Annotated[
            list[HandoverStatus] | None, Parameter(description="One or more statuses")
        ] = None,
        overdue: Annotated[
            bool | None,
            Parameter(
                description="Effective date reached (Europe/Oslo) and not accepted or "
                "completed, and no later handover for the tenant"
            ),
        ] = None,
        to_service: FromQuery[Service | None] = None,
        from_service: FromQuery[Service | None] = None,
        tenant_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> HandoverBoard:
        await read_models.at(HandoverScheduleProjection.name, min_position)
        await read_models.at(CaseloadProjection.name, min_position)
        async with pool.acquire() as conn:
            board = await handover_board(
                conn,
                today=local_date(clock()),
                statuses=status or (),
                overdue=overdue,
                to_service=to_service,
                from_service=from_service,
                involving=board_service(access.principal),
                tenant_id=tenant_id,
                cursor=cursor,
                limit=limit,
            )
            show_tenants(request, ((h.tenant_id, h.handover_id) for h in board.items))
            # The tenants nobody follows are for the leads, who assign them.
            if cursor is not None or not access.principal.has_any(*LEAD_ROLES):
                return board
            gap = await tenants_without_responsible_service(conn, None, GAP_PAGE_SIZE)
        show_tenants(request, ((e.tenant_id, None) for e in gap.items))
        return msgspec.structs.replace(board, without_responsible_service=gap)
