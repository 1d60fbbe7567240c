"""The time rules: what is late now, and who is told at each tier (docs/alerts.md).

Each rule turns the candidate rows a read model gives (:mod:`projections.alert_sources`)
into :class:`~domain.alerts.Finding`s, with the municipality's thresholds and the time
``now`` passed in. A finding's period is what makes it *this* lateness: the due date
missed, the routing not acknowledged, the review date reached. The same lateness found
again names the same alert; a new one (the next missed visit) names a new alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from uuid import UUID

import msgspec

from domain.alert_thresholds import AlertThresholds
from domain.alerts import AlertRule, Finding
from domain.events import MUNICIPALITY_TZ, local_date
from domain.municipal_services import Service
from domain.working_days import add_working_days

Tier = tuple[UUID, ...]


class Staff(msgspec.Struct, frozen=True, kw_only=True):
    """Who can be told: the active users, by service, by role, by username."""

    leads: Mapping[str, Tier] = {}  # service -> its active team leads
    members: Mapping[str, Tier] = {}  # service -> its active staff (administrators aside)
    property_managers: Tier = ()
    usernames: Mapping[str, UUID] = {}
    active: frozenset[UUID] = frozenset()

    def leads_of(self, service: str | None) -> Tier:
        return () if service is None else tuple(self.leads.get(service, ()))

    def if_active(self, *user_ids: UUID | None) -> Tier:
        return tuple(u for u in user_ids if u is not None and u in self.active)


def _tier(*groups: Iterable[UUID]) -> Tier:
    return tuple(dict.fromkeys(u for group in groups for u in group))


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the municipality."""
    return datetime.combine(day, time(), MUNICIPALITY_TZ)


# --- candidate rows (what the read models give) ----------------------------------------------


class VisitDue(msgspec.Struct, frozen=True, gc=False):
    tenant_id: UUID
    contact_worker_id: UUID | None
    responsible_service: str | None
    visit_due_at: datetime


class ConcernWaiting(msgspec.Struct, frozen=True, gc=False):
    concern_id: UUID
    tenant_id: UUID | None
    dwelling_id: UUID | None
    routed_to_service: str
    routed_at: datetime
    tenant_service: str | None
    raised_by_user: UUID | None


class NavWaiting(msgspec.Struct, frozen=True, gc=False):
    notification_id: UUID
    tenant_id: UUID
    sent_at: datetime


class EvictionNotice(msgspec.Struct, frozen=True, gc=False):
    notification_id: UUID
    tenant_id: UUID
    sent_at: datetime
    contact_worker_id: UUID | None


class HandoverWaiting(msgspec.Struct, frozen=True, gc=False):
    handover_id: UUID
    tenant_id: UUID
    from_service: str
    to_service: str
    effective_on: date


class TenantWithoutService(msgspec.Struct, frozen=True, gc=False):
    tenant_id: UUID
    gap_since: datetime


class FlagReview(msgspec.Struct, frozen=True, gc=False):
    dwelling_id: UUID
    review_on: date
    set_by_user: UUID | None
    set_by_service: str | None


class DeviceSilent(msgspec.Struct, frozen=True, gc=False):
    device_id: UUID
    user_id: UUID
    service: str
    last_synced_at: datetime


class CheckInOverdue(msgspec.Struct, frozen=True, gc=False):
    check_in_id: UUID
    worker_id: UUID
    service: str
    expected_until: datetime
    dwelling_id: UUID | None = None


# --- the rules -------------------------------------------------------------------------------


