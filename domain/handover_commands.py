"""Request bodies for handovers (overgangene) and the individual plan (individuell plan)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command, Reason
from domain.handover import HandoverKind
from domain.municipal_services import Service

# The responsibility group (ansvarsgruppe) names each service at most once.
ServiceGroup = Annotated[tuple[Service, ...], msgspec.Meta(max_length=len(Service))]


class AnnounceHandover(Command, frozen=True, kw_only=True):
    handover_id: UUID
    tenant_id: UUID
    from_service: Service
    to_service: Service
    kind: HandoverKind
    effective_on: date


class AcceptHandover(Command, frozen=True, kw_only=True):
    contact_worker_id: UUID


class DeclineHandover(Command, frozen=True, kw_only=True):
    reason: Reason


class StartIndividualPlan(Command, frozen=True, kw_only=True):
    started_on: date
    coordinator_worker_id: UUID
    coordinator_service: Service
    group: ServiceGroup = ()


class ChangeIndividualPlan(Command, frozen=True, kw_only=True):
    coordinator_worker_id: UUID
    coordinator_service: Service
    group: ServiceGroup = ()


class EndIndividualPlan(Command, frozen=True, kw_only=True):
    ended_on: date
