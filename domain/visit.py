"""Home visit (hjemmebesøk): planned, then completed with observations or failed."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from domain.dwelling import SafetyFlag
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
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


class VisitLocation(StrEnum):
    """Where the visit takes place: in the tenant's home, or elsewhere (office, café)."""

    HOME = "home"
    ELSEWHERE = "elsewhere"


class VisitStatus(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    FAILED = "failed"


# --- events -------------------------------------------------------------------------


class VisitPlanned(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    planned_for: datetime
    worker_ids: tuple[UUID, ...]
    location: VisitLocation = VisitLocation.HOME


class VisitCompleted(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    worker_ids: tuple[UUID, ...]
    observations: Observations
    # Safety rules the visit broke; only ever set for a visit recorded offline.
    review_reasons: tuple[str, ...] = ()


class VisitFailed(DomainEvent, frozen=True, kw_only=True):
    tenant_id: UUID
    worker_ids: tuple[UUID, ...]
    reason: FailureReason
    review_reasons: tuple[str, ...] = ()


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
    location: VisitLocation = VisitLocation.HOME
    review_reasons: tuple[str, ...] = ()
    needs_review: bool = False


def evolve(state: Visit | None, event: VisitEvent) -> Visit:
    if isinstance(event, VisitPlanned):
        return Visit(
            id=event.originator_id,
            version=event.originator_version,
            tenant_id=event.tenant_id,
            planned_for=event.planned_for,
            worker_ids=event.worker_ids,
            location=event.location,
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
            review_reasons=event.review_reasons,
            needs_review=bool(event.review_reasons),
        )
    return msgspec.structs.replace(
        state,
        version=event.originator_version,
        status=VisitStatus.FAILED,
        worker_ids=event.worker_ids,
        occurred_at=event.meta.occurred_at,
        failure_reason=event.reason,
        review_reasons=event.review_reasons,
        needs_review=bool(event.review_reasons),
    )


def replay(events: Iterable[VisitEvent]) -> Visit | None:
    state: Visit | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Visit] = Kind("visit", VisitPlanned, evolve)


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


def _worker_breaches(
    worker_ids: Sequence[UUID], not_visitors: Collection[UUID]
) -> list[DomainError]:
    """The named workers who are not active follow-up workers (:mod:`domain.staff`)."""
    return [
        InvalidValue(
            "worker_ids",
            "known_follow_up_worker",
            f"worker_ids[{n}] is not an active user of a service that makes follow-up visits",
        )
        for n, worker_id in enumerate(worker_ids)
        if worker_id in not_visitors
    ]


def _safety_breaches(
    flag: SafetyFlag | None,
    location: VisitLocation,
    worker_ids: Sequence[UUID],
    *,
    planning: bool,
) -> list[DomainError]:
    """What the address's safety flag forbids about this visit (two-person, no-entry).

    ``worker_ids`` are the workers who count: a name that is no real colleague never
    makes a second person.
    """
    if flag is None:
        return []
    breaches: list[DomainError] = []
    if flag.needs_two_workers and len(set(worker_ids)) < 2:
        breaches.append(
            InvalidValue(
                "worker_ids",
                "two_person_address",
                "the tenant's address is flagged two-person: nobody visits alone, "
                "so name at least two workers",
            )
        )
    if flag.forbids_entry and location is VisitLocation.HOME:
        detail = "the tenant's address is flagged no-entry: meet the tenant elsewhere, not at home"
        breaches.append(
            InvalidValue("location", "no_entry_address", detail)
            if planning
            else IllegalStateChange("location", "no_entry_address", detail)
        )
    return breaches


def _review_reasons(
    breaches: Sequence[DomainError], recorded_offline: bool, also_review: Sequence[str] = ()
) -> tuple[str, ...]:
    """Refuse a breach; a visit recorded offline is kept, marked with the broken rules."""
    if breaches and not recorded_offline:
        raise breaches[0]
    extra = also_review if recorded_offline else ()
    return tuple(dict.fromkeys([*(breach.rule for breach in breaches), *extra]))


def _follow_up_breaches(tenant: Tenant) -> list[DomainError]:
    try:
        _require_active_follow_up(tenant)
    except DomainError as ended:
        return [ended]
    return []


def _breaches(
    flag: SafetyFlag | None,
    location: VisitLocation,
    workers: Sequence[UUID],
    not_visitors: Collection[UUID],
    *,
    planning: bool,
    at_address: bool = True,
) -> list[DomainError]:
    counted = [w for w in workers if w not in not_visitors]
    safety = _safety_breaches(flag, location, counted, planning=planning) if at_address else []
    return [*_worker_breaches(workers, not_visitors), *safety]


# --- commands -----------------------------------------------------------------------


def plan(
    visit_id: UUID,
    tenant: Tenant,
    planned_for: datetime,
    worker_ids: Sequence[UUID],
    meta: EventMeta,
    *,
    location: VisitLocation = VisitLocation.HOME,
    safety_flag: SafetyFlag | None = None,
    not_visitors: Collection[UUID] = (),
) -> VisitPlanned:
    """Plan a visit; ``safety_flag`` is the active flag of the tenant's address, if any.

    ``not_visitors`` are the named workers who are no active follow-up worker
    (:func:`domain.staff.not_visitors`): such a name is refused.
    """
    _require_active_follow_up(tenant)
    if planned_for.tzinfo is None:
        raise InvalidValue("planned_for", "timezone_required", "planned_for needs a UTC offset")
    workers = _checked_workers(worker_ids)
    breaches = _breaches(safety_flag, location, workers, not_visitors, planning=True)
    if breaches:
        raise breaches[0]
    return VisitPlanned(
        originator_id=visit_id,
        originator_version=1,
        meta=meta,
        tenant_id=tenant.id,
        planned_for=planned_for,
        worker_ids=workers,
        location=location,
    )


def complete(
    visit: Visit,
    tenant: Tenant,
    worker_ids: Sequence[UUID],
    observations: Observations,
    meta: EventMeta,
    *,
    safety_flag: SafetyFlag | None = None,
    recorded_offline: bool = False,
    not_visitors: Collection[UUID] = (),
    also_review: Sequence[str] = (),
) -> VisitCompleted:
    """Record a visit that took place; see :func:`fail` for the rules offline."""
    _require_planned(visit)
    if not recorded_offline:
        _require_active_follow_up(tenant)
    if len(observations.note) > MAX_NOTE_LENGTH:
        raise InvalidValue("observations.note", "max_length_10000", "the note is too long")
    workers = _checked_workers(worker_ids)
    breaches = [
        *_follow_up_breaches(tenant),
        *_breaches(safety_flag, visit.location, workers, not_visitors, planning=False),
    ]
    return VisitCompleted(
        originator_id=visit.id,
        originator_version=visit.version + 1,
        meta=meta,
        tenant_id=visit.tenant_id,
        worker_ids=workers,
        observations=observations,
        review_reasons=_review_reasons(breaches, recorded_offline, also_review),
    )


def fail(
    visit: Visit,
    tenant: Tenant,
    worker_ids: Sequence[UUID],
    reason: FailureReason,
    meta: EventMeta,
    *,
    safety_flag: SafetyFlag | None = None,
    recorded_offline: bool = False,
    not_visitors: Collection[UUID] = (),
    also_review: Sequence[str] = (),
) -> VisitFailed:
    """Record a visit that did not happen.

    A visit that failed at the door (not at home, refused entry) went to the address, so
    the address's safety flag applies; a cancelled visit went nowhere and is always
    recorded (otherwise a home visit planned before a no-entry flag could never be
    closed). A named worker who is no active follow-up worker (``not_visitors``) is
    refused, cancelled or not. A breach recorded offline is kept, with the broken rules as
    review reasons (decision 14), and so is one for a tenant whose follow-up ended meanwhile
    (``follow_up_active``). ``also_review`` adds reasons found outside the visit's own
    rules (the sync push: ``outside_caseload``, the worker no longer follows the tenant);
    they count only for a visit recorded offline.
    """
    _require_planned(visit)
    if not recorded_offline:
        _require_active_follow_up(tenant)
    workers = _checked_workers(worker_ids)
    breaches = [
        *_follow_up_breaches(tenant),
        *_breaches(
            safety_flag,
            visit.location,
            workers,
            not_visitors,
            planning=False,
            at_address=reason is not FailureReason.CANCELLED,
        ),
    ]
    return VisitFailed(
        originator_id=visit.id,
        originator_version=visit.version + 1,
        meta=meta,
        tenant_id=visit.tenant_id,
        worker_ids=workers,
        reason=reason,
        review_reasons=_review_reasons(breaches, recorded_offline, also_review),
    )
