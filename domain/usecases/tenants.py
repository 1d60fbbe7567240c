"""Use cases for tenants: registration, follow-up, responsibility."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import staff
from domain import tenant as tenants
from domain.commands import AssignResponsibility, EndFollowUp, RegisterTenant, StartFollowUp
from domain.events import Actor
from domain.usecases.base import CommandResult, UseCases


class TenantUseCases(UseCases):
    def tenant(self, tenant_id: UUID) -> tenants.Tenant | None:
        return self.load(tenants.replay, tenant_id, tenants.TenantRegistered)

    def existing_tenant(self, tenant_id: UUID) -> tenants.Tenant:
        return tenants.require(self.tenant(tenant_id), tenant_id)

    def register_tenant(self, cmd: RegisterTenant, actor: Actor, now: datetime) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        event = tenants.register(cmd.tenant_id, cmd.full_name, cmd.birth_date, meta)
        return self.created(cmd.tenant_id, event, "tenant_id")

    def start_follow_up(
        self, tenant_id: UUID, cmd: StartFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        tenant = self.existing_tenant(tenant_id)
        event = tenants.start_follow_up(tenant, cmd.visit_interval_days, cmd.started_on, meta)
        return self.result(tenant_id, event)

    def assign_responsibility(
        self, tenant_id: UUID, cmd: AssignResponsibility, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        tenant = self.existing_tenant(tenant_id)
        event = tenants.assign_responsibility(tenant, cmd.service, cmd.contact_worker_id, meta)
        staff.require_worker_of(
            cmd.contact_worker_id,
            cmd.service,
            self.staff_members([cmd.contact_worker_id]),
            "contact_worker_id",
        )
        return self.result(tenant_id, event)

    def end_follow_up(
        self, tenant_id: UUID, cmd: EndFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        tenant = self.existing_tenant(tenant_id)
        event = tenants.end_follow_up(tenant, cmd.ended_on, cmd.reason, meta)
        return self.result(tenant_id, event)