def visit_overdue(
    rows: Iterable[VisitDue], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    grace = timedelta(days=t.visit_overdue.grace_days)
    return [
        Finding(
            rule=AlertRule.VISIT_OVERDUE,
            subject_id=r.tenant_id,
            period=r.visit_due_at.isoformat(),
            due_since=r.visit_due_at,
            tenant_id=r.tenant_id,
            tiers=(
                staff.if_active(r.contact_worker_id) or staff.leads_of(r.responsible_service),
                staff.leads_of(r.responsible_service),
            ),
        )
        for r in rows
        if r.visit_due_at + grace <= now
    ]


def concern_deadline(routed_at: datetime, t: AlertThresholds) -> date:
    """The last working day on which the routed concern may be acknowledged in time."""
    return add_working_days(local_date(routed_at), t.concern_unacknowledged.working_days)


def concern_unacknowledged(
    rows: Iterable[ConcernWaiting], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    today = local_date(now)
    found = []
    outreach = staff.leads_of(Service.OUTREACH_TEAM.value)
    for r in rows:
        deadline = concern_deadline(r.routed_at, t)
        if today <= deadline:
            continue
        found.append(
            Finding(
                rule=AlertRule.CONCERN_UNACKNOWLEDGED,
                subject_id=r.concern_id,
                period=f"{r.routed_to_service}@{r.routed_at.isoformat()}",
                due_since=start_of(deadline + timedelta(days=1)),
                tenant_id=r.tenant_id,
                dwelling_id=r.dwelling_id,
                tiers=(
                    staff.leads_of(r.routed_to_service),
                    _tier(
                        staff.leads_of(r.tenant_service) or outreach,
                        staff.if_active(r.raised_by_user),
                    ),
                ),
            )
        )
    return found


def nav_notification_unacknowledged(
    rows: Iterable[NavWaiting], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    wait = timedelta(days=t.nav_notification_unacknowledged.days)
    nav_leads = staff.leads_of(Service.NAV.value) or tuple(staff.members.get(Service.NAV.value, ()))
    return [
        Finding(
            rule=AlertRule.NAV_NOTIFICATION_UNACKNOWLEDGED,
            subject_id=r.notification_id,
            period="unacknowledged",
            due_since=r.sent_at + wait,
            tenant_id=r.tenant_id,
            tiers=(nav_leads,),
        )
        for r in rows
        if r.sent_at + wait <= now
    ]


# An eviction notice whose two weeks ended longer ago than this raises nothing: a server
# put into service does not tell of every old notice at once.
PETITION_ALERT_WINDOW = timedelta(days=30)


def eviction_petition_allowed(
    rows: Iterable[EvictionNotice], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    wait = timedelta(days=t.eviction_petition_allowed.days)
    return [
        Finding(
            rule=AlertRule.EVICTION_PETITION_ALLOWED,
            subject_id=r.notification_id,
            period="two_weeks_passed",
            due_since=r.sent_at + wait,
            tenant_id=r.tenant_id,
            tiers=(_tier(staff.if_active(r.contact_worker_id), staff.property_managers),),
        )
        for r in rows
        if r.sent_at + wait <= now < r.sent_at + wait + PETITION_ALERT_WINDOW
    ]


def handover_unaccepted(
    rows: Iterable[HandoverWaiting], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    today = local_date(now)
    ahead = timedelta(days=t.handover_unaccepted.days_before)
    return [
        Finding(
            rule=AlertRule.HANDOVER_UNACCEPTED,
            subject_id=r.handover_id,
            period=r.effective_on.isoformat(),
            due_since=start_of(r.effective_on - ahead),
            tenant_id=r.tenant_id,
            tiers=(_tier(staff.leads_of(r.from_service), staff.leads_of(r.to_service)),),
        )
        for r in rows
        if r.effective_on - ahead <= today <= r.effective_on
    ]


def no_responsible_service(
    rows: Iterable[TenantWithoutService], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    after = timedelta(days=t.no_responsible_service.days)
    told = _tier(
        staff.leads_of(Service.OUTREACH_TEAM.value),
        staff.members.get(Service.COORDINATING_UNIT.value, ()),
    )
    return [
        Finding(
            rule=AlertRule.NO_RESPONSIBLE_SERVICE,
            subject_id=r.tenant_id,
            period=r.gap_since.isoformat(),
            due_since=r.gap_since + after,
            tenant_id=r.tenant_id,
            tiers=(told,),
        )
        for r in rows
        if r.gap_since + after <= now
    ]


def safety_flag_review_due(
    rows: Iterable[FlagReview], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    today = local_date(now)
    ahead = timedelta(days=t.safety_flag_review_due.days_before)
    return [
        Finding(
            rule=AlertRule.SAFETY_FLAG_REVIEW_DUE,
            subject_id=r.dwelling_id,
            period=r.review_on.isoformat(),
            due_since=start_of(r.review_on - ahead),
            dwelling_id=r.dwelling_id,
            # The flag's owner; their service's leads if they have left.
            tiers=(staff.if_active(r.set_by_user) or staff.leads_of(r.set_by_service),),
        )
        for r in rows
        if r.review_on - ahead <= today
    ]


def device_not_synced(
    rows: Iterable[DeviceSilent], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    silent = timedelta(days=t.device_not_synced.days)
    return [
        Finding(
            rule=AlertRule.DEVICE_NOT_SYNCED,
            subject_id=r.device_id,
            period=r.last_synced_at.isoformat(),
            due_since=r.last_synced_at + silent,
            tiers=(_tier(staff.if_active(r.user_id), staff.leads_of(r.service)),),
        )
        for r in rows
        if r.last_synced_at + silent <= now
    ]


def check_out_missing(
    rows: Iterable[CheckInOverdue], staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    rule = t.check_out_missing
    grace = timedelta(minutes=rule.grace_minutes)
    found = []
    for r in rows:
        if now <= r.expected_until + grace:  # at the very minute, not yet overdue
            continue
        # The team leads at once; then each person on the escalation list in turn.
        listed = rule.escalation_lists.get(r.service, ())
        named = [staff.usernames.get(name) for name in listed]
        found.append(
            Finding(
                rule=AlertRule.CHECK_OUT_MISSING,
                subject_id=r.check_in_id,
                period="overdue",
                due_since=r.expected_until + grace,
                tenant_id=None,  # lone work shows in the worker's timeline, not the tenant's
                dwelling_id=r.dwelling_id,
                tiers=(staff.leads_of(r.service), *((u,) for u in staff.if_active(*named))),
            )
        )
    return found


# --- escalation ------------------------------------------------------------------------------


def escalation_due(
    rule: AlertRule, tier_since: datetime, now: datetime, t: AlertThresholds
) -> bool:
    """Whether an open alert told its last tier long enough ago to tell the next."""
    match rule:
        case AlertRule.VISIT_OVERDUE:
            return now - tier_since >= timedelta(days=t.visit_overdue.escalate_after_days)
        case AlertRule.CONCERN_UNACKNOWLEDGED:
            days = t.concern_unacknowledged.escalate_after_working_days
            return local_date(now) > add_working_days(local_date(tier_since), days)
        case AlertRule.CHECK_OUT_MISSING:
            minutes = t.check_out_missing.escalate_after_minutes
            return now - tier_since >= timedelta(minutes=minutes)
    return False  # the other rules tell one tier only
