"""Concern (bekymringsmelding): a worry about a tenant or an address, and where it went.

Today such reports "go nowhere" (NIBR 2013:29, ch. 3.3.1). Here every concern has an
owner and a status the raiser can always read: raised by one service, routed to the
service responsible, acknowledged by that service, resolved with an outcome — or
escalated while it waits.

The description is confidential: it is stored and shown to readers of the concern, but
never summarised, logged or copied into any board.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.tenant import Tenant

MAX_DESCRIPTION_LENGTH = 5_000
MAX_OUTCOME_LENGTH = 2_000


class ConcernCategory(StrEnum):
    RENT_ARREARS = "rent_arrears"
    DAMAGE = "damage"
    HOARDING = "hoarding"
    NEIGHBOUR_CONFLICT = "neighbour_conflict"
    FIRE_SAFETY = "fire_safety"
    WELLBEING = "wellbeing"
    OTHER = "other"


class ConcernOutcome(StrEnum):
    ACTION_TAKEN = "action_taken"
    NO_ACTION_NEEDED = "no_action_needed"
    REFERRED_ELSEWHERE = "referred_elsewhere"
    TENANT_MOVED_OUT = "tenant_moved_out"
    WITHDRAWN = "withdrawn"


class EscalationReason(StrEnum):
    NOT_ACKNOWLEDGED = "not_acknowledged"
    NOT_ACTED_ON = "not_acted_on"
    SITUATION_WORSENED = "situation_worsened"
    OTHER = "other"


class ConcernStatus(StrEnum):
    RAISED = "raised"
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# --- events -------------------------------------------------------------------------------


class ConcernEvent(DomainEvent, frozen=True, kw_only=True):
    """Every concern event carries what a board may show: whom it is about, and its category."""

    tenant_id: UUID | None
    category: ConcernCategory


class ConcernRaised(ConcernEvent, frozen=True, kw_only=True):
    dwelling_id: UUID | None
    description: str  # confidential: never summarised
    raised_by: Service


class ConcernRouted(ConcernEvent, frozen=True, kw_only=True):
    to_service: Service


class ConcernAcknowledged(ConcernEvent, frozen=True, kw_only=True):
    by_service: Service


class ConcernResolved(ConcernEvent, frozen=True, kw_only=True):
    outcome: ConcernOutcome
    outcome_text: str  # confidential: never summarised


class ConcernEscalated(ConcernEvent, frozen=True, kw_only=True):
    reason: EscalationReason
    to_service: Service | None = None


ConcernEvents = (
    ConcernRaised | ConcernRouted | ConcernAcknowledged | ConcernResolved | ConcernEscalated
)


# --- state --------------------------------------------------------------------------------


class Concern(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    tenant_id: UUID | None
    dwelling_id: UUID | None
    category: ConcernCategory
    description: str
    raised_by: Service
    raised_at: datetime
    status: ConcernStatus = ConcernStatus.RAISED
    routed_to: Service | None = None
    routed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    escalations: int = 0
    last_escalated_at: datetime | None = None
    outcome: ConcernOutcome | None = None
    outcome_text: str | None = None
    resolved_at: datetime | None = None

    @property
    def is_resolved(self) -> bool:
        return self.status is ConcernStatus.RESOLVED


def _routed(s: Concern, to_service: Service, at: datetime) -> Concern:
    return msgspec.structs.replace(
        s, status=ConcernStatus.ROUTED, routed_to=to_service, routed_at=at, acknowledged_at=None
    )


def evolve(state: Concern | None, event: ConcernEvents) -> Concern:
    if isinstance(event, ConcernRaised):
        return Concern(
            id=event.originator_id,
            version=event.originator_version,
            tenant_id=event.tenant_id,
            dwelling_id=event.dwelling_id,
            category=event.category,
            description=event.description,
            raised_by=event.raised_by,
            raised_at=event.meta.occurred_at,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before ConcernRaised")
    change = msgspec.structs.replace
    s = change(state, version=event.originator_version)
    at = event.meta.occurred_at
    match event:
        case ConcernRouted():
            return _routed(s, event.to_service, at)
        case ConcernAcknowledged():
            return change(s, status=ConcernStatus.ACKNOWLEDGED, acknowledged_at=at)
        case ConcernResolved():
            return change(
                s,
                status=ConcernStatus.RESOLVED,
                outcome=event.outcome,
                outcome_text=event.outcome_text,
                resolved_at=at,
            )
        case ConcernEscalated():
            s = change(s, escalations=s.escalations + 1, last_escalated_at=at)
            return s if event.to_service is None else _routed(s, event.to_service, at)
    raise TypeError(f"not a concern event: {type(event).__name__}")


def replay(events: Iterable[ConcernEvents]) -> Concern | None:
    state: Concern | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Concern] = Kind("concern", ConcernRaised, evolve)


def require(concern: Concern | None, concern_id: UUID) -> Concern:
    if concern is None:
        raise UnknownAggregate("concern_id", "must_exist", f"no concern with id {concern_id}")
    return concern


# --- rules -------------------------------------------------------------------------------


def _require_unresolved(concern: Concern) -> None:
    if concern.is_resolved:
        raise IllegalStateChange("concern_id", "unresolved", "the concern is already resolved")


def _text(field: str, value: str, max_length: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidValue(field, "not_blank", f"{field} must not be blank")
    if len(text) > max_length:
        raise InvalidValue(field, f"max_length_{max_length}", f"{field} is too long")
    return text


# --- commands ---------------------------------------------------------------------------


def raise_concern(
    concern_id: UUID,
    tenant_id: UUID | None,
    dwelling_id: UUID | None,
    category: ConcernCategory,
    description: str,
    meta: EventMeta,
) -> ConcernRaised:
    """Raise a concern about a tenant, an address, or both; the raiser is the actor's service."""
    if tenant_id is None and dwelling_id is None:
        raise InvalidValue(
            "tenant_id", "tenant_or_dwelling", "a concern is about a tenant, a dwelling or both"
        )
    return ConcernRaised(
        originator_id=concern_id,
        originator_version=1,
        meta=meta,
        tenant_id=tenant_id,
        category=category,
        dwelling_id=dwelling_id,
        description=_text("description", description, MAX_DESCRIPTION_LENGTH),
        raised_by=meta.actor.service,
    )


