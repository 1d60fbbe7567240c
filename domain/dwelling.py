"""Dwelling (bolig): an address with its unit, who owns it, who lives there, and its safety flag.

Address safety ("adresser der vi ikke går inn alene"): staff will not enter some
addresses alone (two-person), and some not at all (no-entry: meet elsewhere). A dwelling
carries at most one active flag, with a reason category, who set it, when, and the date
it must be reviewed by. The flag's history is the dwelling's event log.

Rule: at most one active lease per dwelling. The dwelling records being let and vacated
in the same transaction as the lease, so two leases for one dwelling cannot both be
stored (the second write fails its optimistic-concurrency check).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import Actor, DomainEvent, EventMeta
from domain.kinds import Kind


class DwellingOwner(StrEnum):
    """Who owns the dwelling: the municipality, or a private landlord it sublets from."""

    MUNICIPAL = "municipal"
    SUBLET_PRIVATE = "sublet_private"


class SafetyFlagKind(StrEnum):
    TWO_PERSON = "two_person"  # never visit alone
    NO_ENTRY = "no_entry"  # do not enter: meet the tenant elsewhere


class SafetyFlagReason(StrEnum):
    """Why the address is flagged: a category only, never a free-text account."""

    THREATS_VIOLENCE = "threats_violence"
    WEAPONS = "weapons"
    AGGRESSIVE_ANIMAL = "aggressive_animal"
    DRUG_ENVIRONMENT = "drug_environment"
    INFECTION_HYGIENE = "infection_hygiene"
    OTHER = "other"


# --- events -------------------------------------------------------------------------


class DwellingRegistered(DomainEvent, frozen=True, kw_only=True):
    address: str
    unit: str | None = None
    postcode: str | None = None
    owner: DwellingOwner


class SafetyFlagSet(DomainEvent, frozen=True, kw_only=True):
    """The address was flagged; who set it is ``meta.actor``."""

    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date


class SafetyFlagChanged(DomainEvent, frozen=True, kw_only=True):
    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date


class SafetyFlagReviewed(DomainEvent, frozen=True, kw_only=True):
    """The flag was reviewed and kept; the next review is due on ``review_on``."""

    review_on: date


class SafetyFlagLifted(DomainEvent, frozen=True, kw_only=True):
    reason: str


class DwellingLet(DomainEvent, frozen=True, kw_only=True):
    """A lease on the dwelling started (raised together with LeaseStarted)."""

    lease_id: UUID
    tenant_id: UUID
    starts_on: date


class DwellingVacated(DomainEvent, frozen=True, kw_only=True):
    """The dwelling's lease ended (raised together with LeaseEnded)."""

    lease_id: UUID
    tenant_id: UUID
    ended_on: date


DwellingEvent = (
    DwellingRegistered
    | SafetyFlagSet
    | SafetyFlagChanged
    | SafetyFlagReviewed
    | SafetyFlagLifted
    | DwellingLet
    | DwellingVacated
)


# --- state --------------------------------------------------------------------------


class SafetyFlag(msgspec.Struct, frozen=True, kw_only=True):
    """The address's active safety flag, as every tablet must see it."""

    kind: SafetyFlagKind
    reason: SafetyFlagReason
    set_by: Actor
    set_at: datetime
    review_on: date
    changed_by: Actor | None = None
    changed_at: datetime | None = None
    reviewed_by: Actor | None = None
    reviewed_at: datetime | None = None

    @property
    def needs_two_workers(self) -> bool:
        return self.kind is SafetyFlagKind.TWO_PERSON

    @property
    def forbids_entry(self) -> bool:
        return self.kind is SafetyFlagKind.NO_ENTRY


