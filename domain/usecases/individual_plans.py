"""Use cases for the individual plan (individuell plan): coordinator and responsibility group."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import individual_plan as plans
from domain.events import Actor, event_meta
from domain.handover_commands import ChangeIndividualPlan, EndIndividualPlan, StartIndividualPlan
from domain.usecases.base import CommandResult
from domain.usecases.tenants import TenantUseCases


class IndividualPlanUseCases(TenantUseCases):
    def start_individual_plan(
        self, tenant_id: UUID, cmd: StartIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self.existing_tenant(tenant_id)
        event = plans.start_plan(
            tenant,
            cmd.started_on,
            cmd.coordinator_worker_id,
            cmd.coordinator_service,
            cmd.group,
            meta,
        )
        return self.result(tenant_id, event)

    def change_individual_plan(
        self, tenant_id: UUID, cmd: ChangeIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self.existing_tenant(tenant_id)
        event = plans.change_plan(
            tenant, cmd.coordinator_worker_id, cmd.coordinator_service, cmd.group, meta
        )
        return self.result(tenant_id, event)

    def end_individual_plan(
        self, tenant_id: UUID, cmd: EndIndividualPlan, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self.existing_tenant(tenant_id)
        return self.result(tenant_id, plans.end_plan(tenant, cmd.ended_on, meta))
