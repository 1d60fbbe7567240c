"""Alerts (varsler): something has waited too long, and someone is told.

A time rule (``docs/alerts.md``) finds what is due: a visit overdue, a concern nobody
acknowledged, a NAV notice NAV did not acknowledge, and so on. Each finding raises one
alert, a record of its own whose id is derived from the rule, the subject and the
*period* (the due date that was missed, say). The same finding therefore always names the
same alert: a job run twice, a crash and restart, or two servers racing raise it once, and
an acknowledged alert is not raised again for the same cause and period. A new period (the
next missed visit) is a new alert.

An alert is raised to the first tier of recipients. If nobody acknowledges it within the
rule's escalation time it is escalated, tier by tier, to more people. When its cause no
longer holds (the visit was made, the concern acknowledged) it is cleared and escalates no
further. Any recipient may acknowledge it; that ends the escalation too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid5

import msgspec

from domain.errors import IllegalStateChange, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind

# Every alert's id is uuid5(ALERT_NAMESPACE, "<rule>/<subject>/<period>").
ALERT_NAMESPACE = UUID("6d1f4f1e-3c55-4d0e-9b3c-5b1d8f0a7c21")

NOTE_MAX = 2000
AlertNote = Annotated[str, msgspec.Meta(min_length=1, max_length=NOTE_MAX)]


class AlertRule(StrEnum):
    """The time rules; ``docs/alerts.md`` says each one's threshold and recipients."""

    VISIT_OVERDUE = "visit_overdue"
    CONCERN_UNACKNOWLEDGED = "concern_unacknowledged"
    NAV_NOTIFICATION_UNACKNOWLEDGED = "nav_notification_unacknowledged"
    EVICTION_PETITION_ALLOWED = "eviction_petition_allowed"
    HANDOVER_UNACCEPTED = "handover_unaccepted"
    NO_RESPONSIBLE_SERVICE = "no_responsible_service"
    SAFETY_FLAG_REVIEW_DUE = "safety_flag_review_due"
    DEVICE_NOT_SYNCED = "device_not_synced"
    CHECK_OUT_MISSING = "check_out_missing"


def alert_id(rule: AlertRule, subject_id: UUID, period: str) -> UUID:
    """The one alert a rule raises about a subject for a period."""
    return uuid5(ALERT_NAMESPACE, f"{rule.value}/{subject_id}/{period}")


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """What a rule found due: its subject, the period, and who is told at each tier.

    ``tiers[0]`` is told when the alert is raised, ``tiers[1]`` at the first escalation,
    and so on. ``due_since`` is when the thing became late (for display and ordering).
    """

    rule: AlertRule
    subject_id: UUID
    period: str
    due_since: datetime
    tiers: tuple[tuple[UUID, ...], ...]
    tenant_id: UUID | None = None
    dwelling_id: UUID | None = None

    @property
    def alert_id(self) -> UUID:
        return alert_id(self.rule, self.subject_id, self.period)


class AlertEvent(DomainEvent, frozen=True, kw_only=True):
    """Every alert event names the tenant it is about, if any (its timeline shows it)."""

    tenant_id: UUID | None = None


class AlertRaised(AlertEvent, frozen=True, kw_only=True):
    rule: AlertRule
    subject_id: UUID
    period: str
    due_since: datetime
    recipients: tuple[UUID, ...]
    dwelling_id: UUID | None = None


class AlertEscalated(AlertEvent, frozen=True, kw_only=True):
    """Nobody acknowledged in time: the next tier is told (``tier`` counts from 1)."""

    tier: int
    recipients: tuple[UUID, ...]


class AlertAcknowledged(AlertEvent, frozen=True, kw_only=True):
    """A recipient has seen it and taken it on (``meta.actor``); the escalation stops."""

    note: str | None = None


class AlertCleared(AlertEvent, frozen=True, kw_only=True):
    """Its cause no longer holds (the visit was made, the concern acknowledged)."""


AlertEvents = AlertRaised | AlertEscalated | AlertAcknowledged | AlertCleared


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    rule: AlertRule
    subject_id: UUID
    period: str
    tenant_id: UUID | None
    dwelling_id: UUID | None
    due_since: datetime
    raised_at: datetime
    # The tier last told (0: raised only) and when; escalation counts from then.
    tier: int
    tier_since: datetime
    recipients: frozenset[UUID]
    acknowledged_by: UUID | None = None
    acknowledged_at: datetime | None = None
    cleared_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None and self.cleared_at is None