def require_tenant_lives_at(tenant: Tenant | None, dwelling_id: UUID | None) -> None:
    """A concern naming both a tenant and a dwelling must name the tenant's own home."""
    if tenant is None or dwelling_id is None:
        return
    if tenant.dwelling_id != dwelling_id:
        raise InvalidValue(
            "dwelling_id",
            "dwelling_of_tenant",
            "the dwelling is not the tenant's home: name the tenant alone, or their home",
        )


def route_on_raising(
    concern: Concern, tenant: Tenant | None, meta: EventMeta
) -> ConcernRouted | None:
    """A new concern about a tenant goes to the tenant's responsible service, if there is one.

    Without one (a concern about an address alone, or a tenant nobody is responsible for)
    it stays raised for a lead to route, and the concern tracker shows it waiting.
    """
    if tenant is None or tenant.responsible_service is None:
        return None
    return route(concern, tenant.responsible_service, meta)


def route(concern: Concern, to_service: Service, meta: EventMeta) -> ConcernRouted:
    """Send the concern to the service that should act on it (again, if it goes elsewhere)."""
    _require_unresolved(concern)
    if concern.routed_to is to_service:
        raise IllegalStateChange(
            "to_service", "different_service", f"the concern is already routed to {to_service}"
        )
    return ConcernRouted(
        originator_id=concern.id,
        originator_version=concern.version + 1,
        meta=meta,
        tenant_id=concern.tenant_id,
        category=concern.category,
        to_service=to_service,
    )


def acknowledge(concern: Concern, meta: EventMeta) -> ConcernAcknowledged:
    """The service the concern was routed to says it has it."""
    _require_unresolved(concern)
    if concern.routed_to is None:
        raise IllegalStateChange(
            "concern_id", "route_before_acknowledge", "the concern has not been routed yet"
        )
    if meta.actor.service is not concern.routed_to:
        raise IllegalStateChange(
            "service",
            "routed_service_only",
            f"only {concern.routed_to} can acknowledge this concern",
        )
    if concern.acknowledged_at is not None:
        raise IllegalStateChange(
            "concern_id", "not_acknowledged", "the concern is already acknowledged"
        )
    return ConcernAcknowledged(
        originator_id=concern.id,
        originator_version=concern.version + 1,
        meta=meta,
        tenant_id=concern.tenant_id,
        category=concern.category,
        by_service=meta.actor.service,
    )


def resolve(
    concern: Concern, outcome: ConcernOutcome, outcome_text: str, meta: EventMeta
) -> ConcernResolved:
    _require_unresolved(concern)
    return ConcernResolved(
        originator_id=concern.id,
        originator_version=concern.version + 1,
        meta=meta,
        tenant_id=concern.tenant_id,
        category=concern.category,
        outcome=outcome,
        outcome_text=_text("outcome_text", outcome_text, MAX_OUTCOME_LENGTH),
    )


def escalate(
    concern: Concern, reason: EscalationReason, to_service: Service | None, meta: EventMeta
) -> ConcernEscalated:
    """Raise the alarm while the concern waits; optionally send it to another service."""
    _require_unresolved(concern)
    if to_service is not None and to_service is concern.routed_to:
        raise IllegalStateChange(
            "to_service", "different_service", f"the concern is already routed to {to_service}"
        )
    return ConcernEscalated(
        originator_id=concern.id,
        originator_version=concern.version + 1,
        meta=meta,
        tenant_id=concern.tenant_id,
        category=concern.category,
        reason=reason,
        to_service=to_service,
    )
