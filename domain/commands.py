"""Commands: what a user asks the system to record. Field constraints live here once.

These structs double as HTTP request bodies; ids that appear in the URL are passed
separately. Every command may carry ``occurred_at`` (when it happened in the field);
the server's time is used when it is missing.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from domain.municipal_services import Service
from domain.tenant import VisitIntervalDays
from domain.visit import MAX_WORKERS_ON_VISIT, FailureReason, Observations, VisitLocation

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Workers = Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_WORKERS_ON_VISIT)]


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    occurred_at: datetime | None = None


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


class PlanVisit(Command, frozen=True, kw_only=True):
    visit_id: UUID
    planned_for: datetime
    worker_ids: Workers
    location: VisitLocation = VisitLocation.HOME


class CompleteVisit(Command, frozen=True, kw_only=True):
    worker_ids: Workers
    observations: Observations
    # Recorded on a tablet without a connection: a safety-rule breach is kept for review.
    recorded_offline: bool = False


class FailVisit(Command, frozen=True, kw_only=True):
    worker_ids: Workers
    reason: FailureReason
    recorded_offline: bool = False
