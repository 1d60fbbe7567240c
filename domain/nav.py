"""NAV notification (varsel til NAV): rent arrears or an eviction step, told to the welfare office.

A notification is sent only on a basis the tenant or the law gives:

* the tenant's consent (samtykke) lets NAV receive rent and eviction information; or
* for the eviction steps, husleieloven § 9-11: the landlord may notify NAV in writing,
  unless the tenant has objected in writing (``Tenant.nav_notice_opted_out_on``).

Plain arrears without consent have no basis. When nothing may be sent, the rent case
records ``NavNotificationWithheld`` with the reason (see :mod:`domain.rent`), so the log
always shows why NAV was not told. NAV acknowledges a notification, then may answer it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID, uuid5

import msgspec

from domain.consent import consent_covering
from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_events import InfoCategory

MAX_ANSWER_TEXT = 2_000


class NavTrigger(StrEnum):
    """The rent-case fact a notification is about."""

    ARREARS_REPORTED = "arrears_reported"
    EVICTION_WARNING = "eviction_warning"
    EVICTION_PETITION = "eviction_petition"
    EVICTION_DATE_SET = "eviction_date_set"


EVICTION_STEPS = frozenset(
    {NavTrigger.EVICTION_WARNING, NavTrigger.EVICTION_PETITION, NavTrigger.EVICTION_DATE_SET}
)


class NoticeBasis(StrEnum):
    """Why NAV may be told."""

    CONSENT = "consent"
    HUSLEIELOVEN_9_11 = "husleieloven_9_11"


class WithheldReason(StrEnum):
    """Why NAV was not told."""

    TENANT_OPTED_OUT_NO_CONSENT = "tenant_opted_out_no_consent"
    NO_CONSENT_NO_LEGAL_BASIS = "no_consent_no_legal_basis"


class NavAnswer(StrEnum):
    ECONOMIC_ASSISTANCE_GRANTED = "economic_assistance_granted"
    REPAYMENT_AGREEMENT_SET_UP = "repayment_agreement_set_up"
    NO_ACTION = "no_action"
    OTHER = "other"


# --- the decision ------------------------------------------------------------------------


def notification_basis(
    tenant: Tenant, trigger: NavTrigger, on: date
) -> NoticeBasis | WithheldReason:
    """May NAV be told about ``trigger`` on ``on``? The basis, or why not.

    Consent comes first: it is the tenant's own choice and covers plain arrears too.
    Without it, only the eviction steps have a legal basis (husleieloven § 9-11), and only
    while the tenant has not objected in writing.
    """
    if consent_covering(tenant, Service.NAV, InfoCategory.RENT_AND_EVICTION, on) is not None:
        return NoticeBasis.CONSENT
    if trigger not in EVICTION_STEPS:
        return WithheldReason.NO_CONSENT_NO_LEGAL_BASIS
    opted_out = tenant.nav_notice_opted_out_on
    if opted_out is not None and opted_out <= on:
        return WithheldReason.TENANT_OPTED_OUT_NO_CONSENT
    return NoticeBasis.HUSLEIELOVEN_9_11


def notification_id(rent_case_id: UUID, trigger: NavTrigger, step_version: int) -> UUID:
    """The notification's id, derived from the rent-case event that triggered it.

    ``step_version`` is that event's version in the rent case, so the same step always
    names the same notification: a retry or a racing second writer cannot send twice.
    """
    return uuid5(rent_case_id, f"{trigger.value}:{step_version}")


# --- events ----------------------------------------------------------------------------


class NavNotificationEvent(DomainEvent, frozen=True, kw_only=True):
    """Every NAV-notification event names the tenant it is about."""

    tenant_id: UUID


class NavNotificationSent(NavNotificationEvent, frozen=True, kw_only=True):
    rent_case_id: UUID
    trigger: NavTrigger
    basis: NoticeBasis
    consent_id: UUID | None = None
    # What the tenant owed when the notification was sent.
    total_owed_nok: int = 0


class NavNotificationAcknowledged(NavNotificationEvent, frozen=True, kw_only=True):
    pass


class NavNotificationAnswered(NavNotificationEvent, frozen=True, kw_only=True):
    """NAV's answer. ``text`` is confidential: never summarised."""

    answer: NavAnswer
    text: str = ""


NavNotificationEvents = NavNotificationSent | NavNotificationAcknowledged | NavNotificationAnswered


# --- state --------------------------------------------------------------------------------


