"""Home visit (hjemmebesøk): planned, then completed with observations or failed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.tenant import Tenant

MAX_WORKERS_ON_VISIT = 4
MAX_NOTE_LENGTH = 10_000


class Wellbeing(StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    CRISIS = "crisis"


class FailureReason(StrEnum):
    NOT_AT_HOME = "not_at_home"
    REFUSED_ENTRY = "refused_entry"
    CANCELLED = "cancelled"


class Observations(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the workers saw. The note is confidential: never logged, never summarised."""

    wellbeing: Wellbeing
    note: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_LENGTH)] = ""


class VisitStatus(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    FAILED = "failed"


# --- events -------------------------------------------------------------------------


class VisitPlanned(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    planned_for: datetime
    worker_ids: tuple[UUID, ...]


class VisitCompleted(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    worker_ids: tuple[UUID, ...]
    observations: Observations


class VisitFailed(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    worker_ids: tuple[UUID, ...]
    reason: FailureReason


VisitEvent = VisitPlanned | VisitCompleted | VisitFailed


# --- state --------------------------------------------------------------------------


class Visit(msgspec.Struct, frozen=True):
    id: UUID
    version: int
    tenant_id: UUID
    planned_for: datetime
    worker_ids: tuple[UUID, ...]
    status: VisitStatus = VisitStatus.PLANNED
    occurred_at: datetime | None = None
    observations: Observations | None = None
    failure_reason: FailureReason | None = None


def evolve(state: Visit | None, event: VisitEvent) -> Visit:
    if isinstance(event, VisitPlanned):
        return Visit(
            id=event.originator_id,
            version=event.originator_version,
            tenant_id=event.tenant_id,
            planned_for=event.planned_for,
            worker_ids=event.worker_ids,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before VisitPlanned")
    if isinstance(event, VisitCompleted):
        return msgspec.structs.replace(
            state,
            version=event.originator_version,
            status=VisitStatus.COMPLETED,
            worker_ids=event.worker_ids,
            occurred_at=event.meta.occurred_at,
            observations=event.observations,
        )
    return msgspec.structs.replace(
        state,
        version=event.originator_version,
        status=VisitStatus.FAILED,
        worker_ids=event.worker_ids,
        occurred_at=event.meta.occurred_at,
        failure_reason=event.reason,
    )


def replay(events: Iterable[VisitEvent]) -> Visit | None:
    state: Visit | None = None
    for event in events:
        state = evolve(state, event)
    return state


def require(visit: Visit | None, visit_id: UUID) -> Visit:
    if visit is None:
        raise UnknownAggregate("visit_id", "must_exist", f"no visit with id {visit_id}")
    return visit


# --- rules ----------------------------------------------------------------------------


def _checked_workers(worker_ids: Sequence[UUID]) -> tuple[UUID, ...]:
    if not worker_ids:
        raise InvalidValue("worker_ids", "at_least_one", "a visit needs at least one worker")
    if len(set(worker_ids)) != len(worker_ids):
        raise InvalidValue("worker_ids", "unique", "worker_ids must not repeat a worker")
    if len(worker_ids) > MAX_WORKERS_ON_VISIT:
        raise InvalidValue(
            "worker_ids", "at_most_4", f"at most {MAX_WORKERS_ON_VISIT} workers on one visit"
        )
    return tuple(worker_ids)


def _require_active_follow_up(tenant: Tenant) -> None:
    if not tenant.in_active_follow_up:
        raise IllegalStateChange(
            "tenant_id",
            "follow_up_active",
            "visits can only be planned or recorded while the tenant's follow-up is active",
        )


def _require_planned(visit: Visit) -> None:
    if visit.status is not VisitStatus.PLANNED:
        raise IllegalStateChange(
            "visit_id", "visit_planned", f"the visit is already {visit.status.value}"
        )


# --- commands -----------------------------------------------------------------------


def plan(
    visit_id: UUID,
    tenant: Tenant,
    planned_for: datetime,
    worker_ids: Sequence[UUID],
    meta: EventMeta,
) -> VisitPlanned:
    _require_active_follow_up(tenant)
    if planned_for.tzinfo is None:
        raise InvalidValue("planned_for", "timezone_required", "planned_for needs a UTC offset")
    return VisitPlanned(
        originator_id=visit_id,
        originator_version=1,
        meta=meta,
        tenant_id=tenant.id,
        planned_for=planned_for,
        worker_ids=_checked_workers(worker_ids),
    )


def complete(
    visit: Visit,
    tenant: Tenant,
    worker_ids: Sequence[UUID],
    observations: Observations,
    meta: EventMeta,
) -> VisitCompleted:
    _require_planned(visit)
    _require_active_follow_up(tenant)
    if len(observations.note) > MAX_NOTE_LENGTH:
        raise InvalidValue("observations.note", "max_length_10000", "the note is too long")
    return VisitCompleted(
        originator_id=visit.id,
        originator_version=visit.version + 1,
        meta=meta,
        tenant_id=visit.tenant_id,
        worker_ids=_checked_workers(worker_ids),
        observations=observations,
    )


def fail(
    visit: Visit,
    tenant: Tenant,
    worker_ids: Sequence[UUID],
    reason: FailureReason,
    meta: EventMeta,
) -> VisitFailed:
    _require_planned(visit)
    _require_active_follow_up(tenant)
    return VisitFailed(
        originator_id=visit.id,
        originator_version=visit.version + 1,
        meta=meta,
        tenant_id=visit.tenant_id,
        worker_ids=_checked_workers(worker_ids),
        reason=reason,
    )
