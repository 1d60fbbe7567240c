"""Dwellings with their address safety flags, and leases (tenancies)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth.authorize import Access, dwelling_fields
from backend.write_access import WriteAccess
from domain.dwelling import Dwelling
from domain.errors import UnknownAggregate
from domain.events import Actor
from domain.housing_commands import (
    ChangeSafetyFlag,
    EndLease,
    LiftSafetyFlag,
    RegisterDwelling,
    ReviewSafetyFlag,
    SetSafetyFlag,
    StartLease,
)
from domain.lease import Lease
from domain.write_model import CommandResult


class DwellingController(Controller):
    path = "/dwellings"
    tags = ["dwellings"]

    @post("/", summary="Register a dwelling (client-supplied id; retry-safe)")
    async def register(
        self,
        data: JSONBody[RegisterDwelling],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.housing.register_dwelling, data, actor)

    @get(
        "/{dwelling_id:uuid}",
        summary="A dwelling's current state, with its safety flag",
        description="Who lives there (tenant_id, active_lease_id) only for a caller with a "
        "view of that tenant (docs/access.md, 'Fields'); the fields are left out otherwise.",
    )
    async def current(
        self,
        dwelling_id: FromPath[UUID],
        write: NamedDependency[WriteAccess],
        access: NamedDependency[Access],
    ) -> dict[str, Any]:
        dwelling: Dwelling | None = await write.read(lambda uc: uc.records.dwelling(dwelling_id))
        if dwelling is None:
            raise UnknownAggregate(
                "dwelling_id", "must_exist", f"no dwelling with id {dwelling_id}"
            )
        return dwelling_fields(access, dwelling)

    @post("/{dwelling_id:uuid}/safety-flag", summary="Flag the address two-person or no-entry")
    async def set_flag(
        self,
        dwelling_id: FromPath[UUID],
        data: JSONBody[SetSafetyFlag],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.housing.set_safety_flag, dwelling_id, data, actor)

    @post("/{dwelling_id:uuid}/safety-flag/change", summary="Change the address's safety flag")
    async def change_flag(
        self,
        dwelling_id: FromPath[UUID],
        data: JSONBody[ChangeSafetyFlag],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.housing.change_safety_flag, dwelling_id, data, actor
        )

    @post(
        "/{dwelling_id:uuid}/safety-flag/review",
        summary="Record that the flag was reviewed and kept, with the next review date",
    )
    async def review_flag(
        self,
        dwelling_id: FromPath[UUID],
        data: JSONBody[ReviewSafetyFlag],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.housing.review_safety_flag, dwelling_id, data, actor
        )

    @post("/{dwelling_id:uuid}/safety-flag/lift", summary="Lift the address's safety flag")
    async def lift_flag(
        self,
        dwelling_id: FromPath[UUID],
        data: JSONBody[LiftSafetyFlag],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.housing.lift_safety_flag, dwelling_id, data, actor)


class LeaseController(Controller):
    path = "/leases"
    tags = ["leases"]

    @post("/", summary="Start a lease and move the tenant in (client-supplied id; retry-safe)")
    async def start(
        self,
        data: JSONBody[StartLease],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.housing.start_lease, data, actor)

    @get("/{lease_id:uuid}", summary="A lease's current state")
    async def current(self, lease_id: FromPath[UUID], write: NamedDependency[WriteAccess]) -> Lease:
        lease = await write.read(lambda uc: uc.records.lease(lease_id))
        if lease is None:
            raise UnknownAggregate("lease_id", "must_exist", f"no lease with id {lease_id}")
        return lease

    @post("/{lease_id:uuid}/end", summary="End a lease and move the tenant out")
    async def end(
        self,
        lease_id: FromPath[UUID],
        data: JSONBody[EndLease],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.housing.end_lease, lease_id, data, actor)
