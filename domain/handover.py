"""Handover (overgang): responsibility for a tenant moves from one service to another.

A service announces that the tenant moves to another service from a date (release from
prison, discharge from an institution, turning 18, the end of the introduction programme,
an internal transfer). Only the receiving service may accept (naming a contact worker) or
decline (with a reason). On the effective date the handover settles: an accepted handover
completes and the receiving service becomes responsible; a declined or unanswered one
lapses and the tenant falls into an explicit "no responsible service" gap (the gap is an
alarm, never a silent state).

Dates are the municipality's local dates (Europe/Oslo): a handover effective on Friday is
due from Friday 00:00 in Norway, whatever the server's clock zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.tenant import Tenant, assign_responsibility, lapse_responsibility
from domain.tenant_events import ResponsibilityAssigned, ResponsibilityLapsed


class HandoverKind(StrEnum):
    RELEASE_FROM_PRISON = "release_from_prison"
    DISCHARGE_FROM_INSTITUTION = "discharge_from_institution"
    TURNING_18 = "turning_18"
    END_OF_INTRODUCTION_PROGRAMME = "end_of_introduction_programme"
    INTERNAL_TRANSFER = "internal_transfer"


class HandoverStatus(StrEnum):
    ANNOUNCED = "announced"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"
    LAPSED = "lapsed"


class LapseReason(StrEnum):
    DECLINED = "declined"
    NOT_ACCEPTED = "not_accepted"


# --- events -------------------------------------------------------------------------


class HandoverAnnounced(DomainEvent, frozen=True, kw_only=True):
    """A service announced that responsibility for the tenant moves on ``effective_on``."""

    tenant_id: UUID
    from_service: Service
    to_service: Service
    kind: HandoverKind
    effective_on: date


class HandoverAccepted(DomainEvent, frozen=True, kw_only=True):
    """The receiving service accepted, naming the worker who will be the tenant's contact."""

    tenant_id: UUID
    contact_worker_id: UUID


class HandoverDeclined(DomainEvent, frozen=True, kw_only=True):
    """The receiving service declined. The reason is free text: never summarised."""

    tenant_id: UUID
    reason: str


class HandoverCompleted(DomainEvent, frozen=True, kw_only=True):
    """The effective date came for an accepted handover: the receiving service is responsible."""

    tenant_id: UUID
    to_service: Service
    contact_worker_id: UUID


class HandoverLapsed(DomainEvent, frozen=True, kw_only=True):
    """The effective date came and nobody had accepted: nobody receives the tenant."""

    tenant_id: UUID
    reason: LapseReason


HandoverEvent = (
    HandoverAnnounced | HandoverAccepted | HandoverDeclined | HandoverCompleted | HandoverLapsed
)

Settlement = HandoverCompleted | HandoverLapsed


# --- state --------------------------------------------------------------------------


