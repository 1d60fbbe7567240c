"""Use cases for home visits, under the safety flag of the tenant's address."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain import staff
from domain import visit as visits
from domain.commands import CompleteVisit, FailVisit, PlanVisit
from domain.events import Actor
from domain.usecases.base import CommandResult
from domain.usecases.housing import HousingUseCases


class VisitUseCases(HousingUseCases):
    def visit(self, visit_id: UUID) -> visits.Visit | None:
        return self.load(visits.replay, visit_id, visits.VisitPlanned)

    def existing_visit(self, visit_id: UUID) -> visits.Visit:
        return visits.require(self.visit(visit_id), visit_id)

    def _not_visitors(self, worker_ids: Sequence[UUID]) -> frozenset[UUID]:
        return staff.not_visitors(worker_ids, self.staff_members(worker_ids))

    def plan_visit(
        self, tenant_id: UUID, cmd: PlanVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        tenant = self.existing_tenant(tenant_id)
        event = visits.plan(
            cmd.visit_id,
            tenant,
            cmd.planned_for,
            cmd.worker_ids,
            meta,
            location=cmd.location,
            safety_flag=self.safety_flag_for(tenant),
            not_visitors=self._not_visitors(cmd.worker_ids),
        )
        return self.created(cmd.visit_id, event, "visit_id")

    def complete_visit(
        self, visit_id: UUID, cmd: CompleteVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        visit = self.existing_visit(visit_id)
        tenant = self.existing_tenant(visit.tenant_id)
        event = visits.complete(
            visit,
            tenant,
            cmd.worker_ids,
            cmd.observations,
            meta,
            safety_flag=self.safety_flag_for(tenant),
            recorded_offline=cmd.recorded_offline,
            not_visitors=self._not_visitors(cmd.worker_ids),
        )
        return self.result(visit_id, event)

    def fail_visit(
        self, visit_id: UUID, cmd: FailVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        visit = self.existing_visit(visit_id)
        tenant = self.existing_tenant(visit.tenant_id)
        event = visits.fail(
            visit,
            tenant,
            cmd.worker_ids,
            cmd.reason,
            meta,
            safety_flag=self.safety_flag_for(tenant),
            recorded_offline=cmd.recorded_offline,
            not_visitors=self._not_visitors(cmd.worker_ids),
        )
        return self.result(visit_id, event)
