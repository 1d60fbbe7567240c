"""Tenant (beboer): a person in housing follow-up, where they live, and who is responsible.

Rule (overgangene): every active tenant has exactly one responsible service with a named
contact. When that lapses, the tenant carries an explicit gap (``responsibility_gap_since``)
until a service takes them; the gap is never hidden.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import EventMeta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.tenant_events import (
    Consent,
    ConsentGiven,
    ConsentWithdrawn,
    FollowUpEnded,
    FollowUpStarted,
    IndividualPlan,
    IndividualPlanChanged,
    IndividualPlanEnded,
    IndividualPlanStarted,
    NavNoticeOptedOut,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantEvent,
    TenantMovedIn,
    TenantMovedOut,
    TenantRegistered,
)

__all__ = [
    "FollowUpEnded",
    "FollowUpStarted",
    "ResponsibilityAssigned",
    "ResponsibilityLapsed",
    "Tenant",
    "TenantEvent",
    "TenantMovedIn",
    "TenantMovedOut",
    "TenantRegistered",
]

MIN_VISIT_INTERVAL_DAYS = 1
MAX_VISIT_INTERVAL_DAYS = 365

VisitIntervalDays = Annotated[
    int, msgspec.Meta(ge=MIN_VISIT_INTERVAL_DAYS, le=MAX_VISIT_INTERVAL_DAYS)
]


class FollowUp(msgspec.Struct, frozen=True):
    visit_interval_days: int
    started_on: date
    ended_on: date | None = None

    @property
    def is_active(self) -> bool:
        return self.ended_on is None


class Tenant(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    full_name: str
    birth_date: date | None
    follow_up: FollowUp | None = None
    responsible_service: Service | None = None
    contact_worker_id: UUID | None = None
    # Set when responsibility lapsed and nobody has taken the tenant since.
    responsibility_gap_since: datetime | None = None
    dwelling_id: UUID | None = None
    lease_id: UUID | None = None
    # Every lease the tenant has lived under, oldest first (each lease's rent case is
    # found from it: :func:`domain.rent.rent_case_id_for`).
    lease_ids: tuple[UUID, ...] = ()
    consents: tuple[Consent, ...] = ()
    nav_notice_opted_out_on: date | None = None
    individual_plan: IndividualPlan | None = None

    @property
    def in_active_follow_up(self) -> bool:
        return self.follow_up is not None and self.follow_up.is_active

    @property
    def has_responsibility_gap(self) -> bool:
        return self.responsibility_gap_since is not None


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
    change = msgspec.structs.replace
    s = change(state, version=event.originator_version)
    match event:
        case FollowUpStarted():
            return change(s, follow_up=FollowUp(event.visit_interval_days, event.started_on))
        case FollowUpEnded():
            assert s.follow_up is not None
            return change(s, follow_up=change(s.follow_up, ended_on=event.ended_on))
        case ResponsibilityAssigned():
            return change(
                s,
                responsible_service=event.service,
                contact_worker_id=event.contact_worker_id,
                responsibility_gap_since=None,
            )
        case ResponsibilityLapsed():
            return change(
                s,
                responsible_service=None,
                contact_worker_id=None,
                responsibility_gap_since=event.meta.occurred_at,
            )
        case TenantMovedIn():
            leases = s.lease_ids
            if event.lease_id not in leases:
                leases = (*leases, event.lease_id)
            return change(
                s, dwelling_id=event.dwelling_id, lease_id=event.lease_id, lease_ids=leases
            )
        case TenantMovedOut():
            return change(s, dwelling_id=None, lease_id=None)
        case ConsentGiven():
            return change(s, consents=(*s.consents, event.consent))
        case ConsentWithdrawn():
            consents = tuple(
                change(c, withdrawn_on=event.withdrawn_on)
                if c.consent_id == event.consent_id
                else c
                for c in s.consents
            )
            return change(s, consents=consents)
        case NavNoticeOptedOut():
            return change(s, nav_notice_opted_out_on=event.opted_out_on)
        case IndividualPlanStarted():
            return change(s, individual_plan=event.plan)
        case IndividualPlanChanged():
            assert s.individual_plan is not None
            plan = change(
                s.individual_plan,
                coordinator_worker_id=event.coordinator_worker_id,
                coordinator_service=event.coordinator_service,
                group=event.group,
            )
            return change(s, individual_plan=plan)
        case IndividualPlanEnded():
            assert s.individual_plan is not None
            return change(s, individual_plan=change(s.individual_plan, ended_on=event.ended_on))
    raise TypeError(f"not a tenant event: {type(event).__name__}")


def replay(events: Iterable[TenantEvent]) -> Tenant | None:
    state: Tenant | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Tenant] = Kind("tenant", TenantRegistered, evolve)


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
    if birth_date is not None and birth_date > meta.recorded_on:
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
    tenant: Tenant,
    service: Service,
    contact_worker_id: UUID | None,
    meta: EventMeta,
    handover_id: UUID | None = None,
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
        handover_id=handover_id,
    )


def lapse_responsibility(
    tenant: Tenant, reason: str, meta: EventMeta, handover_id: UUID | None = None
) -> ResponsibilityLapsed:
    """Record that nobody is responsible any more (e.g. a handover nobody accepted)."""
    if tenant.has_responsibility_gap:
        raise IllegalStateChange(
            "tenant_id",
            "responsibility_not_lapsed",
            "the tenant already has no responsible service",
        )
    return ResponsibilityLapsed(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        previous_service=tenant.responsible_service,
        reason=reason,
        handover_id=handover_id,
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


def move_in(
    tenant: Tenant, dwelling_id: UUID, lease_id: UUID, moved_in_on: date, meta: EventMeta
) -> TenantMovedIn:
    if tenant.dwelling_id is not None:
        raise IllegalStateChange(
            "tenant_id",
            "not_living_elsewhere",
            "the tenant must move out of the current dwelling first",
        )
    return TenantMovedIn(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        dwelling_id=dwelling_id,
        lease_id=lease_id,
        moved_in_on=moved_in_on,
    )


def move_out(tenant: Tenant, moved_out_on: date, meta: EventMeta) -> TenantMovedOut:
    if tenant.dwelling_id is None:
        raise IllegalStateChange(
            "tenant_id", "living_in_dwelling", "the tenant has no dwelling to move out of"
        )
    return TenantMovedOut(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        dwelling_id=tenant.dwelling_id,
        moved_out_on=moved_out_on,
    )
