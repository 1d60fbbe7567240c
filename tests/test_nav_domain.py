"""NAV notification rules: when NAV may be told (consent, husleieloven § 9-11), and NAV's reply.

Pure domain code: no database, no clock. Today is 2026-03-06.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import consent as consents
from domain import nav
from domain import tenant as tenants
from domain.errors import DomainError, IllegalStateChange, InvalidValue
from domain.events import Actor, EventMeta, event_meta
from domain.municipal_services import Service
from domain.nav import NavAnswer, NavNotification, NavTrigger, NoticeBasis, WithheldReason
from domain.tenant import Tenant
from domain.tenant_events import InfoCategory

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
GIVEN = date(2026, 1, 5)
FBE = Actor(user_id=uuid.uuid4(), service=Service.PROPERTY_MANAGER)
NAV = Actor(user_id=uuid.uuid4(), service=Service.NAV)
RENT_CASE = uuid.uuid4()

ARREARS = NavTrigger.ARREARS_REPORTED
EVICTION_STEPS = [
    NavTrigger.EVICTION_WARNING,
    NavTrigger.EVICTION_PETITION,
    NavTrigger.EVICTION_DATE_SET,
]


def meta(actor: Actor = FBE) -> EventMeta:
    return event_meta(actor, None, NOW)


def tenant() -> Tenant:
    state = tenants.replay([tenants.register(uuid.uuid4(), "Ola", None, meta())])
    assert state is not None
    return state


def with_consent(
    t: Tenant,
    recipients: tuple[Service, ...] = (Service.NAV,),
    categories: tuple[InfoCategory, ...] = (InfoCategory.RENT_AND_EVICTION,),
    expires_on: date | None = None,
    consent_id: uuid.UUID | None = None,
) -> Tenant:
    event = consents.give_consent(
        t, consent_id or uuid.uuid4(), recipients, categories, GIVEN, expires_on, meta()
    )
    return tenants.evolve(t, event)


def withdrawn(t: Tenant, on: date) -> Tenant:
    return tenants.evolve(t, consents.withdraw_consent(t, t.consents[-1].consent_id, on, meta()))


def opted_out(t: Tenant, on: date = date(2026, 2, 1)) -> Tenant:
    return tenants.evolve(t, consents.opt_out_of_nav_notice(t, on, meta()))


def sent(t: Tenant | None = None, trigger: NavTrigger = ARREARS) -> NavNotification:
    event = nav.send_or_withhold(RENT_CASE, t or with_consent(tenant()), trigger, 2, 8_500, meta())
    assert isinstance(event, nav.NavNotificationSent)
    state = nav.replay([event])
    assert state is not None
    return state


def acknowledged() -> NavNotification:
    n = sent()
    return nav.evolve(n, nav.acknowledge(n, meta(NAV)))


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


# --- notification_basis: each combination -------------------------------------------------


@pytest.mark.parametrize("trigger", [ARREARS, *EVICTION_STEPS])
def test_with_consent_nav_is_told_of_every_step_on_the_consent(trigger: NavTrigger) -> None:
    assert nav.notification_basis(with_consent(tenant()), trigger, TODAY) is NoticeBasis.CONSENT


@pytest.mark.parametrize("trigger", EVICTION_STEPS)
def test_without_consent_an_eviction_step_is_told_under_9_11(trigger: NavTrigger) -> None:
    basis = nav.notification_basis(tenant(), trigger, TODAY)
    assert basis is NoticeBasis.HUSLEIELOVEN_9_11


@pytest.mark.parametrize("trigger", EVICTION_STEPS)
def test_an_objection_without_consent_withholds_eviction_steps(trigger: NavTrigger) -> None:
    basis = nav.notification_basis(opted_out(tenant()), trigger, TODAY)
    assert basis is WithheldReason.TENANT_OPTED_OUT_NO_CONSENT


def test_an_objection_counts_from_the_day_it_was_made() -> None:
    t = opted_out(tenant(), on=TODAY + timedelta(days=1))
    basis = nav.notification_basis(t, NavTrigger.EVICTION_WARNING, TODAY)
    assert basis is NoticeBasis.HUSLEIELOVEN_9_11


@pytest.mark.parametrize("trigger", [ARREARS, *EVICTION_STEPS])
def test_consent_is_a_basis_even_after_an_objection_to_9_11(trigger: NavTrigger) -> None:
    t = opted_out(with_consent(tenant()))
    assert nav.notification_basis(t, trigger, TODAY) is NoticeBasis.CONSENT


def test_plain_arrears_without_consent_have_no_basis() -> None:
    assert nav.notification_basis(tenant(), ARREARS, TODAY) is (
        WithheldReason.NO_CONSENT_NO_LEGAL_BASIS
    )


def test_plain_arrears_with_an_objection_and_no_consent_have_no_basis() -> None:
    assert nav.notification_basis(opted_out(tenant()), ARREARS, TODAY) is (
        WithheldReason.NO_CONSENT_NO_LEGAL_BASIS
    )


def test_a_withdrawn_consent_no_longer_tells_nav_of_arrears() -> None:
    t = withdrawn(with_consent(tenant()), date(2026, 3, 1))
    assert nav.notification_basis(t, ARREARS, TODAY) is WithheldReason.NO_CONSENT_NO_LEGAL_BASIS


def test_a_withdrawn_consent_leaves_9_11_for_eviction_steps() -> None:
    t = withdrawn(with_consent(tenant()), date(2026, 3, 1))
    basis = nav.notification_basis(t, NavTrigger.EVICTION_WARNING, TODAY)
    assert basis is NoticeBasis.HUSLEIELOVEN_9_11


def test_a_withdrawn_consent_and_an_objection_withhold_eviction_steps() -> None:
    t = opted_out(withdrawn(with_consent(tenant()), date(2026, 3, 1)))
    basis = nav.notification_basis(t, NavTrigger.EVICTION_PETITION, TODAY)
    assert basis is WithheldReason.TENANT_OPTED_OUT_NO_CONSENT


def test_a_consent_still_covers_the_day_before_its_withdrawal() -> None:
    t = withdrawn(with_consent(tenant()), TODAY + timedelta(days=1))
    assert nav.notification_basis(t, ARREARS, TODAY) is NoticeBasis.CONSENT


def test_an_expired_consent_is_no_basis() -> None:
    t = with_consent(tenant(), expires_on=TODAY - timedelta(days=1))
    assert nav.notification_basis(t, ARREARS, TODAY) is WithheldReason.NO_CONSENT_NO_LEGAL_BASIS


@pytest.mark.parametrize(
    ("recipients", "categories"),
    [
        ((Service.PROPERTY_MANAGER,), (InfoCategory.RENT_AND_EVICTION,)),
        ((Service.NAV,), (InfoCategory.FOLLOW_UP, InfoCategory.HEALTH)),
    ],
)
def test_a_consent_for_another_service_or_category_is_no_basis(
    recipients: tuple[Service, ...], categories: tuple[InfoCategory, ...]
) -> None:
    t = with_consent(tenant(), recipients, categories)
    assert nav.notification_basis(t, ARREARS, TODAY) is WithheldReason.NO_CONSENT_NO_LEGAL_BASIS


# --- sending or withholding -------------------------------------------------------------------


def test_a_sent_notification_names_the_consent_it_relies_on() -> None:
    consent_id = uuid.uuid4()
    n = sent(with_consent(tenant(), consent_id=consent_id))
    assert (n.basis, n.consent_id, n.trigger, n.total_owed_nok) == (
        NoticeBasis.CONSENT,
        consent_id,
        ARREARS,
        8_500,
    )
    assert n.rent_case_id == RENT_CASE
    assert n.acknowledged_at is None


def test_a_9_11_notification_names_no_consent() -> None:
    n = sent(tenant(), NavTrigger.EVICTION_WARNING)
    assert (n.basis, n.consent_id) == (NoticeBasis.HUSLEIELOVEN_9_11, None)


def test_the_notification_id_is_derived_from_the_step() -> None:
    first = nav.send_or_withhold(RENT_CASE, tenant(), NavTrigger.EVICTION_WARNING, 3, 1, meta())
    again = nav.send_or_withhold(RENT_CASE, tenant(), NavTrigger.EVICTION_WARNING, 3, 1, meta())
    other = nav.send_or_withhold(RENT_CASE, tenant(), NavTrigger.EVICTION_WARNING, 7, 1, meta())
    assert isinstance(first, nav.NavNotificationSent)
    assert isinstance(again, nav.NavNotificationSent)
    assert isinstance(other, nav.NavNotificationSent)
    assert first.originator_id == again.originator_id != other.originator_id
    assert first.originator_id == nav.notification_id(RENT_CASE, NavTrigger.EVICTION_WARNING, 3)


def test_nothing_is_sent_when_no_basis_exists_only_the_reason() -> None:
    decision = nav.send_or_withhold(
        RENT_CASE, opted_out(tenant()), NavTrigger.EVICTION_WARNING, 3, 1, meta()
    )
    assert decision is WithheldReason.TENANT_OPTED_OUT_NO_CONSENT


def test_the_decision_is_taken_on_the_day_of_recording() -> None:
    # Consent withdrawn yesterday: a step recorded today may not use it.
    t = withdrawn(with_consent(tenant()), TODAY - timedelta(days=1))
    decision = nav.send_or_withhold(RENT_CASE, t, ARREARS, 2, 1, meta())
    assert decision is WithheldReason.NO_CONSENT_NO_LEGAL_BASIS


# --- NAV acknowledges and answers -------------------------------------------------------------


def test_nav_acknowledges_a_notification() -> None:
    n = acknowledged()
    assert n.acknowledged_at == NOW
    assert n.version == 2


@pytest.mark.parametrize("service", [Service.PROPERTY_MANAGER, Service.OUTREACH_TEAM])
def test_only_nav_acknowledges(service: Service) -> None:
    with pytest.raises(IllegalStateChange) as error:
        nav.acknowledge(sent(), meta(Actor(user_id=uuid.uuid4(), service=service)))
    assert_refused(error, "service", "nav_only")


def test_a_notification_is_acknowledged_once() -> None:
    with pytest.raises(IllegalStateChange) as error:
        nav.acknowledge(acknowledged(), meta(NAV))
    assert_refused(error, "notification_id", "not_acknowledged")


def test_nav_answers_after_acknowledging() -> None:
    n = acknowledged()
    event = nav.answer(n, NavAnswer.ECONOMIC_ASSISTANCE_GRANTED, " Innvilget ", meta(NAV))
    after = nav.evolve(n, event)
    assert (after.answer, after.answer_text, after.answered_at) == (
        NavAnswer.ECONOMIC_ASSISTANCE_GRANTED,
        "Innvilget",
        NOW,
    )


def test_an_answer_needs_an_acknowledgement_first() -> None:
    with pytest.raises(IllegalStateChange) as error:
        nav.answer(sent(), NavAnswer.NO_ACTION, "", meta(NAV))
    assert_refused(error, "notification_id", "acknowledge_before_answer")


def test_only_nav_answers() -> None:
    with pytest.raises(IllegalStateChange) as error:
        nav.answer(acknowledged(), NavAnswer.NO_ACTION, "", meta(FBE))
    assert_refused(error, "service", "nav_only")


def test_a_notification_is_answered_once() -> None:
    n = acknowledged()
    n = nav.evolve(n, nav.answer(n, NavAnswer.REPAYMENT_AGREEMENT_SET_UP, "", meta(NAV)))
    with pytest.raises(IllegalStateChange) as error:
        nav.answer(n, NavAnswer.NO_ACTION, "", meta(NAV))
    assert_refused(error, "notification_id", "not_answered")


def test_an_answer_of_other_needs_a_text() -> None:
    with pytest.raises(InvalidValue) as error:
        nav.answer(acknowledged(), NavAnswer.OTHER, "  ", meta(NAV))
    assert_refused(error, "text", "required_for_other")


# --- consent declarations used above ------------------------------------------------------------


def test_a_consent_cannot_be_withdrawn_before_it_was_given() -> None:
    t = with_consent(tenant())
    with pytest.raises(InvalidValue) as error:
        consents.withdraw_consent(t, t.consents[0].consent_id, GIVEN - timedelta(days=1), meta())
    assert_refused(error, "withdrawn_on", "not_before_given")


def test_a_restated_consent_is_recognised() -> None:
    t = with_consent(tenant())
    known = t.consents[0]
    restated = consents.new_consent(
        known.consent_id, [Service.NAV, Service.NAV], [InfoCategory.RENT_AND_EVICTION], GIVEN, None
    )
    assert restated in t.consents
