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
from domain.tenant import Tenant
from domain.usecases.base import CommandResult
from domain.usecases.tenants import TenantUseCases


class HousingRecords(TenantUseCases):
    """Loading dwellings and leases, for every area whose commands need them."""

    def dwelling(self, dwelling_id: UUID) -> dwellings.Dwelling | None:
        return self.load(dwellings.replay, dwelling_id, dwellings.DwellingRegistered)

    def existing_dwelling(self, dwelling_id: UUID) -> dwellings.Dwelling:
        return dwellings.require(self.dwelling(dwelling_id), dwelling_id)

    def lease(self, lease_id: UUID) -> leases.Lease | None:
        return self.load(leases.replay, lease_id, leases.LeaseStarted)

    def existing_lease(self, lease_id: UUID) -> leases.Lease:
        return leases.require(self.lease(lease_id), lease_id)


class HousingUseCases(HousingRecords):
    def safety_flag_for(self, tenant: Tenant) -> dwellings.SafetyFlag | None:
        """The active safety flag of the address the tenant lives at, if any."""
        if tenant.dwelling_id is None:
            return None
        dwelling = self.dwelling(tenant.dwelling_id)
        return None if dwelling is None else dwelling.safety_flag

    # --- dwellings and safety flags ------------------------------------------------------

    def register_dwelling(
        self, cmd: RegisterDwelling, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        event = dwellings.register(
            cmd.dwelling_id, cmd.address, cmd.unit, cmd.postcode, cmd.owner, meta
        )
        return self.created(cmd.dwelling_id, event, "dwelling_id")

    def set_safety_flag(
        self, dwelling_id: UUID, cmd: SetSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        dwelling = self.existing_dwelling(dwelling_id)
        event = dwellings.set_flag(dwelling, cmd.kind, cmd.reason, cmd.review_on, meta)
        return self.result(dwelling_id, event)

    def change_safety_flag(
        self, dwelling_id: UUID, cmd: ChangeSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        dwelling = self.existing_dwelling(dwelling_id)
        event = dwellings.change_flag(dwelling, cmd.kind, cmd.reason, cmd.review_on, meta)
        return self.result(dwelling_id, event)

    def review_safety_flag(
        self, dwelling_id: UUID, cmd: ReviewSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        dwelling = self.existing_dwelling(dwelling_id)
        event = dwellings.review_flag(dwelling, cmd.review_on, meta)
        return self.result(dwelling_id, event)

    def lift_safety_flag(
        self, dwelling_id: UUID, cmd: LiftSafetyFlag, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        dwelling = self.existing_dwelling(dwelling_id)
        event = dwellings.lift_flag(dwelling, cmd.reason, meta)
        return self.result(dwelling_id, event)

    # --- leases --------------------------------------------------------------------------

    def start_lease(self, cmd: StartLease, actor: Actor, now: datetime) -> CommandResult:
        """Start the lease, let the dwelling and move the tenant in, in one transaction.

        A retry with the same lease id and terms is answered again; the tenant and the
        dwelling are not checked then, since the first attempt already changed them.
        """
        meta = self.meta(cmd, actor, now)
        started = leases.start(
            cmd.lease_id,
            cmd.dwelling_id,
            cmd.tenant_id,
            cmd.starts_on,
            cmd.ends_on,
            cmd.term_months,
            meta,
        )
        if self.history(cmd.lease_id):
            # A retry of the same lease is answered again; any other use of the id refused.
            return self.created(cmd.lease_id, started, "lease_id")
        dwelling = self.existing_dwelling(cmd.dwelling_id)
        tenant = self.existing_tenant(cmd.tenant_id)
        let, moved_in = leases.move_in(started, dwelling, tenant)
        return self.result(cmd.lease_id, started, let, moved_in)

    def end_lease(
        self, lease_id: UUID, cmd: EndLease, actor: Actor, now: datetime
    ) -> CommandResult:
        """End the lease, vacate the dwelling and move the tenant out, in one transaction."""
        meta = self.meta(cmd, actor, now)
        lease = self.existing_lease(lease_id)
        ended = leases.end(lease, cmd.ended_on, cmd.reason, meta)
        dwelling = self.existing_dwelling(lease.dwelling_id)
        tenant = self.existing_tenant(lease.tenant_id)
        return self.result(lease_id, ended, *leases.move_out(ended, dwelling, tenant))