class Dwelling(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    address: str
    unit: str | None
    postcode: str | None
    owner: DwellingOwner
    safety_flag: SafetyFlag | None = None
    active_lease_id: UUID | None = None
    tenant_id: UUID | None = None


def evolve(state: Dwelling | None, event: DwellingEvent) -> Dwelling:
    if isinstance(event, DwellingRegistered):
        return Dwelling(
            id=event.originator_id,
            version=event.originator_version,
            address=event.address,
            unit=event.unit,
            postcode=event.postcode,
            owner=event.owner,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before DwellingRegistered")
    change = msgspec.structs.replace
    s = change(state, version=event.originator_version)
    match event:
        case SafetyFlagSet():
            flag = SafetyFlag(
                kind=event.kind,
                reason=event.reason,
                set_by=event.meta.actor,
                set_at=event.meta.occurred_at,
                review_on=event.review_on,
            )
            return change(s, safety_flag=flag)
        case SafetyFlagChanged():
            assert s.safety_flag is not None
            flag = change(
                s.safety_flag,
                kind=event.kind,
                reason=event.reason,
                review_on=event.review_on,
                changed_by=event.meta.actor,
                changed_at=event.meta.occurred_at,
            )
            return change(s, safety_flag=flag)
        case SafetyFlagReviewed():
            assert s.safety_flag is not None
            flag = change(
                s.safety_flag,
                review_on=event.review_on,
                reviewed_by=event.meta.actor,
                reviewed_at=event.meta.occurred_at,
            )
            return change(s, safety_flag=flag)
        case SafetyFlagLifted():
            return change(s, safety_flag=None)
        case DwellingLet():
            return change(s, active_lease_id=event.lease_id, tenant_id=event.tenant_id)
        case DwellingVacated():
            return change(s, active_lease_id=None, tenant_id=None)
    raise TypeError(f"not a dwelling event: {type(event).__name__}")


def replay(events: Iterable[DwellingEvent]) -> Dwelling | None:
    state: Dwelling | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Dwelling] = Kind("dwelling", DwellingRegistered, evolve)


def require(dwelling: Dwelling | None, dwelling_id: UUID, field: str = "dwelling_id") -> Dwelling:
    if dwelling is None:
        raise UnknownAggregate(field, "must_exist", f"no dwelling with id {dwelling_id}")
    return dwelling


# --- rules ----------------------------------------------------------------------------


def _not_blank(value: str, field: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidValue(field, "not_blank", f"{field} must not be blank")
    return text


def _review_not_in_past(review_on: date, meta: EventMeta) -> None:
    if review_on < meta.recorded_on:
        raise InvalidValue(
            "review_on", "not_in_past", "review_on must be today or later: a flag needs a review"
        )


def _active_flag(dwelling: Dwelling) -> SafetyFlag:
    if dwelling.safety_flag is None:
        raise IllegalStateChange(
            "dwelling_id", "safety_flag_active", "the address has no active safety flag"
        )
    return dwelling.safety_flag


# --- commands -----------------------------------------------------------------------


def register(
    dwelling_id: UUID,
    address: str,
    unit: str | None,
    postcode: str | None,
    owner: DwellingOwner,
    meta: EventMeta,
) -> DwellingRegistered:
    if postcode is not None and not re.fullmatch(r"[0-9]{4}", postcode):
        raise InvalidValue("postcode", "four_digits", "a Norwegian postcode has four digits")
    return DwellingRegistered(
        originator_id=dwelling_id,
        originator_version=1,
        meta=meta,
        address=_not_blank(address, "address"),
        unit=None if unit is None else _not_blank(unit, "unit"),
        postcode=postcode,
        owner=owner,
    )


def set_flag(
    dwelling: Dwelling,
    kind: SafetyFlagKind,
    reason: SafetyFlagReason,
    review_on: date,
    meta: EventMeta,
) -> SafetyFlagSet:
    if dwelling.safety_flag is not None:
        raise IllegalStateChange(
            "dwelling_id",
            "no_active_safety_flag",
            "the address is already flagged; change the flag instead of setting another",
        )
    _review_not_in_past(review_on, meta)
    return SafetyFlagSet(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        kind=kind,
        reason=reason,
        review_on=review_on,
    )


def change_flag(
    dwelling: Dwelling,
    kind: SafetyFlagKind,
    reason: SafetyFlagReason,
    review_on: date,
    meta: EventMeta,
) -> SafetyFlagChanged:
    flag = _active_flag(dwelling)
    _review_not_in_past(review_on, meta)
    if (flag.kind, flag.reason, flag.review_on) == (kind, reason, review_on):
        raise InvalidValue(
            "kind", "changes_something", "the change restates the current flag; review it instead"
        )
    return SafetyFlagChanged(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        kind=kind,
        reason=reason,
        review_on=review_on,
    )


def review_flag(dwelling: Dwelling, review_on: date, meta: EventMeta) -> SafetyFlagReviewed:
    _active_flag(dwelling)
    _review_not_in_past(review_on, meta)
    return SafetyFlagReviewed(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        review_on=review_on,
    )


def lift_flag(dwelling: Dwelling, reason: str, meta: EventMeta) -> SafetyFlagLifted:
    _active_flag(dwelling)
    return SafetyFlagLifted(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        reason=_not_blank(reason, "reason"),
    )


def let(
    dwelling: Dwelling, lease_id: UUID, tenant_id: UUID, starts_on: date, meta: EventMeta
) -> DwellingLet:
    if dwelling.active_lease_id is not None:
        raise IllegalStateChange(
            "dwelling_id", "not_let", "the dwelling already has an active lease; end it first"
        )
    return DwellingLet(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        lease_id=lease_id,
        tenant_id=tenant_id,
        starts_on=starts_on,
    )


def vacate(
    dwelling: Dwelling, lease_id: UUID, tenant_id: UUID, ended_on: date, meta: EventMeta
) -> DwellingVacated:
    if dwelling.active_lease_id != lease_id:
        raise IllegalStateChange(
            "lease_id", "dwelling_let_by_lease", "the dwelling is not let under this lease"
        )
    return DwellingVacated(
        originator_id=dwelling.id,
        originator_version=dwelling.version + 1,
        meta=meta,
        lease_id=lease_id,
        tenant_id=tenant_id,
        ended_on=ended_on,
    )
