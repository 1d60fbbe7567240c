"""Use cases for the individual plan (individuell plan): coordinator and responsibility group."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import individual_plan as plans
from domain import staff
from domain.events import Actor
from domain.handover_commands import ChangeIndividualPlan, EndIndividualPlan, StartIndividualPlan
from domain.municipal_services import Service
from domain.write_model import CommandResult, Records


class IndividualPlanUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def _require_coordinator(self, worker_id: UUID, service: Service) -> None:
        members = self.records.staff_members([worker_id])
        staff.require_worker_of(worker_id, service, members, "coordinator_worker_id")

    def start_individual_plan(
        self, tenant_id: UUID, cmd: StartIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = plans.start_plan(
            tenant,
            cmd.started_on,
            cmd.coordinator_worker_id,
            cmd.coordinator_service,
            cmd.group,
            meta,
        )
        self._require_coordinator(cmd.coordinator_worker_id, cmd.coordinator_service)
        return self.records.result(tenant_id, event)

    def change_individual_plan(
        self, tenant_id: UUID, cmd: ChangeIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = plans.change_plan(
            tenant, cmd.coordinator_worker_id, cmd.coordinator_service, cmd.group, meta
        )
        self._require_coordinator(cmd.coordinator_worker_id, cmd.coordinator_service)
        return self.records.result(tenant_id, event)

    def end_individual_plan(
        self, tenant_id: UUID, cmd: EndIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        return self.records.result(tenant_id, plans.end_plan(tenant, cmd.ended_on, meta))
