"""Dwellings, address safety flags, leases, and the safety rules on visits.

Pure domain code: no database, no clock. Every test chooses its own ``now``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import msgspec
import pytest
from eventsourcing.utils import get_topic

from domain import dwelling as dwellings
from domain import lease as leases
from domain import tenant as tenants
from domain import visit as visits
from domain.codec import decode_event, encode_state
from domain.dwelling import (
    Dwelling,
    DwellingOwner,
    SafetyFlag,
    SafetyFlagKind,
    SafetyFlagReason,
)
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import Actor, EventMeta, event_meta
from domain.lease import Lease, LeaseEndReason
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_events import TenantMovedIn, TenantMovedOut
from domain.visit import FailureReason, Observations, Visit, VisitLocation, Wellbeing

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
OSLO = timezone(timedelta(hours=1))
PLANNED_FOR = datetime(2026, 3, 7, 10, 0, tzinfo=OSLO)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECOND_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
OUTREACH = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)
FBE = Actor(user_id=uuid.uuid4(), service=Service.PROPERTY_MANAGER)
IN_THREE_MONTHS = date(2026, 6, 6)

TWO_PERSON = SafetyFlagKind.TWO_PERSON
NO_ENTRY = SafetyFlagKind.NO_ENTRY
THREATS = SafetyFlagReason.THREATS_VIOLENCE
DOG = SafetyFlagReason.AGGRESSIVE_ANIMAL


def meta(actor: Actor = OUTREACH, occurred_at: datetime | None = None) -> EventMeta:
    return event_meta(actor, occurred_at, NOW)


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


def registered_dwelling(owner: DwellingOwner = DwellingOwner.MUNICIPAL) -> Dwelling:
    event = dwellings.register(uuid.uuid4(), "Strandgata 12", "H0201", "6900", owner, meta(FBE))
    state = dwellings.replay([event])
    assert state is not None
    return state


def flagged(kind: SafetyFlagKind = TWO_PERSON, reason: SafetyFlagReason = THREATS) -> Dwelling:
    dwelling = registered_dwelling()
    event = dwellings.set_flag(dwelling, kind, reason, IN_THREE_MONTHS, meta(FBE))
    return dwellings.evolve(dwelling, event)


def tenant_in_follow_up() -> Tenant:
    state = tenants.replay([tenants.register(uuid.uuid4(), "Ola", None, meta())])
    assert state is not None
    return tenants.evolve(state, tenants.start_follow_up(state, 14, date(2026, 3, 1), meta()))


def lease_of(dwelling: Dwelling, tenant: Tenant) -> tuple[Lease, Dwelling, Tenant]:
    started = leases.start(
        uuid.uuid4(), dwelling.id, tenant.id, date(2026, 3, 6), None, 6, meta(FBE)
    )
    let, moved_in = leases.move_in(started, dwelling, tenant)
    lease = leases.replay([started])
    assert lease is not None
    return lease, dwellings.evolve(dwelling, let), tenants.evolve(tenant, moved_in)


# --- dwellings ------------------------------------------------------------------------------


def test_a_dwelling_is_an_address_with_its_unit_and_owner() -> None:
    dwelling_id = uuid.uuid4()
    event = dwellings.register(
        dwelling_id, "  Strandgata 12 ", "H0201", "6900", DwellingOwner.SUBLET_PRIVATE, meta(FBE)
    )
    assert dwellings.replay([event]) == Dwelling(
        id=dwelling_id,
        version=1,
        address="Strandgata 12",
        unit="H0201",
        postcode="6900",
        owner=DwellingOwner.SUBLET_PRIVATE,
    )


def test_a_house_needs_no_unit_or_postcode() -> None:
    event = dwellings.register(
        uuid.uuid4(), "Solbakken 3", None, None, DwellingOwner.MUNICIPAL, meta(FBE)
    )
    assert (event.unit, event.postcode) == (None, None)


@pytest.mark.parametrize(
    ("address", "unit", "postcode", "field", "rule"),
    [
        ("   ", None, None, "address", "not_blank"),
        ("Strandgata 12", " ", None, "unit", "not_blank"),
        ("Strandgata 12", None, "690", "postcode", "four_digits"),
        ("Strandgata 12", None, "69O0", "postcode", "four_digits"),
    ],
    ids=["blank-address", "blank-unit", "short-postcode", "letter-in-postcode"],
)
def test_a_dwelling_needs_a_real_address(
    address: str, unit: str | None, postcode: str | None, field: str, rule: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.register(uuid.uuid4(), address, unit, postcode, DwellingOwner.MUNICIPAL, meta())
    assert_refused(error, field, rule)


def test_an_unknown_dwelling_is_reported_by_id() -> None:
    with pytest.raises(UnknownAggregate) as error:
        dwellings.require(None, uuid.uuid4())
    assert_refused(error, "dwelling_id", "must_exist")


# --- safety flags ---------------------------------------------------------------------------


def test_a_flag_records_kind_reason_who_set_it_when_and_the_review_date() -> None:
    dwelling = registered_dwelling()
    set_at = datetime(2026, 3, 6, 9, 0, tzinfo=OSLO)
    event = dwellings.set_flag(dwelling, TWO_PERSON, THREATS, IN_THREE_MONTHS, meta(FBE, set_at))

    assert dwellings.evolve(dwelling, event).safety_flag == SafetyFlag(
        kind=TWO_PERSON, reason=THREATS, set_by=FBE, set_at=set_at, review_on=IN_THREE_MONTHS
    )


def test_a_flag_reviewed_today_is_accepted() -> None:
    event = dwellings.set_flag(registered_dwelling(), NO_ENTRY, DOG, TODAY, meta())
    assert event.review_on == TODAY


def test_a_flag_cannot_be_set_with_a_review_date_in_the_past() -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.set_flag(
            registered_dwelling(), TWO_PERSON, THREATS, TODAY - timedelta(days=1), meta()
        )
    assert_refused(error, "review_on", "not_in_past")


def test_a_flagged_address_cannot_get_a_second_flag() -> None:
    with pytest.raises(IllegalStateChange) as error:
        dwellings.set_flag(flagged(), NO_ENTRY, THREATS, IN_THREE_MONTHS, meta())
    assert_refused(error, "dwelling_id", "no_active_safety_flag")


def test_a_changed_flag_keeps_who_set_it_and_records_who_changed_it() -> None:
    dwelling = flagged(TWO_PERSON, DOG)
    event = dwellings.change_flag(dwelling, NO_ENTRY, THREATS, date(2026, 4, 1), meta(OUTREACH))
    flag = dwellings.evolve(dwelling, event).safety_flag

    assert flag is not None
    assert (flag.kind, flag.reason, flag.review_on) == (NO_ENTRY, THREATS, date(2026, 4, 1))
    assert (flag.set_by, flag.changed_by, flag.changed_at) == (FBE, OUTREACH, NOW)


def test_a_change_must_change_something() -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.change_flag(
            flagged(TWO_PERSON, THREATS), TWO_PERSON, THREATS, IN_THREE_MONTHS, meta()
        )
    assert_refused(error, "kind", "changes_something")


def test_a_change_cannot_set_a_review_date_in_the_past() -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.change_flag(flagged(), NO_ENTRY, THREATS, TODAY - timedelta(days=1), meta())
    assert_refused(error, "review_on", "not_in_past")


def test_a_reviewed_flag_is_kept_until_the_next_review() -> None:
    dwelling = flagged()
    event = dwellings.review_flag(dwelling, date(2026, 9, 1), meta(OUTREACH))
    flag = dwellings.evolve(dwelling, event).safety_flag

    assert flag is not None
    assert (flag.kind, flag.review_on) == (TWO_PERSON, date(2026, 9, 1))
    assert (flag.reviewed_by, flag.reviewed_at) == (OUTREACH, NOW)


def test_a_review_cannot_set_the_next_review_in_the_past() -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.review_flag(flagged(), TODAY - timedelta(days=1), meta())
    assert_refused(error, "review_on", "not_in_past")


def test_a_lifted_flag_is_gone_and_the_address_can_be_flagged_again() -> None:
    dwelling = flagged()
    lifted = dwellings.evolve(dwelling, dwellings.lift_flag(dwelling, " Dog rehomed ", meta()))
    assert lifted.safety_flag is None

    again = dwellings.set_flag(lifted, NO_ENTRY, DOG, IN_THREE_MONTHS, meta())
    assert again.originator_version == lifted.version + 1


def test_lifting_needs_a_reason() -> None:
    with pytest.raises(InvalidValue) as error:
        dwellings.lift_flag(flagged(), "  ", meta())
    assert_refused(error, "reason", "not_blank")


@pytest.mark.parametrize("command", ["change", "review", "lift"])
def test_without_an_active_flag_there_is_nothing_to_change_review_or_lift(command: str) -> None:
    dwelling = registered_dwelling()
    with pytest.raises(IllegalStateChange) as error:
        if command == "change":
            dwellings.change_flag(dwelling, NO_ENTRY, DOG, IN_THREE_MONTHS, meta())
        elif command == "review":
            dwellings.review_flag(dwelling, IN_THREE_MONTHS, meta())
        else:
            dwellings.lift_flag(dwelling, "no longer needed", meta())
    assert_refused(error, "dwelling_id", "safety_flag_active")


def test_a_flag_event_before_registration_cannot_be_replayed() -> None:
    event = dwellings.lift_flag(flagged(), "no longer needed", meta())
    with pytest.raises(ValueError, match="before DwellingRegistered"):
        dwellings.evolve(None, event)


# --- leases -----------------------------------------------------------------------------------


def test_a_six_month_lease_runs_to_the_day_before_the_same_date_six_months_later() -> None:
    event = leases.start(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), date(2026, 3, 1), None, 6, meta()
    )
    assert (event.term_months, event.ends_on) == (6, date(2026, 8, 31))


@pytest.mark.parametrize(
    ("starts_on", "term_months", "ends_on"),
    [
        (date(2026, 3, 6), 6, date(2026, 9, 5)),
        (date(2026, 8, 31), 6, date(2027, 2, 27)),
        (date(2026, 11, 15), 3, date(2027, 2, 14)),
        (date(2026, 1, 1), 12, date(2026, 12, 31)),
    ],
)
def test_the_end_of_a_term(starts_on: date, term_months: int, ends_on: date) -> None:
    assert leases.term_end(starts_on, term_months) == ends_on


def test_a_lease_with_term_and_end_date_must_agree() -> None:
    with pytest.raises(InvalidValue) as error:
        leases.start(
            uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), date(2026, 3, 1), date(2026, 9, 30), 6, meta()
        )
    assert_refused(error, "ends_on", "matches_term_months")


def test_an_open_ended_lease_has_no_end_date() -> None:
    event = leases.start(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), date(2026, 3, 1), None, None, meta()
    )
    assert (event.ends_on, event.term_months) == (None, None)


def test_a_lease_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidValue) as error:
        leases.start(
            uuid.uuid4(),
            uuid.uuid4(),
            uuid.uuid4(),
            date(2026, 3, 1),
            date(2026, 3, 1),
            None,
            meta(),
        )
    assert_refused(error, "ends_on", "after_start")


@pytest.mark.parametrize("term_months", [0, 121])
def test_a_term_is_between_one_month_and_ten_years(term_months: int) -> None:
    with pytest.raises(InvalidValue) as error:
        leases.start(
            uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), date(2026, 3, 1), None, term_months, meta()
        )
    assert_refused(error, "term_months", "range_1_120")


def test_starting_a_lease_lets_the_dwelling_and_moves_the_tenant_in() -> None:
    dwelling, tenant = registered_dwelling(), tenant_in_follow_up()
    lease, let_dwelling, moved_tenant = lease_of(dwelling, tenant)

    assert (let_dwelling.active_lease_id, let_dwelling.tenant_id) == (lease.id, tenant.id)
    assert (moved_tenant.dwelling_id, moved_tenant.lease_id) == (dwelling.id, lease.id)
    assert lease.is_active and lease.term_months == 6


def test_a_let_dwelling_cannot_be_let_again() -> None:
    _, let_dwelling, _ = lease_of(registered_dwelling(), tenant_in_follow_up())
    other = tenant_in_follow_up()
    started = leases.start(uuid.uuid4(), let_dwelling.id, other.id, TODAY, None, None, meta())
    with pytest.raises(IllegalStateChange) as error:
        leases.move_in(started, let_dwelling, other)
    assert_refused(error, "dwelling_id", "not_let")


def test_a_tenant_living_elsewhere_cannot_start_another_lease() -> None:
    _, _, tenant = lease_of(registered_dwelling(), tenant_in_follow_up())
    elsewhere = registered_dwelling()
    started = leases.start(uuid.uuid4(), elsewhere.id, tenant.id, TODAY, None, None, meta())
    with pytest.raises(IllegalStateChange) as error:
        leases.move_in(started, elsewhere, tenant)
    assert_refused(error, "tenant_id", "not_living_elsewhere")


def test_ending_a_lease_vacates_the_dwelling_and_moves_the_tenant_out() -> None:
    lease, dwelling, tenant = lease_of(registered_dwelling(), tenant_in_follow_up())
    ended = leases.end(lease, date(2026, 9, 5), LeaseEndReason.EXPIRED, meta(FBE))
    vacated, *moved_out = leases.move_out(ended, dwelling, tenant)

    assert leases.evolve(lease, ended).end_reason is LeaseEndReason.EXPIRED
    assert not leases.evolve(lease, ended).is_active
    assert dwellings.evolve(dwelling, vacated).active_lease_id is None
    assert len(moved_out) == 1 and isinstance(moved_out[0], TenantMovedOut)
    assert tenants.evolve(tenant, moved_out[0]).dwelling_id is None


def test_a_tenant_keeps_every_lease_they_lived_under_oldest_first() -> None:
    first, dwelling, tenant = lease_of(registered_dwelling(), tenant_in_follow_up())
    ended = leases.end(first, date(2026, 9, 5), LeaseEndReason.TRANSFERRED, meta(FBE))
    _, moved_out = leases.move_out(ended, dwelling, tenant)
    tenant = tenants.evolve(tenant, moved_out)
    assert (tenant.lease_id, tenant.lease_ids) == (None, (first.id,))

    second, _, tenant = lease_of(registered_dwelling(), tenant)

    assert (tenant.lease_id, tenant.lease_ids) == (second.id, (first.id, second.id))


def test_ending_a_lease_of_a_tenant_who_already_moved_out_only_vacates() -> None:
    lease, dwelling, tenant = lease_of(registered_dwelling(), tenant_in_follow_up())
    gone = tenants.evolve(tenant, tenants.move_out(tenant, date(2026, 4, 1), meta()))
    ended = leases.end(lease, date(2026, 4, 30), LeaseEndReason.TERMINATED_BY_TENANT, meta())
    assert [type(e).__name__ for e in leases.move_out(ended, dwelling, gone)] == ["DwellingVacated"]


def test_a_lease_cannot_end_twice() -> None:
    lease, _, _ = lease_of(registered_dwelling(), tenant_in_follow_up())
    ended = leases.evolve(lease, leases.end(lease, TODAY, LeaseEndReason.EVICTION, meta()))
    with pytest.raises(IllegalStateChange) as error:
        leases.end(ended, TODAY, LeaseEndReason.EVICTION, meta())
    assert_refused(error, "lease_id", "lease_active")


def test_a_lease_cannot_end_before_it_started() -> None:
    lease, _, _ = lease_of(registered_dwelling(), tenant_in_follow_up())
    with pytest.raises(InvalidValue) as error:
        leases.end(lease, lease.starts_on - timedelta(days=1), LeaseEndReason.OTHER, meta())
    assert_refused(error, "ended_on", "not_before_start")


def test_moving_in_events_name_the_lease_and_dwelling() -> None:
    dwelling, tenant = registered_dwelling(), tenant_in_follow_up()
    started = leases.start(uuid.uuid4(), dwelling.id, tenant.id, TODAY, None, None, meta())
    _, moved_in = leases.move_in(started, dwelling, tenant)
    assert isinstance(moved_in, TenantMovedIn)
    assert (moved_in.dwelling_id, moved_in.lease_id, moved_in.moved_in_on) == (
        dwelling.id,
        started.originator_id,
        TODAY,
    )


def test_an_unknown_lease_is_reported_by_id() -> None:
    with pytest.raises(UnknownAggregate) as error:
        leases.require(None, uuid.uuid4())
    assert_refused(error, "lease_id", "must_exist")


# --- visits under a safety flag ---------------------------------------------------------------


def flag(kind: SafetyFlagKind) -> SafetyFlag:
    state = flagged(kind).safety_flag
    assert state is not None
    return state


def planned(
    tenant: Tenant,
    workers: list[uuid.UUID],
    location: VisitLocation = VisitLocation.HOME,
) -> Visit:
    event = visits.plan(uuid.uuid4(), tenant, PLANNED_FOR, workers, meta(), location=location)
    state = visits.replay([event])
    assert state is not None
    return state


def test_one_worker_cannot_plan_a_visit_to_a_two_person_address() -> None:
    with pytest.raises(InvalidValue) as error:
        visits.plan(
            uuid.uuid4(),
            tenant_in_follow_up(),
            PLANNED_FOR,
            [WORKER],
            meta(),
            safety_flag=flag(TWO_PERSON),
        )
    assert_refused(error, "worker_ids", "two_person_address")
    assert "two-person" in error.value.detail


def test_two_workers_may_plan_a_visit_to_a_two_person_address() -> None:
    event = visits.plan(
        uuid.uuid4(),
        tenant_in_follow_up(),
        PLANNED_FOR,
        [WORKER, SECOND_WORKER],
        meta(),
        safety_flag=flag(TWO_PERSON),
    )
    assert event.worker_ids == (WORKER, SECOND_WORKER)


def test_the_two_person_rule_holds_for_a_meeting_elsewhere_too() -> None:
    with pytest.raises(InvalidValue) as error:
        visits.plan(
            uuid.uuid4(),
            tenant_in_follow_up(),
            PLANNED_FOR,
            [WORKER],
            meta(),
            location=VisitLocation.ELSEWHERE,
            safety_flag=flag(TWO_PERSON),
        )
    assert_refused(error, "worker_ids", "two_person_address")


def test_a_home_visit_cannot_be_planned_at_a_no_entry_address() -> None:
    with pytest.raises(InvalidValue) as error:
        visits.plan(
            uuid.uuid4(),
            tenant_in_follow_up(),
            PLANNED_FOR,
            [WORKER, SECOND_WORKER],
            meta(),
            safety_flag=flag(NO_ENTRY),
        )
    assert_refused(error, "location", "no_entry_address")


def test_a_meeting_elsewhere_may_be_planned_for_a_no_entry_address() -> None:
    event = visits.plan(
        uuid.uuid4(),
        tenant_in_follow_up(),
        PLANNED_FOR,
        [WORKER],
        meta(),
        location=VisitLocation.ELSEWHERE,
        safety_flag=flag(NO_ENTRY),
    )
    assert event.location is VisitLocation.ELSEWHERE
    assert visits.evolve(None, event).location is VisitLocation.ELSEWHERE


def test_a_visit_is_at_home_unless_said_otherwise() -> None:
    event = visits.plan(uuid.uuid4(), tenant_in_follow_up(), PLANNED_FOR, [WORKER], meta())
    assert event.location is VisitLocation.HOME


def test_one_worker_cannot_record_a_completed_visit_at_a_two_person_address() -> None:
    tenant = tenant_in_follow_up()
    with pytest.raises(InvalidValue) as error:
        visits.complete(
            planned(tenant, [WORKER, SECOND_WORKER]),
            tenant,
            [WORKER],
            Observations(wellbeing=Wellbeing.GOOD),
            meta(),
            safety_flag=flag(TWO_PERSON),
        )
    assert_refused(error, "worker_ids", "two_person_address")


def test_two_workers_may_record_a_completed_visit_at_a_two_person_address() -> None:
    tenant = tenant_in_follow_up()
    event = visits.complete(
        planned(tenant, [WORKER]),
        tenant,
        [WORKER, SECOND_WORKER],
        Observations(wellbeing=Wellbeing.GOOD),
        meta(),
        safety_flag=flag(TWO_PERSON),
    )
    assert event.review_reasons == ()


def test_one_worker_cannot_record_a_visit_that_failed_at_the_door_of_a_two_person_address() -> None:
    tenant = tenant_in_follow_up()
    with pytest.raises(InvalidValue) as error:
        visits.fail(
            planned(tenant, [WORKER]),
            tenant,
            [WORKER],
            FailureReason.NOT_AT_HOME,
            meta(),
            safety_flag=flag(TWO_PERSON),
        )
    assert_refused(error, "worker_ids", "two_person_address")


def test_a_home_visit_cannot_be_recorded_at_an_address_flagged_no_entry_since_planning() -> None:
    tenant = tenant_in_follow_up()
    with pytest.raises(IllegalStateChange) as error:
        visits.complete(
            planned(tenant, [WORKER, SECOND_WORKER]),
            tenant,
            [WORKER, SECOND_WORKER],
            Observations(wellbeing=Wellbeing.GOOD),
            meta(),
            safety_flag=flag(NO_ENTRY),
        )
    assert_refused(error, "location", "no_entry_address")


def test_a_visit_that_went_nowhere_can_always_be_cancelled() -> None:
    tenant = tenant_in_follow_up()
    visit = planned(tenant, [WORKER])
    event = visits.fail(
        visit, tenant, [WORKER], FailureReason.CANCELLED, meta(), safety_flag=flag(NO_ENTRY)
    )
    assert event.review_reasons == ()
    assert not visits.evolve(visit, event).needs_review


def test_an_offline_completion_that_broke_the_two_person_rule_is_kept_for_review() -> None:
    tenant = tenant_in_follow_up()
    visit = planned(tenant, [WORKER])
    event = visits.complete(
        visit,
        tenant,
        [WORKER],
        Observations(wellbeing=Wellbeing.POOR),
        meta(),
        safety_flag=flag(TWO_PERSON),
        recorded_offline=True,
    )
    after = visits.evolve(visit, event)

    assert event.review_reasons == ("two_person_address",)
    assert after.needs_review and after.review_reasons == ("two_person_address",)
    assert after.observations == Observations(wellbeing=Wellbeing.POOR)


def test_an_offline_failure_at_a_no_entry_home_is_kept_for_review() -> None:
    tenant = tenant_in_follow_up()
    visit = planned(tenant, [WORKER])
    event = visits.fail(
        visit,
        tenant,
        [WORKER],
        FailureReason.REFUSED_ENTRY,
        meta(),
        safety_flag=flag(NO_ENTRY),
        recorded_offline=True,
    )
    assert event.review_reasons == ("no_entry_address",)
    assert visits.evolve(visit, event).needs_review


def test_an_offline_visit_that_kept_the_rules_needs_no_review() -> None:
    tenant = tenant_in_follow_up()
    visit = planned(tenant, [WORKER, SECOND_WORKER])
    event = visits.complete(
        visit,
        tenant,
        [WORKER, SECOND_WORKER],
        Observations(wellbeing=Wellbeing.GOOD),
        meta(),
        safety_flag=flag(TWO_PERSON),
        recorded_offline=True,
    )
    assert not visits.evolve(visit, event).needs_review


def test_recording_offline_does_not_excuse_other_rules() -> None:
    tenant = tenant_in_follow_up()
    with pytest.raises(InvalidValue) as error:
        visits.complete(
            planned(tenant, [WORKER]),
            tenant,
            [WORKER, WORKER],
            Observations(wellbeing=Wellbeing.GOOD),
            meta(),
            recorded_offline=True,
        )
    assert_refused(error, "worker_ids", "unique")


def test_visits_recorded_before_the_safety_rules_still_decode() -> None:
    tenant = tenant_in_follow_up()
    old = visits.plan(uuid.uuid4(), tenant, PLANNED_FOR, [WORKER], meta())
    stored = msgspec.json.decode(encode_state(old))
    del stored["location"]
    event = decode_event(
        get_topic(visits.VisitPlanned), msgspec.json.encode(stored), old.originator_id, 1
    )
    assert isinstance(event, visits.VisitPlanned)
    assert event.location is VisitLocation.HOME
