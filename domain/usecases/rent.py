"""Use cases for rent cases: arrears, repayment, the eviction chain — and NAV's notice.

Every step NAV may be told about (arrears, warning, petition, eviction date) is stored
together with its consequence, in one commit: NAV's notification is opened, or the rent
case records that it was withheld and why. Neither can exist without the other.

Likewise a carried-out eviction is stored with the end of the case's lease, the vacated
dwelling and the tenant's moving out, in one commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from domain import lease as leases
from domain import nav
from domain import rent as rents
from domain.commands import Command
from domain.events import Actor, EventMeta
from domain.nav import WithheldReason
from domain.rent_commands import (
    AgreeRepayment,
    CancelEviction,
    CarryOutEviction,
    ClearArrears,
    IssueEvictionWarning,
    OpenRentCase,
    PetitionEviction,
    ReportArrears,
    SetEvictionDate,
    SetUpRentDeduction,
)
from domain.write_model import CommandResult, Records

Step = Callable[[rents.RentCase, EventMeta], rents.RentCaseEvents]


class RentUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def rent_cases_of(self, tenant_id: UUID) -> list[rents.RentCase]:
        """The rent cases of every lease the tenant has lived under, the newest lease first."""
        tenant = self.records.existing_tenant(tenant_id)
        found = (
            self.records.rent_case(rents.rent_case_id_for(lease)) for lease in tenant.lease_ids
        )
        return [case for case in reversed(list(found)) if case is not None]

    def open_rent_case(self, cmd: OpenRentCase, actor: Actor, now: datetime) -> CommandResult:
        """Open the rent case of the tenant's active lease.

        A retry with the same lease and tenant is answered again; the lease is not checked
        then, since it may have ended after the first attempt opened the case.
        """
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(cmd.tenant_id)
        case_id = rents.rent_case_id_for(cmd.lease_id)
        if self.records.exists(case_id):
            # A retry is answered again; any other use of the lease's case refused.
            return self.records.created(
                case_id, rents.case_opened(cmd.lease_id, tenant, meta), "lease_id"
            )
        event = rents.open_case(self.records.existing_lease(cmd.lease_id), tenant, meta)
        return self.records.created(case_id, event, "lease_id")

    def _rent_step(
        self,
        rent_case_id: UUID,
        cmd: Command,
        actor: Actor,
        now: datetime,
        step: Step,
    ) -> CommandResult:
        """Record one step; if NAV may hear of it, decide and record that in the same commit."""
        meta = self.records.meta(cmd, actor, now)
        case = self.records.existing_rent_case(rent_case_id)
        event = step(case, meta)
        trigger = rents.trigger_of(event)
        if trigger is None:
            return self.records.result(rent_case_id, event)
        after = rents.evolve(case, event)
        tenant = self.records.existing_tenant(case.tenant_id)
        decision = nav.send_or_withhold(
            case.id, tenant, trigger, event.originator_version, after.total_owed_nok, meta
        )
        if isinstance(decision, WithheldReason):
            withheld = rents.withhold_nav_notification(after, trigger, decision, meta)
            return self.records.result(rent_case_id, event, withheld)
        return self.records.result(rent_case_id, event, decision)

    def report_arrears(
        self, rent_case_id: UUID, cmd: ReportArrears, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.report_arrears(case, cmd.month, cmd.amount_nok, meta),
        )

    def agree_repayment(
        self, rent_case_id: UUID, cmd: AgreeRepayment, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.agree_repayment(
                case, cmd.monthly_amount_nok, cmd.first_due_on, meta
            ),
        )

    def set_up_rent_deduction(
        self, rent_case_id: UUID, cmd: SetUpRentDeduction, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.set_up_rent_deduction(
                case, cmd.monthly_amount_nok, cmd.starts_on, meta
            ),
        )

    def clear_arrears(
        self, rent_case_id: UUID, cmd: ClearArrears, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.clear_arrears(case, cmd.cleared_on, meta),
        )

    def issue_eviction_warning(
        self, rent_case_id: UUID, cmd: IssueEvictionWarning, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.issue_eviction_warning(case, cmd.issued_on, meta),
        )

    def petition_eviction(
        self, rent_case_id: UUID, cmd: PetitionEviction, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.petition_eviction(case, cmd.petitioned_on, meta),
        )

    def set_eviction_date(
        self, rent_case_id: UUID, cmd: SetEvictionDate, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.set_eviction_date(case, cmd.eviction_on, meta),
        )

    def carry_out_eviction(
        self, rent_case_id: UUID, cmd: CarryOutEviction, actor: Actor, now: datetime
    ) -> CommandResult:
        """Record the eviction, end the lease, vacate the dwelling, move the tenant out.

        All in one transaction; if the lease has already ended, only the eviction is
        recorded. NAV hears of no carried-out eviction (see ``rents.TRIGGERS``).
        """
        meta = self.records.meta(cmd, actor, now)
        case = self.records.existing_rent_case(rent_case_id)
        evicted = rents.carry_out_eviction(case, cmd.carried_out_on, meta)
        ended = rents.end_lease_on_eviction(self.records.lease(case.lease_id), evicted)
        if ended is None:
            return self.records.result(rent_case_id, evicted)
        dwelling = self.records.existing_dwelling(ended.dwelling_id)
        tenant = self.records.existing_tenant(ended.tenant_id)
        moved_out = leases.move_out(ended, dwelling, tenant)
        return self.records.result(rent_case_id, evicted, ended, *moved_out)

    def cancel_eviction(
        self, rent_case_id: UUID, cmd: CancelEviction, actor: Actor, now: datetime
    ) -> CommandResult:
        return self._rent_step(
            rent_case_id,
            cmd,
            actor,
            now,
            lambda case, meta: rents.cancel_eviction(case, cmd.reason, meta),
        )
