"""Use cases for tenants: registration, follow-up, responsibility."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import staff
from domain import tenant as tenants
from domain.events import Actor
from domain.tenant_commands import AssignResponsibility, EndFollowUp, RegisterTenant, StartFollowUp
from domain.write_model import CommandResult, Records


class TenantUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def register_tenant(self, cmd: RegisterTenant, actor: Actor, now: datetime) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        event = tenants.register(cmd.tenant_id, cmd.full_name, cmd.birth_date, meta)
        return self.records.created(cmd.tenant_id, event, "tenant_id")

    def start_follow_up(
        self, tenant_id: UUID, cmd: StartFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = tenants.start_follow_up(tenant, cmd.visit_interval_days, cmd.started_on, meta)
        return self.records.result(tenant_id, event)

    def assign_responsibility(
        self, tenant_id: UUID, cmd: AssignResponsibility, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = tenants.assign_responsibility(tenant, cmd.service, cmd.contact_worker_id, meta)
        staff.require_worker_of(
            cmd.contact_worker_id,
            cmd.service,
            self.records.staff_members([cmd.contact_worker_id]),
            "contact_worker_id",
        )
        return self.records.result(tenant_id, event)

    def end_follow_up(
        self, tenant_id: UUID, cmd: EndFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = tenants.end_follow_up(tenant, cmd.ended_on, cmd.reason, meta)
        return self.records.result(tenant_id, event)
