"""Tenant rules: registration, follow-up start and end, responsibility; and event provenance.

Pure domain code: no database, no clock. Every test chooses its own ``now``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain import tenant as tenants
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import MAX_CLOCK_SKEW, Actor, EventMeta, event_meta
from domain.municipal_services import Service
from domain.tenant import FollowUp, Tenant

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ACTOR = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)
STARTED = date(2026, 3, 1)


def meta(now: datetime = NOW) -> EventMeta:
    return event_meta(ACTOR, None, now)


def registered() -> Tenant:
    event = tenants.register(uuid.uuid4(), "Kari Nordmann", date(1980, 5, 17), meta())
    state = tenants.replay([event])
    assert state is not None
    return state


def in_follow_up(interval: int = 14) -> Tenant:
    tenant = registered()
    return tenants.evolve(tenant, tenants.start_follow_up(tenant, interval, STARTED, meta()))


def follow_up_ended() -> Tenant:
    tenant = in_follow_up()
    event = tenants.end_follow_up(tenant, date(2026, 4, 1), "moved away", meta())
    return tenants.evolve(tenant, event)


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


# --- registering ----------------------------------------------------------------------


def test_a_registered_tenant_has_the_trimmed_name_and_birth_date() -> None:
    tenant_id = uuid.uuid4()
    event = tenants.register(tenant_id, "  Kari Nordmann ", date(1980, 5, 17), meta())

    assert tenants.replay([event]) == Tenant(
        id=tenant_id, version=1, full_name="Kari Nordmann", birth_date=date(1980, 5, 17)
    )


def test_the_birth_date_may_be_left_out() -> None:
    event = tenants.register(uuid.uuid4(), "Kari", None, meta())
    assert event.birth_date is None


@pytest.mark.parametrize("name", ["", " ", "\t\n  "])
def test_a_blank_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidValue) as error:
        tenants.register(uuid.uuid4(), name, None, meta())
    assert_refused(error, "full_name", "not_blank")


def test_a_birth_date_after_today_is_refused() -> None:
    with pytest.raises(InvalidValue) as error:
        tenants.register(uuid.uuid4(), "Kari", NOW.date() + timedelta(days=1), meta())
    assert_refused(error, "birth_date", "not_in_future")


def test_a_birth_date_of_today_is_accepted() -> None:
    event = tenants.register(uuid.uuid4(), "Newborn", NOW.date(), meta())
    assert event.birth_date == NOW.date()


def test_today_is_the_servers_day_not_the_field_time() -> None:
    # Happened late yesterday on a tablet, recorded today: today's births are still fine.
    late_yesterday = NOW - timedelta(days=1)
    stamped = event_meta(ACTOR, late_yesterday, NOW)
    event = tenants.register(uuid.uuid4(), "Newborn", NOW.date(), stamped)
    assert (event.birth_date, event.meta.occurred_at) == (NOW.date(), late_yesterday)


def test_an_unknown_tenant_is_reported_by_id() -> None:
    missing = uuid.uuid4()
    with pytest.raises(UnknownAggregate) as error:
        tenants.require(None, missing)
    assert_refused(error, "tenant_id", "must_exist")
    assert str(missing) in error.value.detail


# --- starting follow-up -------------------------------------------------------------


def test_starting_follow_up_records_interval_and_start() -> None:
    tenant = registered()
    event = tenants.start_follow_up(tenant, 14, STARTED, meta())

    after = tenants.evolve(tenant, event)
    assert event.originator_version == tenant.version + 1 == after.version
    assert after.follow_up == FollowUp(visit_interval_days=14, started_on=STARTED)
    assert after.in_active_follow_up


def test_follow_up_cannot_start_twice() -> None:
    with pytest.raises(IllegalStateChange) as error:
        tenants.start_follow_up(in_follow_up(), 14, STARTED, meta())
    assert_refused(error, "tenant_id", "follow_up_not_active")


def test_a_new_follow_up_may_start_after_the_last_one_ended() -> None:
    tenant = follow_up_ended()
    event = tenants.start_follow_up(tenant, 7, date(2026, 5, 1), meta())
    after = tenants.evolve(tenant, event)
    assert after.follow_up == FollowUp(visit_interval_days=7, started_on=date(2026, 5, 1))
    assert after.in_active_follow_up


@pytest.mark.parametrize("days", [-1, 0, 366, 10_000])
def test_visit_interval_outside_one_to_365_days_is_refused(days: int) -> None:
    with pytest.raises(InvalidValue) as error:
        tenants.start_follow_up(registered(), days, STARTED, meta())
    assert_refused(error, "visit_interval_days", "range_1_365")


@pytest.mark.parametrize("days", [1, 365])
def test_visit_interval_bounds_are_accepted(days: int) -> None:
    event = tenants.start_follow_up(registered(), days, STARTED, meta())
    assert event.visit_interval_days == days


# --- responsibility -----------------------------------------------------------------


def test_responsibility_names_service_and_contact() -> None:
    tenant = in_follow_up()
    contact = uuid.uuid4()
    after = tenants.evolve(
        tenant, tenants.assign_responsibility(tenant, Service.NAV, contact, meta())
    )
    assert (after.responsible_service, after.contact_worker_id) == (Service.NAV, contact)
    assert after.version == tenant.version + 1


def test_responsibility_can_be_assigned_before_follow_up_starts() -> None:
    tenant = registered()
    event = tenants.assign_responsibility(tenant, Service.CARE, None, meta())
    assert tenants.evolve(tenant, event).responsible_service is Service.CARE


def test_reassigning_responsibility_replaces_the_contact() -> None:
    tenant = in_follow_up()
    tenant = tenants.evolve(
        tenant, tenants.assign_responsibility(tenant, Service.NAV, uuid.uuid4(), meta())
    )
    tenant = tenants.evolve(
        tenant, tenants.assign_responsibility(tenant, Service.CARE, None, meta())
    )
    assert (tenant.responsible_service, tenant.contact_worker_id) == (Service.CARE, None)


def test_responsibility_cannot_be_assigned_after_follow_up_ended() -> None:
    with pytest.raises(IllegalStateChange) as error:
        tenants.assign_responsibility(follow_up_ended(), Service.NAV, None, meta())
    assert_refused(error, "tenant_id", "follow_up_active")


# --- ending follow-up -----------------------------------------------------------------


def test_ending_follow_up_records_the_day_and_keeps_the_agreement() -> None:
    tenant = in_follow_up()
    event = tenants.end_follow_up(tenant, date(2026, 4, 1), " moved away ", meta())

    after = tenants.evolve(tenant, event)
    assert event.reason == "moved away"
    assert after.follow_up == FollowUp(14, STARTED, ended_on=date(2026, 4, 1))
    assert not after.in_active_follow_up


def test_follow_up_can_end_on_the_day_it_started() -> None:
    event = tenants.end_follow_up(in_follow_up(), STARTED, "never moved in", meta())
    assert event.ended_on == STARTED


def test_follow_up_that_never_started_cannot_end() -> None:
    with pytest.raises(IllegalStateChange) as error:
        tenants.end_follow_up(registered(), date(2026, 4, 1), "moved away", meta())
    assert_refused(error, "tenant_id", "follow_up_active")


def test_follow_up_cannot_end_twice() -> None:
    with pytest.raises(IllegalStateChange) as error:
        tenants.end_follow_up(follow_up_ended(), date(2026, 4, 2), "again", meta())
    assert_refused(error, "tenant_id", "follow_up_active")


def test_follow_up_cannot_end_before_it_started() -> None:
    with pytest.raises(InvalidValue) as error:
        tenants.end_follow_up(in_follow_up(), STARTED - timedelta(days=1), "moved", meta())
    assert_refused(error, "ended_on", "not_before_start")


def test_ending_needs_a_reason() -> None:
    with pytest.raises(InvalidValue) as error:
        tenants.end_follow_up(in_follow_up(), date(2026, 4, 1), "   ", meta())
    assert_refused(error, "reason", "not_blank")


# --- replaying --------------------------------------------------------------------------


def test_replay_of_nothing_is_no_tenant() -> None:
    assert tenants.replay([]) is None


def test_replay_rebuilds_state_and_version_from_the_whole_history() -> None:
    tenant_id = uuid.uuid4()
    contact = uuid.uuid4()
    history: list[tenants.TenantEvent] = [tenants.register(tenant_id, "Kari", None, meta())]
    steps = [
        lambda t: tenants.start_follow_up(t, 30, STARTED, meta()),
        lambda t: tenants.assign_responsibility(t, Service.NAV, contact, meta()),
        lambda t: tenants.end_follow_up(t, date(2026, 6, 1), "moved", meta()),
    ]
    for step in steps:
        current = tenants.replay(history)
        assert current is not None
        history.append(step(current))

    assert [e.originator_version for e in history] == [1, 2, 3, 4]
    assert tenants.replay(history) == Tenant(
        id=tenant_id,
        version=4,
        full_name="Kari",
        birth_date=None,
        follow_up=FollowUp(30, STARTED, ended_on=date(2026, 6, 1)),
        responsible_service=Service.NAV,
        contact_worker_id=contact,
    )


def test_an_event_before_registration_cannot_be_replayed() -> None:
    event = tenants.start_follow_up(registered(), 14, STARTED, meta())
    with pytest.raises(ValueError, match="before TenantRegistered"):
        tenants.evolve(None, event)


# --- provenance (event_meta) -------------------------------------------------------------


def test_without_occurred_at_the_event_happened_when_recorded() -> None:
    stamped = event_meta(ACTOR, None, NOW)
    assert stamped == EventMeta(actor=ACTOR, occurred_at=NOW, recorded_at=NOW)


def test_an_event_from_the_past_keeps_its_field_time_and_offset() -> None:
    oslo = timezone(timedelta(hours=1))
    earlier = datetime(2026, 3, 5, 9, 0, tzinfo=oslo)
    stamped = event_meta(ACTOR, earlier, NOW)
    assert stamped.occurred_at == earlier
    assert stamped.occurred_at.utcoffset() == timedelta(hours=1)
    assert stamped.recorded_at == NOW


def test_a_tablet_clock_up_to_five_minutes_ahead_is_tolerated() -> None:
    assert event_meta(ACTOR, NOW + MAX_CLOCK_SKEW, NOW).occurred_at == NOW + MAX_CLOCK_SKEW


@pytest.mark.parametrize(
    "ahead", [MAX_CLOCK_SKEW + timedelta(microseconds=1), timedelta(minutes=6), timedelta(days=1)]
)
def test_occurred_at_more_than_five_minutes_ahead_is_refused(ahead: timedelta) -> None:
    with pytest.raises(InvalidValue) as error:
        event_meta(ACTOR, NOW + ahead, NOW)
    assert_refused(error, "occurred_at", "not_in_future")


def test_the_skew_is_measured_across_utc_offsets() -> None:
    # 16:36 in Oslo (+01:00) is 15:36 UTC: six minutes ahead of NOW, whatever it looks like.
    oslo = timezone(timedelta(hours=1))
    with pytest.raises(InvalidValue):
        event_meta(ACTOR, datetime(2026, 3, 6, 16, 36, tzinfo=oslo), NOW)
    # 16:34 in Oslo is 15:34 UTC: within the tolerance.
    assert event_meta(ACTOR, datetime(2026, 3, 6, 16, 34, tzinfo=oslo), NOW)


def test_occurred_at_without_utc_offset_is_refused() -> None:
    with pytest.raises(InvalidValue) as error:
        event_meta(ACTOR, datetime(2026, 3, 6, 15, 0), NOW)
    assert_refused(error, "occurred_at", "timezone_required")


def test_the_servers_now_must_carry_an_offset() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event_meta(ACTOR, None, datetime(2026, 3, 6, 15, 30))
