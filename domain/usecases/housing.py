"""Use cases for dwellings, their safety flags, and leases."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import dwelling as dwellings
from domain import lease as leases
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
from domain.write_model import CommandResult, Records


class HousingUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    # --- dwellings and safety flags ------------------------------------------------------

    def register_dwelling(
        self, cmd: RegisterDwelling, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        event = dwellings.register(
            cmd.dwelling_id, cmd.address, cmd.unit, cmd.postcode, cmd.owner, meta
        )
        return self.records.created(cmd.dwelling_id, event, "dwelling_id")

    def set_safety_flag(
        self, dwelling_id: UUID, cmd: SetSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        dwelling = self.records.existing_dwelling(dwelling_id)
        event = dwellings.set_flag(dwelling, cmd.kind, cmd.reason, cmd.review_on, meta)
        return self.records.result(dwelling_id, event)

    def change_safety_flag(
        self, dwelling_id: UUID, cmd: ChangeSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        dwelling = self.records.existing_dwelling(dwelling_id)
        event = dwellings.change_flag(dwelling, cmd.kind, cmd.reason, cmd.review_on, meta)
        return self.records.result(dwelling_id, event)

    def review_safety_flag(
        self, dwelling_id: UUID, cmd: ReviewSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        dwelling = self.records.existing_dwelling(dwelling_id)
        event = dwellings.review_flag(dwelling, cmd.review_on, meta)
        return self.records.result(dwelling_id, event)

    def lift_safety_flag(
        self, dwelling_id: UUID, cmd: LiftSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        dwelling = self.records.existing_dwelling(dwelling_id)
        event = dwellings.lift_flag(dwelling, cmd.reason, meta)
        return self.records.result(dwelling_id, event)

    # --- leases --------------------------------------------------------------------------

    def start_lease(self, cmd: StartLease, actor: Actor, now: datetime) -> CommandResult:
        """Start the lease, let the dwelling and move the tenant in, in one transaction.

        A retry with the same lease id and terms is answered again; the tenant and the
        dwelling are not checked then, since the first attempt already changed them.
        """
        meta = self.records.meta(cmd, actor, now)
        started = leases.start(
            cmd.lease_id,
            cmd.dwelling_id,
            cmd.tenant_id,
            cmd.starts_on,
            cmd.ends_on,
            cmd.term_months,
            meta,
        )
        if self.records.exists(cmd.lease_id):
            # A retry of the same lease is answered again; any other use of the id refused.
            return self.records.created(cmd.lease_id, started, "lease_id")
        dwelling = self.records.existing_dwelling(cmd.dwelling_id)
        tenant = self.records.existing_tenant(cmd.tenant_id)
        let, moved_in = leases.move_in(started, dwelling, tenant)
        return self.records.result(cmd.lease_id, started, let, moved_in)

    def end_lease(
        self, lease_id: UUID, cmd: EndLease, actor: Actor, now: datetime
    ) -> CommandResult:
        """End the lease, vacate the dwelling and move the tenant out, in one transaction."""
        meta = self.records.meta(cmd, actor, now)
        lease = self.records.existing_lease(lease_id)
        ended = leases.end(lease, cmd.ended_on, cmd.reason, meta)
        dwelling = self.records.existing_dwelling(lease.dwelling_id)
        tenant = self.records.existing_tenant(lease.tenant_id)
        return self.records.result(lease_id, ended, *leases.move_out(ended, dwelling, tenant))
