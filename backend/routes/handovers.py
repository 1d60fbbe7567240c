"""Handovers (overgangene) between services, and the tenant's individual plan."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.routes.params import MinPosition
from backend.runtime import ReadModels
from backend.write_access import WriteAccess
from domain.errors import UnknownAggregate
from domain.events import Actor
from domain.handover import Handover
from domain.handover_commands import (
    AcceptHandover,
    AnnounceHandover,
    ChangeIndividualPlan,
    DeclineHandover,
    EndIndividualPlan,
    StartIndividualPlan,
)
from domain.tenant import TenantRegistered
from domain.write_model import CommandResult
from projections import events as event_log
from projections.handovers import HandoverRow, HandoverScheduleProjection, handovers_for_tenant


class HandoverController(Controller):
    path = "/handovers"
    tags = ["handovers"]

    @post("/", summary="Announce a handover to another service (client-supplied id; retry-safe)")
    async def announce(
        self,
        data: JSONBody[AnnounceHandover],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.handovers.announce_handover, data, actor)

    @get("/{handover_id:uuid}", summary="A handover's current state")
    async def current(
        self, handover_id: FromPath[UUID], write: NamedDependency[WriteAccess]
    ) -> Handover:
        handover = await write.read(lambda uc: uc.records.handover(handover_id))
        if handover is None:
            raise UnknownAggregate(
                "handover_id", "must_exist", f"no handover with id {handover_id}"
            )
        return handover

    @post(
        "/{handover_id:uuid}/acceptance",
        summary="The receiving service accepts, naming a contact worker; "
        "completes at once when the effective date has come",
    )
    async def accept(
        self,
        handover_id: FromPath[UUID],
        data: JSONBody[AcceptHandover],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.handovers.accept_handover, handover_id, data, actor
        )

    @post("/{handover_id:uuid}/declination", summary="The receiving service declines, with reason")
    async def decline(
        self,
        handover_id: FromPath[UUID],
        data: JSONBody[DeclineHandover],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.handovers.decline_handover, handover_id, data, actor
        )


class TenantResponsibilityController(Controller):
    """The tenant's handover history and individual plan (under /tenants)."""

    path = "/tenants"
    tags = ["tenants", "handovers"]

    @get("/{tenant_id:uuid}/handovers", summary="The tenant's handovers, by effective date")
    async def handovers(
        self,
        tenant_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        min_position: MinPosition = None,
    ) -> list[HandoverRow]:
        await read_models.at(HandoverScheduleProjection.name, min_position)
        async with pool.acquire() as conn:
            rows = await handovers_for_tenant(conn, tenant_id)
            if not rows and not await event_log.record_exists(conn, tenant_id, TenantRegistered):
                raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
        return rows

    @post(
        "/{tenant_id:uuid}/individual-plan", summary="Start an individual plan with a coordinator"
    )
    async def start_individual_plan(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[StartIndividualPlan],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.plans.start_individual_plan, tenant_id, data, actor
        )

    @post(
        "/{tenant_id:uuid}/individual-plan/change",
        summary="Change the plan's coordinator or responsibility group",
    )
    async def change_individual_plan(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[ChangeIndividualPlan],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.plans.change_individual_plan, tenant_id, data, actor
        )

    @post("/{tenant_id:uuid}/individual-plan/end", summary="End the individual plan")
    async def end_individual_plan(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[EndIndividualPlan],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.plans.end_individual_plan, tenant_id, data, actor)
