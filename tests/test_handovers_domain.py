"""Handover rules (overgangene): announce, answer, settle on the date, and the gap rule.

Pure domain code: no database, no clock. Every test chooses its own ``now`` and ``today``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import handover as handovers
from domain import tenant as tenants
from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import SYSTEM_ACTOR, Actor, EventMeta, event_meta, local_date
from domain.handover import (
    Handover,
    HandoverCompleted,
    HandoverKind,
    HandoverLapsed,
    HandoverStatus,
    LapseReason,
)
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_events import ResponsibilityAssigned, ResponsibilityLapsed

# Friday 6 March 2026, half past three in the afternoon in Norway.
NOW = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)
TODAY = date(2026, 3, 6)
PRISON = Actor(uuid.uuid4(), Service.CORRECTIONAL_SERVICE)
OUTREACH = Actor(uuid.uuid4(), Service.OUTREACH_TEAM)
NAV = Actor(uuid.uuid4(), Service.NAV)
CONTACT = uuid.uuid4()


def meta(actor: Actor = PRISON, now: datetime = NOW) -> EventMeta:
    return event_meta(actor, None, now)


def tenant(responsible: Service | None = Service.CORRECTIONAL_SERVICE) -> Tenant:
    t = tenants.replay([tenants.register(uuid.uuid4(), "Test Beboer", None, meta())])
    assert t is not None
    t = tenants.evolve(t, tenants.start_follow_up(t, 14, date(2026, 1, 1), meta()))
    if responsible is not None:
        t = tenants.evolve(t, tenants.assign_responsibility(t, responsible, uuid.uuid4(), meta()))
    return t


def announced(
    effective_on: date = TODAY,
    *,
    to_service: Service = Service.OUTREACH_TEAM,
    of: Tenant | None = None,
) -> Handover:
    event = handovers.announce(
        uuid.uuid4(),
        of or tenant(),
        Service.CORRECTIONAL_SERVICE,
        to_service,
        HandoverKind.RELEASE_FROM_PRISON,
        effective_on,
        meta(),
    )
    state = handovers.replay([event])
    assert state is not None
    return state


def accepted(effective_on: date = TODAY) -> Handover:
    h = announced(effective_on)
    return handovers.evolve(h, handovers.accept(h, CONTACT, meta(OUTREACH)))


def declined(effective_on: date = TODAY) -> Handover:
    h = announced(effective_on)
    return handovers.evolve(h, handovers.decline(h, "no capacity", meta(OUTREACH)))


# --- announcing ------------------------------------------------------------------------


def test_an_announced_handover_names_both_services_kind_and_date() -> None:
    t = tenant()
    h = announced(date(2026, 4, 1), of=t)
    assert h.tenant_id == t.id
    assert (h.from_service, h.to_service) == (Service.CORRECTIONAL_SERVICE, Service.OUTREACH_TEAM)
    assert h.kind is HandoverKind.RELEASE_FROM_PRISON
    assert h.effective_on == date(2026, 4, 1)
    assert h.status is HandoverStatus.ANNOUNCED
    assert h.version == 1


def test_a_service_cannot_hand_a_tenant_to_itself() -> None:
    with pytest.raises(InvalidValue) as refused:
        announced(to_service=Service.CORRECTIONAL_SERVICE)
    assert (refused.value.field, refused.value.rule) == ("to_service", "differs_from_from_service")


def test_a_release_without_notice_may_be_announced_the_same_day() -> None:
    assert announced(TODAY).is_due(TODAY)


def test_a_handover_may_be_announced_after_its_date() -> None:
    assert announced(TODAY - timedelta(days=3)).status is HandoverStatus.ANNOUNCED


def test_no_handover_for_a_tenant_whose_follow_up_has_ended() -> None:
    t = tenant()
    t = tenants.evolve(t, tenants.end_follow_up(t, TODAY, "moved away", meta()))
    with pytest.raises(IllegalStateChange) as refused:
        announced(of=t)
    assert (refused.value.field, refused.value.rule) == ("tenant_id", "follow_up_active")


def test_an_unknown_handover_is_reported_by_id() -> None:
    with pytest.raises(UnknownAggregate) as missing:
        handovers.require(None, uuid.uuid4())
    assert (missing.value.field, missing.value.rule) == ("handover_id", "must_exist")


# --- answering -------------------------------------------------------------------------


def test_the_receiving_service_accepts_with_a_named_contact() -> None:
    h = accepted(TODAY + timedelta(days=7))
    assert h.status is HandoverStatus.ACCEPTED
    assert h.contact_worker_id == CONTACT


@pytest.mark.parametrize("answer", ["accept", "decline"])
@pytest.mark.parametrize("actor", [PRISON, NAV])
def test_only_the_receiving_service_may_answer(answer: str, actor: Actor) -> None:
    h = announced()
    with pytest.raises(IllegalStateChange) as refused:
        if answer == "accept":
            handovers.accept(h, CONTACT, meta(actor))
        else:
            handovers.decline(h, "no", meta(actor))
    assert (refused.value.field, refused.value.rule) == ("service", "receiving_service_only")


def test_the_receiving_service_declines_with_a_trimmed_reason() -> None:
    h = announced()
    event = handovers.decline(h, "  no capacity  ", meta(OUTREACH))
    assert event.reason == "no capacity"
    assert handovers.evolve(h, event).status is HandoverStatus.DECLINED


def test_a_decline_needs_a_reason() -> None:
    with pytest.raises(InvalidValue) as refused:
        handovers.decline(announced(), "   ", meta(OUTREACH))
    assert (refused.value.field, refused.value.rule) == ("reason", "not_blank")


def test_a_declined_handover_cannot_be_accepted() -> None:
    with pytest.raises(IllegalStateChange) as refused:
        handovers.accept(declined(), CONTACT, meta(OUTREACH))
    assert (refused.value.field, refused.value.rule) == ("handover_id", "awaiting_answer")
    assert "declined" in refused.value.detail


def test_an_accepted_handover_cannot_be_declined_or_accepted_again() -> None:
    h = accepted(TODAY + timedelta(days=1))
    for answer in (
        lambda: handovers.decline(h, "changed our mind", meta(OUTREACH)),
        lambda: handovers.accept(h, CONTACT, meta(OUTREACH)),
    ):
        with pytest.raises(IllegalStateChange) as refused:
            answer()
        assert refused.value.rule == "awaiting_answer"


def test_a_declined_handover_cannot_be_declined_again() -> None:
    with pytest.raises(IllegalStateChange) as refused:
        handovers.decline(declined(), "still no", meta(OUTREACH))
    assert refused.value.rule == "awaiting_answer"


def test_a_completed_handover_cannot_be_answered() -> None:
    h = accepted()
    done = settled(h)
    with pytest.raises(IllegalStateChange):
        handovers.accept(done, CONTACT, meta(OUTREACH))
    with pytest.raises(IllegalStateChange):
        handovers.decline(done, "too late", meta(OUTREACH))


def test_a_handover_that_lapsed_unanswered_may_still_be_accepted_late() -> None:
    lapsed = settled(announced())
    assert lapsed.lapse_reason is LapseReason.NOT_ACCEPTED
    late = handovers.evolve(lapsed, handovers.accept(lapsed, CONTACT, meta(OUTREACH)))
    assert late.status is HandoverStatus.ACCEPTED
    assert isinstance(handovers.settle(late, TODAY, meta(OUTREACH)), HandoverCompleted)


def test_a_handover_that_lapsed_after_a_decline_cannot_be_accepted() -> None:
    lapsed = settled(declined())
    with pytest.raises(IllegalStateChange) as refused:
        handovers.accept(lapsed, CONTACT, meta(OUTREACH))
    assert refused.value.rule == "awaiting_answer"


def test_a_lapsed_handover_cannot_be_declined() -> None:
    with pytest.raises(IllegalStateChange):
        handovers.decline(settled(announced()), "no", meta(OUTREACH))


# --- settling on the date --------------------------------------------------------------


def settled(h: Handover, today: date = TODAY) -> Handover:
    event = handovers.settle(h, today, meta(SYSTEM_ACTOR))
    assert event is not None
    return handovers.evolve(h, event)


def test_an_accepted_handover_completes_on_its_date() -> None:
    h = accepted()
    event = handovers.settle(h, TODAY, meta(SYSTEM_ACTOR))
    assert isinstance(event, HandoverCompleted)
    assert (event.to_service, event.contact_worker_id) == (Service.OUTREACH_TEAM, CONTACT)
    assert handovers.evolve(h, event).status is HandoverStatus.COMPLETED


def test_an_accepted_handover_completes_after_its_date_too() -> None:
    assert settled(accepted(TODAY - timedelta(days=2))).status is HandoverStatus.COMPLETED


def test_nothing_happens_before_the_date() -> None:
    for h in (
        announced(TODAY + timedelta(days=1)),
        accepted(TODAY + timedelta(days=1)),
        declined(TODAY + timedelta(days=1)),
    ):
        assert handovers.settle(h, TODAY, meta()) is None


def test_an_unanswered_handover_lapses_on_its_date() -> None:
    event = handovers.settle(announced(), TODAY, meta())
    assert isinstance(event, HandoverLapsed)
    assert event.reason is LapseReason.NOT_ACCEPTED


def test_a_declined_handover_lapses_on_its_date() -> None:
    event = handovers.settle(declined(), TODAY, meta())
    assert isinstance(event, HandoverLapsed)
    assert event.reason is LapseReason.DECLINED


def test_a_settled_handover_settles_no_more() -> None:
    for h in (settled(accepted()), settled(announced()), settled(declined())):
        assert h.is_settled
        assert handovers.settle(h, TODAY + timedelta(days=30), meta()) is None


def test_complete_and_lapse_refuse_what_settle_would_not_do() -> None:
    with pytest.raises(IllegalStateChange) as early:
        handovers.complete(accepted(TODAY + timedelta(days=1)), TODAY, meta())
    assert early.value.rule == "effective_date_reached"
    with pytest.raises(IllegalStateChange) as unaccepted:
        handovers.complete(announced(), TODAY, meta())
    assert unaccepted.value.rule == "accepted"
    with pytest.raises(IllegalStateChange) as accepted_one:
        handovers.lapse(accepted(), TODAY, meta())
    assert accepted_one.value.rule == "not_accepted"


def test_the_date_is_norways_date_not_the_servers() -> None:
    # 23:30 UTC on Thursday is already Friday in Norway.
    assert local_date(datetime(2026, 3, 5, 23, 30, tzinfo=UTC)) == TODAY
    # In summer time too (UTC+2).
    assert local_date(datetime(2026, 7, 1, 22, 30, tzinfo=UTC)) == date(2026, 7, 2)


# --- the tenant after settling (the gap rule) ------------------------------------------


def effect(h: Handover, t: Tenant) -> ResponsibilityAssigned | ResponsibilityLapsed | None:
    m = meta(SYSTEM_ACTOR)
    settlement = handovers.settle(h, TODAY, m)
    assert settlement is not None
    return handovers.responsibility_after(h, settlement, t, m)


def test_completion_makes_the_receiving_service_responsible_with_the_contact() -> None:
    h = accepted()
    event = effect(h, tenant())
    assert isinstance(event, ResponsibilityAssigned)
    assert (event.service, event.contact_worker_id, event.handover_id) == (
        Service.OUTREACH_TEAM,
        CONTACT,
        h.id,
    )


def test_completion_ends_a_gap() -> None:
    t = tenant()
    t = tenants.evolve(t, tenants.lapse_responsibility(t, "nobody", meta()))
    event = effect(accepted(), t)
    assert event is not None
    t = tenants.evolve(t, event)
    assert not t.has_responsibility_gap
    assert t.responsible_service is Service.OUTREACH_TEAM


def test_a_lapsed_handover_leaves_the_tenant_with_no_responsible_service() -> None:
    h = declined()
    t = tenant()
    event = effect(h, t)
    assert isinstance(event, ResponsibilityLapsed)
    assert (event.previous_service, event.handover_id) == (Service.CORRECTIONAL_SERVICE, h.id)
    t = tenants.evolve(t, event)
    assert t.responsible_service is None
    assert t.contact_worker_id is None
    assert t.responsibility_gap_since == NOW


def test_a_tenant_nobody_was_responsible_for_falls_into_the_gap_too() -> None:
    assert isinstance(effect(announced(), tenant(responsible=None)), ResponsibilityLapsed)


def test_a_tenant_already_in_a_gap_gets_no_second_lapse() -> None:
    t = tenant()
    t = tenants.evolve(t, tenants.lapse_responsibility(t, "nobody", meta()))
    assert effect(announced(), t) is None


def test_a_tenant_another_service_took_meanwhile_keeps_that_service() -> None:
    assert effect(announced(), tenant(responsible=Service.NAV)) is None


def test_a_tenant_whose_follow_up_ended_is_not_changed() -> None:
    t = tenant()
    t = tenants.evolve(t, tenants.end_follow_up(t, TODAY, "moved away", meta()))
    assert effect(accepted(), t) is None
    assert effect(announced(), t) is None


def test_replay_rebuilds_state_and_version() -> None:
    h = accepted()
    done = settled(h)
    assert (done.version, done.status, done.settled_at) == (3, HandoverStatus.COMPLETED, NOW)


def test_an_answer_before_the_announcement_cannot_be_replayed() -> None:
    event = handovers.accept(announced(), CONTACT, meta(OUTREACH))
    with pytest.raises(ValueError):
        handovers.replay([event])