class NavNotification(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    tenant_id: UUID
    rent_case_id: UUID
    trigger: NavTrigger
    basis: NoticeBasis
    consent_id: UUID | None
    total_owed_nok: int
    sent_at: datetime
    acknowledged_at: datetime | None = None
    answer: NavAnswer | None = None
    answer_text: str | None = None
    answered_at: datetime | None = None


def evolve(state: NavNotification | None, event: NavNotificationEvents) -> NavNotification:
    if isinstance(event, NavNotificationSent):
        return NavNotification(
            id=event.originator_id,
            version=event.originator_version,
            tenant_id=event.tenant_id,
            rent_case_id=event.rent_case_id,
            trigger=event.trigger,
            basis=event.basis,
            consent_id=event.consent_id,
            total_owed_nok=event.total_owed_nok,
            sent_at=event.meta.occurred_at,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before NavNotificationSent")
    change = msgspec.structs.replace
    if isinstance(event, NavNotificationAcknowledged):
        return change(
            state, version=event.originator_version, acknowledged_at=event.meta.occurred_at
        )
    return change(
        state,
        version=event.originator_version,
        answer=event.answer,
        answer_text=event.text,
        answered_at=event.meta.occurred_at,
    )


def replay(events: Iterable[NavNotificationEvents]) -> NavNotification | None:
    state: NavNotification | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[NavNotification] = Kind("NAV notification", NavNotificationSent, evolve)


def require(notification: NavNotification | None, notification_id: UUID) -> NavNotification:
    if notification is None:
        raise UnknownAggregate(
            "notification_id", "must_exist", f"no NAV notification with id {notification_id}"
        )
    return notification


# --- commands ------------------------------------------------------------------------------


def send_or_withhold(
    rent_case_id: UUID,
    tenant: Tenant,
    trigger: NavTrigger,
    step_version: int,
    total_owed_nok: int,
    meta: EventMeta,
) -> NavNotificationSent | WithheldReason:
    """Notify NAV of one rent-case step if a basis allows it today; otherwise say why not.

    "Today" is the server's day of recording: a consent or an objection counts from the
    day it was given, whenever the step happened. The notification's id is derived from
    the step, so it is opened at most once.
    """
    on = meta.recorded_on
    basis = notification_basis(tenant, trigger, on)
    if isinstance(basis, WithheldReason):
        return basis
    consent = consent_covering(tenant, Service.NAV, InfoCategory.RENT_AND_EVICTION, on)
    return NavNotificationSent(
        originator_id=notification_id(rent_case_id, trigger, step_version),
        originator_version=1,
        meta=meta,
        tenant_id=tenant.id,
        rent_case_id=rent_case_id,
        trigger=trigger,
        basis=basis,
        consent_id=consent.consent_id if basis is NoticeBasis.CONSENT and consent else None,
        total_owed_nok=total_owed_nok,
    )


def _require_nav(meta: EventMeta) -> None:
    if meta.actor.service is not Service.NAV:
        raise IllegalStateChange(
            "service", "nav_only", "only NAV acknowledges or answers a NAV notification"
        )


def acknowledge(notification: NavNotification, meta: EventMeta) -> NavNotificationAcknowledged:
    _require_nav(meta)
    if notification.acknowledged_at is not None:
        raise IllegalStateChange(
            "notification_id", "not_acknowledged", "the notification is already acknowledged"
        )
    return NavNotificationAcknowledged(
        originator_id=notification.id,
        originator_version=notification.version + 1,
        meta=meta,
        tenant_id=notification.tenant_id,
    )


def answer(
    notification: NavNotification, answer: NavAnswer, text: str, meta: EventMeta
) -> NavNotificationAnswered:
    _require_nav(meta)
    if notification.acknowledged_at is None:
        raise IllegalStateChange(
            "notification_id",
            "acknowledge_before_answer",
            "acknowledge the notification before answering it",
        )
    if notification.answer is not None:
        raise IllegalStateChange(
            "notification_id", "not_answered", "the notification is already answered"
        )
    text = text.strip()
    if len(text) > MAX_ANSWER_TEXT:
        raise InvalidValue("text", "max_length_2000", "the answer text is too long")
    if answer is NavAnswer.OTHER and not text:
        raise InvalidValue("text", "required_for_other", "an answer of 'other' needs a text")
    return NavNotificationAnswered(
        originator_id=notification.id,
        originator_version=notification.version + 1,
        meta=meta,
        tenant_id=notification.tenant_id,
        answer=answer,
        text=text,
    )