def evolve(state: Alert | None, event: AlertEvents) -> Alert:
    match event:
        case AlertRaised():
            return Alert(
                id=event.originator_id,
                version=event.originator_version,
                rule=event.rule,
                subject_id=event.subject_id,
                period=event.period,
                tenant_id=event.tenant_id,
                dwelling_id=event.dwelling_id,
                due_since=event.due_since,
                raised_at=event.meta.recorded_at,
                tier=0,
                tier_since=event.meta.recorded_at,
                recipients=frozenset(event.recipients),
            )
    assert state is not None, "an alert's history starts with AlertRaised"
    version = event.originator_version
    match event:
        case AlertEscalated():
            return msgspec.structs.replace(
                state,
                version=version,
                tier=event.tier,
                tier_since=event.meta.recorded_at,
                recipients=state.recipients | set(event.recipients),
            )
        case AlertAcknowledged():
            return msgspec.structs.replace(
                state,
                version=version,
                acknowledged_by=event.meta.actor.user_id,
                acknowledged_at=event.meta.recorded_at,
            )
        case AlertCleared():
            return msgspec.structs.replace(
                state, version=version, cleared_at=event.meta.recorded_at
            )
    raise TypeError(f"not an alert event: {type(event).__name__}")


KIND: Kind[Alert] = Kind("alert", AlertRaised, evolve)


def no_such_alert(alert_id: UUID) -> UnknownAggregate:
    """The answer for an id no alert has, and for an alert the caller was not told of."""
    return UnknownAggregate("alert_id", "must_exist", f"no alert with id {alert_id}")


def require(alert: Alert | None, alert_id: UUID) -> Alert:
    if alert is None:
        raise no_such_alert(alert_id)
    return alert


def _unique(ids: Iterable[UUID]) -> tuple[UUID, ...]:
    return tuple(dict.fromkeys(ids))


def raise_alert(finding: Finding, meta: EventMeta) -> AlertRaised:
    return AlertRaised(
        originator_id=finding.alert_id,
        originator_version=1,
        meta=meta,
        tenant_id=finding.tenant_id,
        rule=finding.rule,
        subject_id=finding.subject_id,
        period=finding.period,
        due_since=finding.due_since,
        recipients=_unique(finding.tiers[0]) if finding.tiers else (),
        dwelling_id=finding.dwelling_id,
    )


def escalation_due(alert: Alert, finding: Finding, now: datetime, after_s: float) -> bool:
    """Open, a further tier left, and the last tier has had ``after_s`` seconds."""
    return (
        alert.is_open
        and alert.tier + 1 < len(finding.tiers)
        and (now - alert.tier_since).total_seconds() >= after_s
    )


def escalate(alert: Alert, finding: Finding, meta: EventMeta) -> AlertEscalated:
    if not alert.is_open:
        raise IllegalStateChange("alert_id", "open", "the alert is acknowledged or cleared")
    tier = alert.tier + 1
    if tier >= len(finding.tiers):
        raise IllegalStateChange("alert_id", "tier_left", "the alert has no further tier")
    return AlertEscalated(
        originator_id=alert.id,
        originator_version=alert.version + 1,
        meta=meta,
        tenant_id=alert.tenant_id,
        tier=tier,
        recipients=tuple(r for r in _unique(finding.tiers[tier]) if r not in alert.recipients),
    )


def acknowledge(alert: Alert, note: str | None, meta: EventMeta) -> AlertAcknowledged:
    """A recipient takes it on. Whether the caller is a recipient is need to know: an
    alert that is not theirs is answered as no alert at all (the use case checks)."""
    if alert.acknowledged_at is not None:
        raise IllegalStateChange("alert_id", "not_acknowledged", "the alert is acknowledged")
    if alert.cleared_at is not None:
        raise IllegalStateChange("alert_id", "not_cleared", "the alert's cause no longer holds")
    return AlertAcknowledged(
        originator_id=alert.id,
        originator_version=alert.version + 1,
        meta=meta,
        tenant_id=alert.tenant_id,
        note=note,
    )


def clear(alert: Alert, meta: EventMeta) -> AlertCleared:
    if not alert.is_open:
        raise IllegalStateChange("alert_id", "open", "the alert is acknowledged or cleared")
    return AlertCleared(
        originator_id=alert.id,
        originator_version=alert.version + 1,
        meta=meta,
        tenant_id=alert.tenant_id,
    )
