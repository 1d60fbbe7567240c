"""Lease (leiekontrakt): a tenant's tenancy of a dwelling, from a start date, maybe for a term.

Starting a lease moves the tenant in and lets the dwelling; ending it moves the tenant
out and vacates the dwelling. The use case stores the three aggregates' events in one
transaction, so a lease never exists without its tenant and dwelling agreeing.

A short, time-limited lease (e.g. six months after earlier evictions) is given by
``term_months``; its end date follows from the start (1 March + 6 months runs to
31 August) unless stated, and must agree with the term when both are given.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from uuid import UUID

import msgspec

from domain import dwelling as dwellings
from domain import tenant as tenants
from domain.dwelling import Dwelling, DwellingLet, DwellingVacated
from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.tenant import Tenant
from domain.tenant_events import TenantMovedIn, TenantMovedOut

MIN_TERM_MONTHS = 1
MAX_TERM_MONTHS = 120


class LeaseEndReason(StrEnum):
    EXPIRED = "expired"
    TERMINATED_BY_TENANT = "terminated_by_tenant"
    TERMINATED_BY_LANDLORD = "terminated_by_landlord"
    EVICTION = "eviction"
    TRANSFERRED = "transferred"  # moved to another dwelling
    OTHER = "other"


# --- events -------------------------------------------------------------------------


class LeaseStarted(DomainEvent, frozen=True, kw_only=True):
    dwelling_id: UUID
    tenant_id: UUID
    starts_on: date
    ends_on: date | None = None
    term_months: int | None = None


class LeaseEnded(DomainEvent, frozen=True, kw_only=True):
    # Who and where are repeated so a read model needs no lookup to place the fact.
    dwelling_id: UUID
    tenant_id: UUID
    ended_on: date
    reason: LeaseEndReason


LeaseEvent = LeaseStarted | LeaseEnded


# --- state --------------------------------------------------------------------------


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    dwelling_id: UUID
    tenant_id: UUID
    starts_on: date
    ends_on: date | None = None
    term_months: int | None = None
    ended_on: date | None = None
    end_reason: LeaseEndReason | None = None

    @property
    def is_active(self) -> bool:
        return self.ended_on is None


def evolve(state: Lease | None, event: LeaseEvent) -> Lease:
    if isinstance(event, LeaseStarted):
        return Lease(
            id=event.originator_id,
            version=event.originator_version,
            dwelling_id=event.dwelling_id,
            tenant_id=event.tenant_id,
            starts_on=event.starts_on,
            ends_on=event.ends_on,
            term_months=event.term_months,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before LeaseStarted")
    return msgspec.structs.replace(
        state,
        version=event.originator_version,
        ended_on=event.ended_on,
        end_reason=event.reason,
    )


def replay(events: Iterable[LeaseEvent]) -> Lease | None:
    state: Lease | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Lease] = Kind("lease", LeaseStarted, evolve)


def require(lease: Lease | None, lease_id: UUID) -> Lease:
    if lease is None:
        raise UnknownAggregate("lease_id", "must_exist", f"no lease with id {lease_id}")
    return lease


def term_end(starts_on: date, term_months: int) -> date:
    """The last day of a term: the day before the same date ``term_months`` later."""
    month_index = starts_on.month - 1 + term_months
    year, month = starts_on.year + month_index // 12, month_index % 12 + 1
    day = min(starts_on.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) - timedelta(days=1)


# --- commands -----------------------------------------------------------------------


def start(
    lease_id: UUID,
    dwelling_id: UUID,
    tenant_id: UUID,
    starts_on: date,
    ends_on: date | None,
    term_months: int | None,
    meta: EventMeta,
) -> LeaseStarted:
    """The lease's own terms; :func:`move_in` checks the dwelling and the tenant."""
    if term_months is not None:
        if not MIN_TERM_MONTHS <= term_months <= MAX_TERM_MONTHS:
            raise InvalidValue(
                "term_months", "range_1_120", "term_months must be between 1 and 120"
            )
        end_of_term = term_end(starts_on, term_months)
        if ends_on is None:
            ends_on = end_of_term
        elif ends_on != end_of_term:
            raise InvalidValue(
                "ends_on",
                "matches_term_months",
                f"a {term_months}-month lease from {starts_on.isoformat()} ends on "
                f"{end_of_term.isoformat()}",
            )
    if ends_on is not None and ends_on <= starts_on:
        raise InvalidValue("ends_on", "after_start", "ends_on must be after starts_on")
    return LeaseStarted(
        originator_id=lease_id,
        originator_version=1,
        meta=meta,
        dwelling_id=dwelling_id,
        tenant_id=tenant_id,
        starts_on=starts_on,
        ends_on=ends_on,
        term_months=term_months,
    )


def move_in(
    started: LeaseStarted, dwelling: Dwelling, tenant: Tenant
) -> tuple[DwellingLet, TenantMovedIn]:
    """The dwelling is let and the tenant moves in, both under the new lease."""
    if (dwelling.id, tenant.id) != (started.dwelling_id, started.tenant_id):
        raise ValueError("the dwelling and tenant must be the lease's own")
    let = dwellings.let(dwelling, started.originator_id, tenant.id, started.starts_on, started.meta)
    moved_in = tenants.move_in(
        tenant, dwelling.id, started.originator_id, started.starts_on, started.meta
    )
    return let, moved_in


def end(lease: Lease, ended_on: date, reason: LeaseEndReason, meta: EventMeta) -> LeaseEnded:
    if not lease.is_active:
        raise IllegalStateChange("lease_id", "lease_active", "the lease has already ended")
    if ended_on < lease.starts_on:
        raise InvalidValue(
            "ended_on", "not_before_start", "ended_on must not be before the lease started"
        )
    return LeaseEnded(
        originator_id=lease.id,
        originator_version=lease.version + 1,
        meta=meta,
        dwelling_id=lease.dwelling_id,
        tenant_id=lease.tenant_id,
        ended_on=ended_on,
        reason=reason,
    )


def move_out(
    ended: LeaseEnded, dwelling: Dwelling, tenant: Tenant
) -> tuple[DwellingVacated] | tuple[DwellingVacated, TenantMovedOut]:
    """The dwelling is vacated; the tenant moves out if they still live there under it."""
    if (dwelling.id, tenant.id) != (ended.dwelling_id, ended.tenant_id):
        raise ValueError("the dwelling and tenant must be the lease's own")
    vacated = dwellings.vacate(dwelling, ended.originator_id, tenant.id, ended.ended_on, ended.meta)
    if tenant.lease_id != ended.originator_id:
        return (vacated,)
    return vacated, tenants.move_out(tenant, ended.ended_on, ended.meta)
