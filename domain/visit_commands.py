"""Commands about home visits (hjemmebesøk): plan, complete, fail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command
from domain.visit import MAX_WORKERS_ON_VISIT, FailureReason, Observations, VisitLocation

Workers = Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=MAX_WORKERS_ON_VISIT)]


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
