"""The time rules at their boundaries, as pure functions of rows, staff, thresholds and
the time (docs/alerts.md). No clock is read: each test says when it is."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from domain.alert_thresholds import (
    AlertThresholds,
    CheckOutMissing,
    ConcernUnacknowledged,
    decode_thresholds,
)
from domain.alerts import AlertRule
from domain.events import MUNICIPALITY_TZ
from domain.time_rules import (
    CheckInOverdue,
    ConcernWaiting,
    DeviceSilent,
    EvictionNotice,
    FlagReview,
    HandoverWaiting,
    NavWaiting,
    Staff,
    TenantWithoutService,
    VisitDue,
    check_out_missing,
    concern_deadline,
    concern_unacknowledged,
    device_not_synced,
    escalation_due,
    eviction_petition_allowed,
    handover_unaccepted,
    nav_notification_unacknowledged,
    no_responsible_service,
    safety_flag_review_due,
    visit_overdue,
)
from domain.working_days import add_working_days, is_working_day

DEFAULTS = AlertThresholds()
WORKER, LEAD, CARE_LEAD, NAV_LEAD, FBE, COORDINATOR, DEPUTY = (uuid.uuid4() for _ in range(7))
GONE = uuid.uuid4()  # a user who has left (not active)
STAFF = Staff(
    leads={"tiltaksteamet": (LEAD,), "omsorg": (CARE_LEAD,), "nav": (NAV_LEAD,)},
    members={"koordinerende_enhet": (COORDINATOR,), "nav": (NAV_LEAD,)},
    property_managers=(FBE,),
    usernames={"deputy": DEPUTY, "lead": LEAD},
    active=frozenset({WORKER, LEAD, CARE_LEAD, NAV_LEAD, FBE, COORDINATOR, DEPUTY}),
)


def oslo(y: int, m: int, d: int, hour: int = 0) -> datetime:
    return datetime(y, m, d, hour, tzinfo=MUNICIPALITY_TZ)


def test_the_config_file_documents_exactly_the_defaults() -> None:
    path = Path(__file__).resolve().parents[1] / "config" / "alerts.toml"
    assert decode_thresholds(path.read_bytes()) == DEFAULTS


def test_working_days_skip_weekends_and_norways_public_holidays() -> None:
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday -> Monday
    # Wednesday before Easter 2026: Maundy Thursday, Good Friday and Easter Monday are off.
    assert add_working_days(date(2026, 4, 1), 1) == date(2026, 4, 7)
    assert add_working_days(date(2026, 4, 1), 3) == date(2026, 4, 9)
    assert not is_working_day(date(2026, 5, 17))  # Constitution Day
    assert not is_working_day(date(2026, 12, 26))
    assert is_working_day(date(2026, 12, 23))
    assert add_working_days(date(2026, 12, 4), 0) == date(2026, 12, 4)


def test_a_visit_is_overdue_from_its_due_time_plus_the_grace() -> None:
    due = oslo(2026, 3, 15)
    row = VisitDue(uuid.uuid4(), WORKER, "tiltaksteamet", due)
    late = due + timedelta(days=DEFAULTS.visit_overdue.grace_days)
    assert visit_overdue([row], STAFF, DEFAULTS, late - timedelta(seconds=1)) == []
    [finding] = visit_overdue([row], STAFF, DEFAULTS, late)
    assert finding.tiers == ((WORKER,), (LEAD,))
    assert finding.period == due.isoformat() and finding.tenant_id == row.tenant_id
    # A contact worker who has left: the team leads are told at once.
    gone = VisitDue(uuid.uuid4(), GONE, "tiltaksteamet", due)
    assert visit_overdue([gone], STAFF, DEFAULTS, late)[0].tiers[0] == (LEAD,)


def test_a_concern_is_late_after_n_working_days_not_calendar_days() -> None:
    routed = oslo(2026, 4, 1, 10)  # the Wednesday before Easter
    row = ConcernWaiting(uuid.uuid4(), uuid.uuid4(), None, "omsorg", routed, None, FBE)
    assert concern_deadline(routed, DEFAULTS) == date(2026, 4, 9)
    assert concern_unacknowledged([row], STAFF, DEFAULTS, oslo(2026, 4, 9, 23)) == []
    [finding] = concern_unacknowledged([row], STAFF, DEFAULTS, oslo(2026, 4, 10))
    # The receiving service's lead; then the team lead (the outreach team's, as the tenant
    # has no responsible service here) and the raiser, who sees it was escalated.
    assert finding.tiers == ((CARE_LEAD,), (LEAD, FBE))
    assert finding.due_since == oslo(2026, 4, 10)
    # Routed on again: a new period, so a new alert.
    again = ConcernWaiting(
        row.concern_id, row.tenant_id, None, "omsorg", routed + timedelta(1), None, FBE
    )
    [other] = concern_unacknowledged([again], STAFF, DEFAULTS, oslo(2026, 4, 20))
    assert other.alert_id != finding.alert_id


def test_concern_escalation_counts_working_days_too() -> None:
    told = oslo(2026, 4, 1, 9)
    t = AlertThresholds(concern_unacknowledged=ConcernUnacknowledged(escalate_after_working_days=2))
    rule = AlertRule.CONCERN_UNACKNOWLEDGED
    assert not escalation_due(rule, told, oslo(2026, 4, 8, 12), t)  # 7 and 8 April count
    assert escalation_due(rule, told, oslo(2026, 4, 9), t)


def test_nav_is_told_again_after_n_days_unacknowledged() -> None:
    sent = oslo(2026, 3, 2, 9)
    row = NavWaiting(uuid.uuid4(), uuid.uuid4(), sent)
    days = timedelta(days=DEFAULTS.nav_notification_unacknowledged.days)
    assert nav_notification_unacknowledged([row], STAFF, DEFAULTS, sent + days - timedelta(1)) == []
    [finding] = nav_notification_unacknowledged([row], STAFF, DEFAULTS, sent + days)
    assert finding.tiers == ((NAV_LEAD,),) and finding.subject_id == row.notification_id


def test_the_petition_step_is_announced_two_weeks_after_the_notice_and_not_forever() -> None:
    sent = oslo(2026, 3, 2, 9)
    row = EvictionNotice(uuid.uuid4(), uuid.uuid4(), sent, WORKER)
    two_weeks = sent + timedelta(days=14)
    assert eviction_petition_allowed([row], STAFF, DEFAULTS, two_weeks - timedelta(minutes=1)) == []
    [finding] = eviction_petition_allowed([row], STAFF, DEFAULTS, two_weeks)
    assert finding.tiers == ((WORKER, FBE),)
    assert eviction_petition_allowed([row], STAFF, DEFAULTS, two_weeks + timedelta(days=31)) == []


def test_a_handover_nobody_accepted_is_raised_within_n_days_of_its_date() -> None:
    row = HandoverWaiting(uuid.uuid4(), uuid.uuid4(), "tiltaksteamet", "omsorg", date(2026, 3, 20))
    assert handover_unaccepted([row], STAFF, DEFAULTS, oslo(2026, 3, 12, 23)) == []
    [finding] = handover_unaccepted([row], STAFF, DEFAULTS, oslo(2026, 3, 13))
    assert finding.tiers == ((LEAD, CARE_LEAD),)
    assert handover_unaccepted([row], STAFF, DEFAULTS, oslo(2026, 3, 21)) == []


def test_no_responsible_service_goes_to_the_team_lead_and_the_coordinating_unit() -> None:
    since = oslo(2026, 3, 20, 8)
    row = TenantWithoutService(uuid.uuid4(), since)
    after = since + timedelta(days=DEFAULTS.no_responsible_service.days)
    assert no_responsible_service([row], STAFF, DEFAULTS, after - timedelta(seconds=1)) == []
    [finding] = no_responsible_service([row], STAFF, DEFAULTS, after)
    assert finding.tiers == ((LEAD, COORDINATOR),)


def test_a_flag_review_task_goes_to_its_owner_or_their_leads_if_they_left() -> None:
    row = FlagReview(uuid.uuid4(), date(2026, 3, 20), FBE, "fbe")
    assert safety_flag_review_due([row], STAFF, DEFAULTS, oslo(2026, 3, 19, 23)) == []
    [finding] = safety_flag_review_due([row], STAFF, DEFAULTS, oslo(2026, 3, 20))
    assert finding.tiers == ((FBE,),) and finding.dwelling_id == row.dwelling_id
    left = FlagReview(uuid.uuid4(), date(2026, 3, 20), GONE, "tiltaksteamet")
    assert safety_flag_review_due([left], STAFF, DEFAULTS, oslo(2026, 3, 20))[0].tiers == ((LEAD,),)


def test_a_silent_device_tells_its_user_and_their_leads() -> None:
    synced = oslo(2026, 3, 2, 9)
    row = DeviceSilent(uuid.uuid4(), WORKER, "tiltaksteamet", synced)
    days = timedelta(days=DEFAULTS.device_not_synced.days)
    assert device_not_synced([row], STAFF, DEFAULTS, synced + days - timedelta(seconds=1)) == []
    [finding] = device_not_synced([row], STAFF, DEFAULTS, synced + days)
    assert finding.tiers == ((WORKER, LEAD),)


def test_a_missing_check_out_goes_to_the_leads_then_down_the_escalation_list() -> None:
    t = AlertThresholds(
        check_out_missing=CheckOutMissing(
            escalation_lists={"tiltaksteamet": ("deputy", "nobody-by-that-name", "lead")}
        )
    )
    expected = oslo(2026, 3, 2, 14)
    row = CheckInOverdue(uuid.uuid4(), WORKER, "tiltaksteamet", expected)
    grace = timedelta(minutes=t.check_out_missing.grace_minutes)
    assert check_out_missing([row], STAFF, t, expected + grace) == []
    [finding] = check_out_missing([row], STAFF, t, expected + grace + timedelta(seconds=1))
    # Unknown usernames are skipped; a lead already told is told again by name.
    assert finding.tiers == ((LEAD,), (DEPUTY,), (LEAD,))
    assert finding.tenant_id is None  # lone work stays off the tenant's timeline
    rule = AlertRule.CHECK_OUT_MISSING
    told = expected + grace
    assert not escalation_due(rule, told, told + timedelta(minutes=9), t)
    assert escalation_due(rule, told, told + timedelta(minutes=10), t)


def test_rules_with_one_tier_never_escalate() -> None:
    long_ago = oslo(2026, 1, 1)
    now = oslo(2026, 3, 1)
    for rule in (AlertRule.NAV_NOTIFICATION_UNACKNOWLEDGED, AlertRule.SAFETY_FLAG_REVIEW_DUE):
        assert not escalation_due(rule, long_ago, now, DEFAULTS)
