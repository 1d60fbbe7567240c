"""Use cases for home visits, under the safety flag of the tenant's address."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain import staff
from domain import visit as visits
from domain.dwelling import SafetyFlag
from domain.events import Actor
from domain.tenant import Tenant
from domain.visit_commands import CompleteVisit, FailVisit, PlanVisit
from domain.write_model import CommandResult, Records


class VisitUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def _not_visitors(self, worker_ids: Sequence[UUID]) -> frozenset[UUID]:
        return staff.not_visitors(worker_ids, self.records.staff_members(worker_ids))

    def plan_visit(
        self, tenant_id: UUID, cmd: PlanVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = visits.plan(
            cmd.visit_id,
            tenant,
            cmd.planned_for,
            cmd.worker_ids,
            meta,
            location=cmd.location,
            safety_flag=_flag_at_home(self.records, tenant),
            not_visitors=self._not_visitors(cmd.worker_ids),
        )
        return self.records.created(cmd.visit_id, event, "visit_id")

    def complete_visit(
        self,
        visit_id: UUID,
        cmd: CompleteVisit,
        actor: Actor,
        now: datetime,
        *,
        also_review: Sequence[str] = (),
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        visit = self.records.existing_visit(visit_id)
        tenant = self.records.existing_tenant(visit.tenant_id)
        event = visits.complete(
            visit,
            tenant,
            cmd.worker_ids,
            cmd.observations,
            meta,
            safety_flag=_flag_at_home(self.records, tenant),
            recorded_offline=cmd.recorded_offline,
            not_visitors=self._not_visitors(cmd.worker_ids),
            also_review=also_review,
        )
        return self.records.result(visit_id, event)

    def fail_visit(
        self,
        visit_id: UUID,
        cmd: FailVisit,
        actor: Actor,
        now: datetime,
        *,
        also_review: Sequence[str] = (),
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        visit = self.records.existing_visit(visit_id)
        tenant = self.records.existing_tenant(visit.tenant_id)
        event = visits.fail(
            visit,
            tenant,
            cmd.worker_ids,
            cmd.reason,
            meta,
            safety_flag=_flag_at_home(self.records, tenant),
            recorded_offline=cmd.recorded_offline,
            not_visitors=self._not_visitors(cmd.worker_ids),
            also_review=also_review,
        )
        return self.records.result(visit_id, event)


def _flag_at_home(records: Records, tenant: Tenant) -> SafetyFlag | None:
    """The active safety flag of the address the tenant lives at, if any."""
    if tenant.dwelling_id is None:
        return None
    home = records.dwelling(tenant.dwelling_id)
    return None if home is None else home.safety_flag
