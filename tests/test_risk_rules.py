"""The risk model's rules, one by one: each fires when it should and only then.

Inputs are built by folding real domain events (``domain.risk.fold``), so the tests also
show which facts feed which rule. No database: the model is pure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import risk
from domain.concern import ConcernCategory, ConcernOutcome, ConcernRaised, ConcernResolved
from domain.events import Actor, DomainEvent, EventMeta
from domain.handover import (
    HandoverAccepted,
    HandoverAnnounced,
    HandoverCompleted,
    HandoverDeclined,
    HandoverKind,
    HandoverLapsed,
    LapseReason,
)
from domain.municipal_services import Service
from domain.rent import (
    ArrearsCleared,
    ArrearsReported,
    EvictionCancelled,
    EvictionCancelReason,
    EvictionDateSet,
    EvictionPetitioned,
    EvictionWarningIssued,
    RentCaseOpened,
)
from domain.risk import RiskInputs, RiskLevel
from domain.tenant_events import (
    FollowUpEnded,
    FollowUpStarted,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedIn,
    TenantMovedOut,
)
from domain.visit import FailureReason, Observations, VisitCompleted, VisitFailed, Wellbeing

AT = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ACTOR = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)


def meta(at: datetime = AT) -> EventMeta:
    return EventMeta(actor=ACTOR, occurred_at=at, recorded_at=at)


def folded(*events: DomainEvent, start: RiskInputs = risk.EMPTY) -> RiskInputs:
    inputs = start
    for event in events:
        inputs = risk.fold(inputs, event)
    return inputs


def reason(rule: str, inputs: RiskInputs, at: datetime = AT) -> risk.Reason | None:
    return risk.reason_of(risk.rule_named(rule), inputs, at)


# --- event factories -------------------------------------------------------------------------


def follow_up(interval_days: int = 14, started_on: date = date(2026, 3, 1)) -> FollowUpStarted:
    return FollowUpStarted(
        originator_id=TENANT,
        originator_version=2,
        meta=meta(),
        visit_interval_days=interval_days,
        started_on=started_on,
    )


def completed_visit(at: datetime) -> VisitCompleted:
    return VisitCompleted(
        originator_id=uuid.uuid4(),
        originator_version=2,
        meta=meta(at),
        tenant_id=TENANT,
        worker_ids=(WORKER,),
        observations=Observations(wellbeing=Wellbeing.GOOD),
    )


def failed_visit(at: datetime, why: FailureReason = FailureReason.NOT_AT_HOME) -> VisitFailed:
    return VisitFailed(
        originator_id=uuid.uuid4(),
        originator_version=2,
        meta=meta(at),
        tenant_id=TENANT,
        worker_ids=(WORKER,),
        reason=why,
    )


CASE = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
OTHER_CASE = uuid.UUID("00000000-0000-4000-8000-0000000000c2")


def arrears(month: str, case: uuid.UUID = CASE) -> ArrearsReported:
    return ArrearsReported(
        originator_id=case,
        originator_version=2,
        meta=meta(),
        tenant_id=TENANT,
        month=month,
        amount_nok=6500,
    )


def warned(case: uuid.UUID = CASE) -> EvictionWarningIssued:
    return EvictionWarningIssued(
        originator_id=case,
        originator_version=3,
        meta=meta(),
        tenant_id=TENANT,
        issued_on=date(2026, 3, 2),
        pay_by=date(2026, 3, 16),
    )


def petitioned(case: uuid.UUID = CASE) -> EvictionPetitioned:
    return EvictionPetitioned(
        originator_id=case,
        originator_version=4,
        meta=meta(),
        tenant_id=TENANT,
        petitioned_on=date(2026, 3, 17),
    )


def date_set(case: uuid.UUID = CASE) -> EvictionDateSet:
    return EvictionDateSet(
        originator_id=case,
        originator_version=5,
        meta=meta(),
        tenant_id=TENANT,
        eviction_on=date(2026, 4, 15),
    )


def concern(category: ConcernCategory, dwelling_id: uuid.UUID | None = None) -> ConcernRaised:
    return ConcernRaised(
        originator_id=uuid.uuid4(),
        originator_version=1,
        meta=meta(),
        tenant_id=None if dwelling_id else TENANT,
        category=category,
        dwelling_id=dwelling_id,
        description="confidential",
        raised_by=Service.PROPERTY_MANAGER,
    )


def resolved(raised: ConcernRaised) -> ConcernResolved:
    return ConcernResolved(
        originator_id=raised.originator_id,
        originator_version=2,
        meta=meta(),
        tenant_id=raised.tenant_id,
        category=raised.category,
        outcome=ConcernOutcome.ACTION_TAKEN,
        outcome_text="confidential",
    )


def announced(
    kind: HandoverKind, effective_on: date, handover_id: uuid.UUID | None = None
) -> HandoverAnnounced:
    return HandoverAnnounced(
        originator_id=handover_id or uuid.uuid4(),
        originator_version=1,
        meta=meta(),
        tenant_id=TENANT,
        from_service=Service.CORRECTIONAL_SERVICE,
        to_service=Service.OUTREACH_TEAM,
        kind=kind,
        effective_on=effective_on,
    )


def handover_completed(handover: HandoverAnnounced) -> HandoverCompleted:
    return HandoverCompleted(
        originator_id=handover.originator_id,
        originator_version=3,
        meta=meta(),
        tenant_id=TENANT,
        to_service=handover.to_service,
        contact_worker_id=WORKER,
    )


def handover_lapsed(handover: HandoverAnnounced) -> HandoverLapsed:
    return HandoverLapsed(
        originator_id=handover.originator_id,
        originator_version=2,
        meta=meta(),
        tenant_id=TENANT,
        reason=LapseReason.NOT_ACCEPTED,
    )


def handover_accepted(handover: HandoverAnnounced) -> HandoverAccepted:
    return HandoverAccepted(
        originator_id=handover.originator_id,
        originator_version=2,
        meta=meta(),
        tenant_id=TENANT,
        contact_worker_id=WORKER,
    )


def assigned(service: Service = Service.OUTREACH_TEAM) -> ResponsibilityAssigned:
    return ResponsibilityAssigned(
        originator_id=TENANT, originator_version=3, meta=meta(), service=service
    )


def lapsed(at: datetime = AT) -> ResponsibilityLapsed:
    return ResponsibilityLapsed(
        originator_id=TENANT,
        originator_version=4,
        meta=meta(at),
        previous_service=Service.OUTREACH_TEAM,
        reason="not accepted",
    )


# --- arrears months --------------------------------------------------------------------------


def test_arrears_months_does_not_fire_without_unpaid_months() -> None:
    opened = RentCaseOpened(
        originator_id=CASE, originator_version=1, meta=meta(), tenant_id=TENANT, lease_id=CASE
    )
    assert reason("arrears_months", folded(opened)) is None


def test_arrears_of_one_month_weigh_one() -> None:
    found = reason("arrears_months", folded(arrears("2026-02")))
    assert found == risk.Reason("arrears_months", 1, "1 month of rent unpaid")


def test_arrears_of_two_or_more_months_weigh_three_across_rent_cases() -> None:
    inputs = folded(arrears("2026-01"), arrears("2026-02", OTHER_CASE))
    assert reason("arrears_months", inputs) == risk.Reason(
        "arrears_months", 3, "2 months of rent unpaid"
    )


def test_cleared_arrears_no_longer_count() -> None:
    cleared = ArrearsCleared(
        originator_id=CASE,
        originator_version=4,
        meta=meta(),
        tenant_id=TENANT,
        cleared_on=date(2026, 3, 10),
    )
    assert reason("arrears_months", folded(arrears("2026-01"), arrears("2026-02"), cleared)) is None


# --- eviction stage ---------------------------------------------------------------------------


def test_eviction_stage_does_not_fire_without_a_warning() -> None:
    assert reason("eviction_stage", folded(arrears("2026-02"))) is None


@pytest.mark.parametrize(
    ("steps", "weight", "detail"),
    [
        ((warned,), 3, "eviction warning issued (§ 4-18)"),
        ((warned, petitioned), 5, "eviction petitioned"),
        ((warned, petitioned, date_set), 7, "eviction date set"),
    ],
)
def test_eviction_stage_weighs_more_at_each_step(steps: tuple, weight: int, detail: str) -> None:
    inputs = folded(*(step() for step in steps))
    assert reason("eviction_stage", inputs) == risk.Reason("eviction_stage", weight, detail)


def test_a_cancelled_eviction_no_longer_counts_but_another_case_does() -> None:
    cancelled = EvictionCancelled(
        originator_id=CASE,
        originator_version=5,
        meta=meta(),
        tenant_id=TENANT,
        reason=EvictionCancelReason.ARREARS_PAID,
    )
    assert reason("eviction_stage", folded(warned(), petitioned(), cancelled)) is None
    both = folded(warned(), petitioned(), cancelled, warned(OTHER_CASE))
    found = reason("eviction_stage", both)
    assert found is not None and found.weight == 3


# --- failed visits ----------------------------------------------------------------------------


def test_failed_visits_does_not_fire_without_failures_in_30_days() -> None:
    assert reason("failed_visits", folded(failed_visit(AT - timedelta(days=31)))) is None
    assert reason("failed_visits", folded(completed_visit(AT))) is None


def test_one_failed_visit_in_30_days_weighs_one_two_weigh_three() -> None:
    one = folded(failed_visit(AT - timedelta(days=29)))
    assert reason("failed_visits", one) == risk.Reason(
        "failed_visits", 1, "1 failed visit in the last 30 days"
    )
    two = folded(failed_visit(AT - timedelta(days=29)), failed_visit(AT - timedelta(days=1)))
    found = reason("failed_visits", two)
    assert found is not None and found.weight == 3


def test_a_cancelled_visit_is_not_a_failed_visit() -> None:
    inputs = folded(failed_visit(AT - timedelta(days=1), FailureReason.CANCELLED))
    assert reason("failed_visits", inputs) is None


def test_failed_visits_leave_the_window_as_time_passes() -> None:
    inputs = folded(failed_visit(AT))
    assert reason("failed_visits", inputs, AT + timedelta(days=29)) is not None
    assert reason("failed_visits", inputs, AT + timedelta(days=30)) is None


def test_only_the_failures_the_window_needs_are_kept() -> None:
    inputs = folded(*(failed_visit(AT - timedelta(days=d)) for d in range(60, -1, -1)))
    assert len(inputs.failed_visits) <= risk.MAX_FAILED_VISITS_KEPT
    assert min(inputs.failed_visits) > AT - risk.FAILED_VISIT_WINDOW


# --- overdue visit -------------------------------------------------------------------------------


def test_visit_overdue_does_not_fire_within_the_interval() -> None:
    inputs = folded(follow_up(14), completed_visit(AT - timedelta(days=13)))
    assert reason("visit_overdue", inputs) is None


def test_visit_overdue_after_the_interval_then_more_after_two() -> None:
    inputs = folded(follow_up(14), completed_visit(AT - timedelta(days=15)))
    assert reason("visit_overdue", inputs) == risk.Reason(
        "visit_overdue", 2, "no completed visit since 2026-03-05 (planned every 14 days)"
    )
    found = reason("visit_overdue", inputs, AT + timedelta(days=14))
    assert found is not None and found.weight == 4


def test_without_any_visit_the_interval_runs_from_the_start_of_follow_up() -> None:
    inputs = folded(follow_up(14, started_on=date(2026, 3, 1)))
    # Due 14 days after midnight (Oslo) on 1 March.
    assert reason("visit_overdue", inputs, datetime(2026, 3, 14, 22, 59, tzinfo=UTC)) is None
    found = reason("visit_overdue", inputs, datetime(2026, 3, 14, 23, 1, tzinfo=UTC))
    assert found is not None
    assert found.detail == (
        "no completed visit since the follow-up started 2026-03-01 (planned every 14 days)"
    )


def test_visit_overdue_does_not_fire_without_active_follow_up() -> None:
    ended = FollowUpEnded(
        originator_id=TENANT,
        originator_version=5,
        meta=meta(),
        ended_on=date(2026, 3, 19),
        reason="moved away",
    )
    assert reason("visit_overdue", folded(follow_up(7), ended)) is None
    assert reason("visit_overdue", risk.EMPTY) is None


def test_overdue_appears_as_time_passes_without_new_events() -> None:
    inputs = folded(follow_up(14), completed_visit(AT))
    before = risk.assess(inputs, AT + timedelta(days=13))
    after = risk.assess(inputs, AT + timedelta(days=15))
    assert "visit_overdue" not in {r.rule for r in before.reasons}
    assert "visit_overdue" in {r.rule for r in after.reasons}
    assert after.score == before.score + 2
    assert risk.is_overdue(inputs, AT + timedelta(days=15))
    assert not risk.is_overdue(inputs, AT + timedelta(days=13))


# --- open concerns --------------------------------------------------------------------------------


def test_open_concerns_does_not_fire_when_none_are_open() -> None:
    raised = concern(ConcernCategory.FIRE_SAFETY)
    assert reason("open_concerns", risk.EMPTY) is None
    assert reason("open_concerns", folded(raised, resolved(raised))) is None


def test_fire_safety_and_wellbeing_weigh_more_than_other_categories() -> None:
    fire = reason("open_concerns", folded(concern(ConcernCategory.FIRE_SAFETY)))
    wellbeing = reason("open_concerns", folded(concern(ConcernCategory.WELLBEING)))
    damage = reason("open_concerns", folded(concern(ConcernCategory.DAMAGE)))
    assert fire is not None and wellbeing is not None and damage is not None
    assert fire.weight == wellbeing.weight == 3
    assert damage.weight == 1


def test_open_concerns_add_up_by_category_not_by_count() -> None:
    inputs = folded(
        concern(ConcernCategory.DAMAGE),
        concern(ConcernCategory.DAMAGE),
        concern(ConcernCategory.WELLBEING),
    )
    assert reason("open_concerns", inputs) == risk.Reason(
        "open_concerns", 4, "3 open concerns: damage, wellbeing"
    )


def test_a_concern_about_the_address_leaves_with_the_tenant() -> None:
    dwelling_id = uuid.uuid4()
    moved_in = TenantMovedIn(
        originator_id=TENANT,
        originator_version=2,
        meta=meta(),
        dwelling_id=dwelling_id,
        lease_id=uuid.uuid4(),
        moved_in_on=date(2026, 3, 1),
    )
    moved_out = TenantMovedOut(
        originator_id=TENANT,
        originator_version=3,
        meta=meta(),
        dwelling_id=dwelling_id,
        moved_out_on=date(2026, 3, 19),
    )
    inputs = folded(moved_in, concern(ConcernCategory.HOARDING, dwelling_id))
    inputs = folded(concern(ConcernCategory.WELLBEING), start=inputs)
    assert reason("open_concerns", inputs) is not None
    found = reason("open_concerns", folded(moved_out, start=inputs))
    assert found == risk.Reason("open_concerns", 3, "1 open concern: wellbeing")


# --- recent release or discharge ---------------------------------------------------------------


def test_a_release_in_the_last_30_days_weighs_three() -> None:
    release = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 6))
    inputs = folded(release, handover_completed(release))
    assert reason("recent_release", inputs) == risk.Reason(
        "recent_release", 3, "released from prison on 2026-03-06"
    )
    assert reason("recent_release", inputs, datetime(2026, 4, 5, 12, tzinfo=UTC)) is not None
    assert reason("recent_release", inputs, datetime(2026, 4, 6, 12, tzinfo=UTC)) is None


def test_a_discharge_nobody_accepted_still_happened() -> None:
    discharge = announced(HandoverKind.DISCHARGE_FROM_INSTITUTION, date(2026, 3, 19))
    found = reason("recent_release", folded(discharge, handover_lapsed(discharge)))
    assert found is not None and found.detail.startswith("discharged from an institution")


def test_recent_release_does_not_fire_for_other_handovers_or_before_settlement() -> None:
    transfer = announced(HandoverKind.INTERNAL_TRANSFER, date(2026, 3, 10))
    assert reason("recent_release", folded(transfer, handover_completed(transfer))) is None
    release = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 25))
    assert reason("recent_release", folded(release)) is None


# --- no responsible service ---------------------------------------------------------------------


def test_no_responsible_service_does_not_fire_when_a_service_is_responsible() -> None:
    assert reason("no_responsible_service", folded(follow_up(), assigned())) is None
    assert reason("no_responsible_service", folded(follow_up(), lapsed(), assigned())) is None


def test_no_responsible_service_does_not_fire_outside_follow_up() -> None:
    assert reason("no_responsible_service", folded(lapsed())) is None


def test_a_lapsed_responsibility_weighs_more_than_one_never_assigned() -> None:
    never = reason("no_responsible_service", folded(follow_up()))
    assert never == risk.Reason("no_responsible_service", 2, "no responsible service assigned")
    gap = reason("no_responsible_service", folded(follow_up(), assigned(), lapsed()))
    assert gap == risk.Reason(
        "no_responsible_service",
        4,
        "no responsible service since 2026-03-20 (responsibility lapsed)",
    )


# --- unaccepted handover -------------------------------------------------------------------------


def test_unaccepted_handover_does_not_fire_while_its_date_is_far() -> None:
    far = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 28))
    assert reason("unaccepted_handover", folded(far)) is None


def test_unaccepted_handover_near_its_date_then_past_it() -> None:
    handover = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 27))
    inputs = folded(handover)
    assert reason("unaccepted_handover", inputs) == risk.Reason(
        "unaccepted_handover", 2, "handover to tiltaksteamet on 2026-03-27 not yet accepted"
    )
    found = reason("unaccepted_handover", inputs, datetime(2026, 3, 27, 9, tzinfo=UTC))
    assert found is not None and found.weight == 3


def test_a_declined_handover_still_counts_an_accepted_or_settled_one_does_not() -> None:
    handover = announced(HandoverKind.INTERNAL_TRANSFER, date(2026, 3, 22))
    declined = HandoverDeclined(
        originator_id=handover.originator_id,
        originator_version=2,
        meta=meta(),
        tenant_id=TENANT,
        reason="confidential",
    )
    assert reason("unaccepted_handover", folded(handover, declined)) is not None
    assert reason("unaccepted_handover", folded(handover, handover_accepted(handover))) is None
    assert reason("unaccepted_handover", folded(handover, handover_lapsed(handover))) is None


# --- levels and assessment -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, RiskLevel.LOW),
        (2, RiskLevel.LOW),
        (3, RiskLevel.MODERATE),
        (5, RiskLevel.MODERATE),
        (6, RiskLevel.HIGH),
        (9, RiskLevel.HIGH),
        (10, RiskLevel.CRITICAL),
        (40, RiskLevel.CRITICAL),
    ],
)
def test_level_thresholds(score: int, level: RiskLevel) -> None:
    assert risk.level_for(score) is level


def test_assessment_sums_the_weights_of_every_reason() -> None:
    inputs = folded(follow_up(), assigned(), arrears("2026-01"), arrears("2026-02"), warned())
    assessment = risk.assess(inputs, datetime(2026, 3, 10, tzinfo=UTC))
    assert [r.rule for r in assessment.reasons] == ["arrears_months", "eviction_stage"]
    assert assessment.score == 6
    assert assessment.level is RiskLevel.HIGH
    assert assessment.model_version == risk.RISK_MODEL_VERSION


def test_nothing_known_is_low_risk() -> None:
    assessment = risk.assess(risk.EMPTY, AT)
    assert (assessment.level, assessment.score, assessment.reasons) == (RiskLevel.LOW, 0, ())


def test_assessing_needs_an_aware_time() -> None:
    with pytest.raises(ValueError):
        risk.assess(risk.EMPTY, datetime(2026, 3, 20))


def test_every_rule_has_a_weight_for_every_grade_it_can_give() -> None:
    names = [rule.name for rule in risk.RULES]
    assert len(names) == len(set(names))
    concern_rule = risk.rule_named("open_concerns")
    assert set(concern_rule.weights) == {c.value for c in ConcernCategory}


def test_inputs_survive_encoding() -> None:
    release = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 6))
    inputs = folded(
        follow_up(),
        lapsed(),
        arrears("2026-02"),
        warned(),
        failed_visit(AT),
        completed_visit(AT - timedelta(days=3)),
        concern(ConcernCategory.FIRE_SAFETY, uuid.uuid4()),
        release,
        handover_completed(release),
        announced(HandoverKind.TURNING_18, date(2026, 4, 1)),
    )
    assert risk.decode_inputs(risk.encode_inputs(inputs)) == inputs


# --- how long an assessment holds --------------------------------------------------------------


def _rich_inputs() -> list[RiskInputs]:
    release = announced(HandoverKind.RELEASE_FROM_PRISON, date(2026, 3, 15))
    everything = folded(
        follow_up(7),
        completed_visit(AT - timedelta(days=2)),
        failed_visit(AT - timedelta(days=20)),
        failed_visit(AT - timedelta(days=3)),
        release,
        handover_completed(release),
        announced(HandoverKind.TURNING_18, date(2026, 4, 2)),
        announced(HandoverKind.INTERNAL_TRANSFER, date(2026, 4, 20)),
        arrears("2026-02"),
        warned(),
        concern(ConcernCategory.WELLBEING),
        assigned(),
        lapsed(),
    )
    return [
        everything,
        risk.EMPTY,
        folded(follow_up(14)),
        folded(follow_up(30), completed_visit(AT), failed_visit(AT + timedelta(days=40))),
        folded(announced(HandoverKind.DISCHARGE_FROM_INSTITUTION, date(2026, 3, 20))),
    ]


def _sweep() -> list[datetime]:
    return [AT - timedelta(days=30) + timedelta(hours=5 * n) for n in range(24 * 100 // 5)]


def test_an_assessment_holds_until_stable_until() -> None:
    changes_seen = 0
    for inputs in _rich_inputs():
        # Every 5 hours, and exactly at (and just before) each declared change.
        declared = [c for rule in risk.RULES if rule.changes for c in rule.changes(inputs)]
        tick = timedelta(microseconds=1)
        for at in [*_sweep(), *declared, *(c - tick for c in declared)]:
            expected = risk.assess(inputs, at)
            until = risk.stable_until(inputs, at)
            if until is None:
                later = [at + timedelta(days=400)]
            else:
                assert until > at
                later = [at + (until - at) / 2, until - timedelta(microseconds=1)]
                changes_seen += risk.assess(inputs, until) != expected
            for moment in later:
                assert risk.assess(inputs, moment) == expected, (inputs, at, moment)
    assert changes_seen > 20  # the sweep did cross the moments the rules change


def test_rules_that_declare_no_changes_do_not_depend_on_time() -> None:
    timeless = [rule for rule in risk.RULES if rule.changes is None]
    assert {r.name for r in timeless} == {
        "arrears_months",
        "eviction_stage",
        "open_concerns",
        "no_responsible_service",
    }
    for inputs in _rich_inputs():
        for rule in timeless:
            assert len({risk.reason_of(rule, inputs, at) for at in _sweep()}) == 1, rule.name
