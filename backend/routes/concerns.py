"""Concerns (bekymringsmeldinger): raise, route, acknowledge, resolve, escalate; read one;
list them (the concern tracker, :mod:`projections.concern_tracker`)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from backend.auth.access_log import show_tenants
from backend.auth.authorize import Access
from backend.auth.need_to_know import board_service
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from backend.write_access import WriteAccess
from domain.concern import Concern, ConcernCategory
from domain.concern_commands import (
    AcknowledgeConcern,
    EscalateConcern,
    RaiseConcern,
    ResolveConcern,
    RouteConcern,
)
from domain.errors import UnknownAggregate
from domain.events import Actor
from domain.municipal_services import Service
from domain.write_model import CommandResult
from projections.concern_tracker import (
    ConcernTrackerProjection,
    ConcernTrackerRow,
    TrackerStatus,
    concern_list,
)
from projections.pagination import DEFAULT_PAGE_SIZE, Page


class ConcernController(Controller):
    path = "/concerns"
    tags = ["concerns"]

    @post("/", summary="Raise a concern about a tenant or an address (client-supplied id)")
    async def raise_concern(
        self,
        data: JSONBody[RaiseConcern],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.concerns.raise_concern, data, actor)

    @get("/", summary="The concern tracker: still waiting first, the longest wait first")
    async def tracker(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        access: NamedDependency[Access],
        raised_by: Annotated[
            Service | None, Parameter(description="The service that raised the concern")
        ] = None,
        holder: Annotated[
            Service | None, Parameter(description="The service the concern is routed to")
        ] = None,
        status: Annotated[
            list[TrackerStatus] | None, Parameter(description="One or more statuses")
        ] = None,
        open_only: Annotated[bool, Parameter(description="Leave out resolved concerns")] = False,
        category: Annotated[
            list[ConcernCategory] | None, Parameter(description="One or more categories")
        ] = None,
        tenant_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[ConcernTrackerRow]:
        await read_models.at(ConcernTrackerProjection.name, min_position)
        async with pool.acquire() as conn:
            page = await concern_list(
                conn,
                now=clock(),
                raised_by=raised_by,
                holder=holder,
                involving=board_service(access.principal),
                statuses=status or (),
                open_only=open_only,
                categories=category or (),
                tenant_id=tenant_id,
                cursor=cursor,
                limit=limit,
            )
        # The access log: every tenant a concern on this page is about (not the addresses).
        show_tenants(request, ((c.tenant_id, c.concern_id) for c in page.items))
        return page

    @get("/{concern_id:uuid}", summary="A concern's current status")
    async def current(
        self, concern_id: FromPath[UUID], write: NamedDependency[WriteAccess]
    ) -> Concern:
        concern = await write.read(lambda uc: uc.records.concern(concern_id))
        if concern is None:
            raise UnknownAggregate("concern_id", "must_exist", f"no concern with id {concern_id}")
        return concern

    @post("/{concern_id:uuid}/routing", summary="Route the concern to a responsible service")
    async def route(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[RouteConcern],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.concerns.route_concern, concern_id, data, actor)

    @post("/{concern_id:uuid}/acknowledgement", summary="The routed-to service acknowledges")
    async def acknowledge(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[AcknowledgeConcern],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.concerns.acknowledge_concern, concern_id, data, actor
        )

    @post("/{concern_id:uuid}/resolution", summary="Resolve the concern with an outcome")
    async def resolve(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[ResolveConcern],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.concerns.resolve_concern, concern_id, data, actor)

    @post("/{concern_id:uuid}/escalation", summary="Escalate a concern that waits")
    async def escalate(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[EscalateConcern],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.concerns.escalate_concern, concern_id, data, actor)
