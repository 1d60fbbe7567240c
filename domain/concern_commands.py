"""Commands (request bodies) for concerns (bekymringsmeldinger)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command
from domain.concern import (
    MAX_DESCRIPTION_LENGTH,
    MAX_OUTCOME_LENGTH,
    ConcernCategory,
    ConcernOutcome,
    EscalationReason,
)
from domain.municipal_services import Service

Description = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DESCRIPTION_LENGTH)]
OutcomeText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_OUTCOME_LENGTH)]


class RaiseConcern(Command, frozen=True, kw_only=True):
    """About a tenant, a dwelling, or both (at least one). The description is confidential."""

    concern_id: UUID
    tenant_id: UUID | None = None
    dwelling_id: UUID | None = None
    category: ConcernCategory
    description: Description


class RouteConcern(Command, frozen=True, kw_only=True):
    to_service: Service


class AcknowledgeConcern(Command, frozen=True, kw_only=True):
    pass


class ResolveConcern(Command, frozen=True, kw_only=True):
    outcome: ConcernOutcome
    outcome_text: OutcomeText


class EscalateConcern(Command, frozen=True, kw_only=True):
    reason: EscalationReason
    to_service: Service | None = None
