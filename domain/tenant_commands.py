"""Commands about a tenant (beboer): registration, follow-up, responsibility."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.commands import Command, Name, Reason
from domain.municipal_services import Service
from domain.tenant import VisitIntervalDays


class RegisterTenant(Command, frozen=True, kw_only=True):
    tenant_id: UUID
    full_name: Name
    birth_date: date | None = None


class StartFollowUp(Command, frozen=True, kw_only=True):
    visit_interval_days: VisitIntervalDays
    started_on: date


class AssignResponsibility(Command, frozen=True, kw_only=True):
    """A service takes the tenant; a named contact is required, never a silent half-owner."""

    service: Service
    contact_worker_id: UUID


class EndFollowUp(Command, frozen=True, kw_only=True):
    ended_on: date
    reason: Reason