class Handover(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    tenant_id: UUID
    from_service: Service
    to_service: Service
    kind: HandoverKind
    effective_on: date
    announced_at: datetime
    status: HandoverStatus = HandoverStatus.ANNOUNCED
    contact_worker_id: UUID | None = None
    decline_reason: str | None = None
    lapse_reason: LapseReason | None = None
    settled_at: datetime | None = None

    def is_due(self, today: date) -> bool:
        return today >= self.effective_on

    @property
    def is_settled(self) -> bool:
        return self.status in (HandoverStatus.COMPLETED, HandoverStatus.LAPSED)

    @property
    def awaits_answer(self) -> bool:
        return self.status is HandoverStatus.ANNOUNCED

    @property
    def lapsed_unanswered(self) -> bool:
        return (
            self.status is HandoverStatus.LAPSED and self.lapse_reason is LapseReason.NOT_ACCEPTED
        )


def evolve(state: Handover | None, event: HandoverEvent) -> Handover:
    if isinstance(event, HandoverAnnounced):
        return Handover(
            id=event.originator_id,
            version=event.originator_version,
            tenant_id=event.tenant_id,
            from_service=event.from_service,
            to_service=event.to_service,
            kind=event.kind,
            effective_on=event.effective_on,
            announced_at=event.meta.occurred_at,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before HandoverAnnounced")
    change = msgspec.structs.replace
    s = change(state, version=event.originator_version)
    match event:
        case HandoverAccepted():
            return change(
                s, status=HandoverStatus.ACCEPTED, contact_worker_id=event.contact_worker_id
            )
        case HandoverDeclined():
            return change(s, status=HandoverStatus.DECLINED, decline_reason=event.reason)
        case HandoverCompleted():
            return change(s, status=HandoverStatus.COMPLETED, settled_at=event.meta.occurred_at)
        case HandoverLapsed():
            return change(
                s,
                status=HandoverStatus.LAPSED,
                lapse_reason=event.reason,
                settled_at=event.meta.occurred_at,
            )
    raise TypeError(f"not a handover event: {type(event).__name__}")


def replay(events: Iterable[HandoverEvent]) -> Handover | None:
    state: Handover | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[Handover] = Kind("handover", HandoverAnnounced, evolve)


def require(handover: Handover | None, handover_id: UUID) -> Handover:
    if handover is None:
        raise UnknownAggregate("handover_id", "must_exist", f"no handover with id {handover_id}")
    return handover


# --- rules ----------------------------------------------------------------------------


def _require_receiving_service(handover: Handover, meta: EventMeta) -> None:
    if meta.actor.service is not handover.to_service:
        raise IllegalStateChange(
            "service",
            "receiving_service_only",
            f"only the receiving service ({handover.to_service.value}) may answer this handover",
        )


def _require_awaiting_answer(handover: Handover) -> None:
    if not handover.awaits_answer:
        raise IllegalStateChange(
            "handover_id",
            "awaiting_answer",
            f"the handover is already {handover.status.value}",
        )


def _require_tenant_active(tenant: Tenant) -> None:
    if tenant.follow_up is not None and not tenant.follow_up.is_active:
        raise IllegalStateChange(
            "tenant_id", "follow_up_active", "the tenant's follow-up has ended"
        )


# --- commands -------------------------------------------------------------------------


def announce(
    handover_id: UUID,
    tenant: Tenant,
    from_service: Service,
    to_service: Service,
    kind: HandoverKind,
    effective_on: date,
    meta: EventMeta,
) -> HandoverAnnounced:
    """Announce a handover. The date may be today or past: a prisoner released on a Friday
    afternoon without notice is announced the day he walks out."""
    if from_service is to_service:
        raise InvalidValue(
            "to_service", "differs_from_from_service", "a service cannot hand a tenant to itself"
        )
    _require_tenant_active(tenant)
    return HandoverAnnounced(
        originator_id=handover_id,
        originator_version=1,
        meta=meta,
        tenant_id=tenant.id,
        from_service=from_service,
        to_service=to_service,
        kind=kind,
        effective_on=effective_on,
    )


def accept(handover: Handover, contact_worker_id: UUID, meta: EventMeta) -> HandoverAccepted:
    """The receiving service takes the tenant from the effective date, with a named contact.

    A handover that lapsed because nobody answered may still be accepted late: that is the
    receiving service taking the tenant, and it ends the gap. A declined one may not.
    """
    _require_receiving_service(handover, meta)
    if not (handover.awaits_answer or handover.lapsed_unanswered):
        _require_awaiting_answer(handover)
    return HandoverAccepted(
        originator_id=handover.id,
        originator_version=handover.version + 1,
        meta=meta,
        tenant_id=handover.tenant_id,
        contact_worker_id=contact_worker_id,
    )


def decline(handover: Handover, reason: str, meta: EventMeta) -> HandoverDeclined:
    _require_receiving_service(handover, meta)
    _require_awaiting_answer(handover)
    text = reason.strip()
    if not text:
        raise InvalidValue("reason", "not_blank", "reason must not be blank")
    return HandoverDeclined(
        originator_id=handover.id,
        originator_version=handover.version + 1,
        meta=meta,
        tenant_id=handover.tenant_id,
        reason=text,
    )


def complete(handover: Handover, today: date, meta: EventMeta) -> HandoverCompleted:
    if handover.status is not HandoverStatus.ACCEPTED:
        raise IllegalStateChange(
            "handover_id", "accepted", f"only an accepted handover completes ({handover.status})"
        )
    if not handover.is_due(today):
        raise IllegalStateChange(
            "handover_id", "effective_date_reached", "the handover's effective date has not come"
        )
    assert handover.contact_worker_id is not None
    return HandoverCompleted(
        originator_id=handover.id,
        originator_version=handover.version + 1,
        meta=meta,
        tenant_id=handover.tenant_id,
        to_service=handover.to_service,
        contact_worker_id=handover.contact_worker_id,
    )


def lapse(handover: Handover, today: date, meta: EventMeta) -> HandoverLapsed:
    if handover.status not in (HandoverStatus.ANNOUNCED, HandoverStatus.DECLINED):
        raise IllegalStateChange(
            "handover_id",
            "not_accepted",
            f"only a declined or unanswered handover lapses ({handover.status})",
        )
    if not handover.is_due(today):
        raise IllegalStateChange(
            "handover_id", "effective_date_reached", "the handover's effective date has not come"
        )
    reason = (
        LapseReason.DECLINED
        if handover.status is HandoverStatus.DECLINED
        else LapseReason.NOT_ACCEPTED
    )
    return HandoverLapsed(
        originator_id=handover.id,
        originator_version=handover.version + 1,
        meta=meta,
        tenant_id=handover.tenant_id,
        reason=reason,
    )


def settle(handover: Handover, today: date, meta: EventMeta) -> Settlement | None:
    """What the effective date does to a handover: complete it, lapse it, or nothing yet."""
    if handover.is_settled or not handover.is_due(today):
        return None
    if handover.status is HandoverStatus.ACCEPTED:
        return complete(handover, today, meta)
    return lapse(handover, today, meta)


def responsibility_after(
    handover: Handover, settlement: Settlement, tenant: Tenant, meta: EventMeta
) -> ResponsibilityAssigned | ResponsibilityLapsed | None:
    """What a settled handover does to the tenant's responsibility, if anything.

    * completed: the receiving service becomes responsible with the named contact (this
      also ends a gap);
    * lapsed: the tenant falls into the gap — unless already in one, or unless a service
      other than the handing-over one has taken the tenant meanwhile (the tenant is not
      left without anyone then);
    * a tenant whose follow-up has ended is no longer owed a responsible service: nothing.
    """
    if tenant.follow_up is not None and not tenant.follow_up.is_active:
        return None
    if isinstance(settlement, HandoverCompleted):
        return assign_responsibility(
            tenant, settlement.to_service, settlement.contact_worker_id, meta, handover.id
        )
    if tenant.has_responsibility_gap:
        return None
    if tenant.responsible_service not in (None, handover.from_service):
        return None
    reason = (
        "handover declined by the receiving service"
        if settlement.reason is LapseReason.DECLINED
        else "handover not accepted by its effective date"
    )
    return lapse_responsibility(tenant, reason, meta, handover.id)
