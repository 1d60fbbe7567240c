"""Tenants: registration, follow-up, responsibility, and their timeline."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from backend.auth.authorize import Access, tenant_fields
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import ReadModels
from backend.write_access import WriteAccess
from domain.errors import UnknownAggregate
from domain.events import Actor
from domain.tenant import Tenant, TenantRegistered
from domain.tenant_commands import AssignResponsibility, EndFollowUp, RegisterTenant, StartFollowUp
from domain.visit_commands import PlanVisit
from domain.write_model import CommandResult
from projections import events as event_log
from projections.pagination import DEFAULT_PAGE_SIZE, Page
from projections.risk_timeline_queries import PROJECTION as TIMELINE_PROJECTION
from projections.risk_timeline_queries import TimelineEntry, tenant_timeline
from sync import review
from sync.review import ReviewEntry


class TenantController(Controller):
    path = "/tenants"
    tags = ["tenants"]

    @post("/", summary="Register a tenant (client-supplied id; retry-safe)")
    async def register(
        self,
        data: JSONBody[RegisterTenant],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.tenants.register_tenant, data, actor)

    @get(
        "/{tenant_id:uuid}",
        summary="A tenant's current state, in the fields the caller's role may see",
        description="Field workers and the responsible team get every field of Tenant; a "
        "service named in a handover, the property manager and NAV get fewer "
        "(docs/access.md, 'Fields').",
    )
    async def current(
        self,
        tenant_id: FromPath[UUID],
        write: NamedDependency[WriteAccess],
        access: NamedDependency[Access],
    ) -> dict[str, Any]:
        tenant: Tenant | None = await write.read(lambda uc: uc.records.tenant(tenant_id))
        if tenant is None:
            raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
        return tenant_fields(access, tenant)

    @post("/{tenant_id:uuid}/follow-up", summary="Start follow-up with a visit interval")
    async def start_follow_up(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[StartFollowUp],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.tenants.start_follow_up, tenant_id, data, actor)

    @post("/{tenant_id:uuid}/follow-up/end", summary="End the follow-up")
    async def end_follow_up(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[EndFollowUp],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.tenants.end_follow_up, tenant_id, data, actor)

    @post("/{tenant_id:uuid}/responsibility", summary="Set responsible service and contact")
    async def assign_responsibility(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[AssignResponsibility],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.tenants.assign_responsibility, tenant_id, data, actor
        )

    @post("/{tenant_id:uuid}/visits", summary="Plan a visit (client-supplied id; retry-safe)")
    async def plan_visit(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[PlanVisit],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.visits.plan_visit, tenant_id, data, actor)

    @get(
        "/{tenant_id:uuid}/timeline",
        summary="Every fact about the tenant, in log order",
        description="An entry whose events an item recorded offline produced, applied and "
        "kept for a team lead's review, carries `review` (the item, its reasons, and when "
        "it was resolved); other entries have no `review`. Items kept for review and not "
        "applied are not in the log: `GET /tenants/{tenant_id}/timeline/kept-for-review` "
        "lists them.",
    )
    async def timeline(
        self,
        tenant_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        min_position: MinPosition = None,
        after: Annotated[int, Parameter(ge=0, description="Page: entries after this position")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 200,
    ) -> list[TimelineEntry]:
        await read_models.at(TIMELINE_PROJECTION, min_position)
        async with pool.acquire() as conn:
            entries = await tenant_timeline(conn, tenant_id, limit=limit, after=after)
            if not entries and not await event_log.record_exists(conn, tenant_id, TenantRegistered):
                raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
            reviews = await review.reviews_at(conn, tenant_id, [e.position for e in entries])
        return [
            msgspec.structs.replace(e, review=reviews[e.position]) if e.position in reviews else e
            for e in entries
        ]

    @get(
        "/{tenant_id:uuid}/timeline/kept-for-review",
        summary="Items recorded offline about the tenant, kept for review and not applied",
        description="What a field tablet recorded about the tenant that the server kept "
        "aside instead of applying (`kept_for_review`, or `refused` with its problem): not "
        "in the log, so not among the timeline's entries. Resolved or not, in the order "
        "received; each with its review state (`resolution`).",
    )
    async def kept_for_review(
        self,
        tenant_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Page[ReviewEntry]:
        async with pool.acquire() as conn:
            page = await review.kept_for_tenant(conn, tenant_id, cursor=cursor, limit=limit)
            if not page.items and not await event_log.record_exists(
                conn, tenant_id, TenantRegistered
            ):
                raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
        return page
