"""Tenant (beboer): a person in housing follow-up, and who is responsible for them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.services import Service

MIN_VISIT_INTERVAL_DAYS = 1
MAX_VISIT_INTERVAL_DAYS = 365

VisitIntervalDays = Annotated[
    int, msgspec.Meta(ge=MIN_VISIT_INTERVAL_DAYS, le=MAX_VISIT_INTERVAL_DAYS)
]


# --- events -------------------------------------------------------------------------


class TenantRegistered(DomainEvent, frozen=True, kw_only=True):
    full_name: str
    birth_date: date | None = None


class FollowUpStarted(DomainEvent, frozen=True, kw_only=True):
    """Follow-up (booppfølging) began under an agreement (oppfølgingsavtale)."""

    visit_interval_days: int
    started_on: date


class ResponsibilityAssigned(DomainEvent, frozen=True, kw_only=True):
    """A service took responsibility for the tenant, with a named contact worker."""

    service: Service
    contact_worker_id: UUID | None = None


class FollowUpEnded(DomainEvent, frozen=True, kw_only=True):
    ended_on: date
    reason: str


TenantEvent = TenantRegistered | FollowUpStarted | ResponsibilityAssigned | FollowUpEnded


# --- state --------------------------------------------------------------------------


class FollowUp(msgspec.Struct, frozen=True):
    visit_interval_days: int
    started_on: date
    ended_on: date | None = None

    @property
    def is_active(self) -> bool:
        return self.ended_on is None


class Tenant(msgspec.Struct, frozen=True):
    id: UUID
    version: int
    full_name: str
    birth_date: date | None
    follow_up: FollowUp | None = None
    responsible_service: Service | None = None
    contact_worker_id: UUID | None = None

    @property
    def in_active_follow_up(self) -> bool:
        return self.follow_up is not None and self.follow_up.is_active


def evolve(state: Tenant | None, event: TenantEvent) -> Tenant:
    """Apply one event to the tenant's state."""
    if isinstance(event, TenantRegistered):
        return Tenant(
            id=event.originator_id,
            version=event.originator_version,
            full_name=event.full_name,
            birth_date=event.birth_date,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before TenantRegistered")
    if isinstance(event, FollowUpStarted):
        follow_up = FollowUp(event.visit_interval_days, event.started_on)
        return msgspec.structs.replace(state, version=event.originator_version, follow_up=follow_up)
    if isinstance(event, ResponsibilityAssigned):
        return msgspec.structs.replace(
            state,
            version=event.originator_version,
            responsible_service=event.service,
            contact_worker_id=event.contact_worker_id,
        )
    assert state.follow_up is not None
    ended = msgspec.structs.replace(state.follow_up, ended_on=event.ended_on)
    return msgspec.structs.replace(state, version=event.originator_version, follow_up=ended)


def replay(events: Iterable[TenantEvent]) -> Tenant | None:
    state: Tenant | None = None
    for event in events:
        state = evolve(state, event)
    return state


def require(tenant: Tenant | None, tenant_id: UUID) -> Tenant:
    if tenant is None:
        raise UnknownAggregate("tenant_id", "must_exist", f"no tenant with id {tenant_id}")
    return tenant


# --- commands (pure: state and inputs in, new events out) -------------------------------


def register(
    tenant_id: UUID, full_name: str, birth_date: date | None, meta: EventMeta
) -> TenantRegistered:
    name = full_name.strip()
    if not name:
        raise InvalidValue("full_name", "not_blank", "full_name must not be blank")
    if birth_date is not None and birth_date > meta.recorded_at.date():
        raise InvalidValue("birth_date", "not_in_future", "birth_date must not be in the future")
    return TenantRegistered(
        originator_id=tenant_id,
        originator_version=1,
        meta=meta,
        full_name=name,
        birth_date=birth_date,
    )


def start_follow_up(
    tenant: Tenant, visit_interval_days: int, started_on: date, meta: EventMeta
) -> FollowUpStarted:
    if tenant.in_active_follow_up:
        raise IllegalStateChange(
            "tenant_id", "follow_up_not_active", "the tenant's follow-up has already started"
        )
    if not MIN_VISIT_INTERVAL_DAYS <= visit_interval_days <= MAX_VISIT_INTERVAL_DAYS:
        raise InvalidValue(
            "visit_interval_days",
            "range_1_365",
            "visit_interval_days must be between 1 and 365",
        )
    return FollowUpStarted(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        visit_interval_days=visit_interval_days,
        started_on=started_on,
    )


def assign_responsibility(
    tenant: Tenant, service: Service, contact_worker_id: UUID | None, meta: EventMeta
) -> ResponsibilityAssigned:
    if tenant.follow_up is not None and not tenant.follow_up.is_active:
        raise IllegalStateChange(
            "tenant_id", "follow_up_active", "the tenant's follow-up has ended"
        )
    return ResponsibilityAssigned(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        service=service,
        contact_worker_id=contact_worker_id,
    )


def end_follow_up(tenant: Tenant, ended_on: date, reason: str, meta: EventMeta) -> FollowUpEnded:
    if not tenant.in_active_follow_up:
        raise IllegalStateChange(
            "tenant_id", "follow_up_active", "the tenant has no active follow-up to end"
        )
    assert tenant.follow_up is not None
    if ended_on < tenant.follow_up.started_on:
        raise InvalidValue(
            "ended_on", "not_before_start", "ended_on must not be before the follow-up started"
        )
    if not reason.strip():
        raise InvalidValue("reason", "not_blank", "reason must not be blank")
    return FollowUpEnded(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        ended_on=ended_on,
        reason=reason.strip(),
    )
