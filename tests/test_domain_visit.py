"""Visit rules: a visit is planned during active follow-up, then completed or failed once.

Pure domain code: no database, no clock. Every test chooses its own ``now``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain import tenant as tenants
from domain import visit as visits
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import Actor, EventMeta, event_meta
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.visit import (
    MAX_NOTE_LENGTH,
    FailureReason,
    Observations,
    Visit,
    VisitStatus,
    Wellbeing,
)

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))
PLANNED_FOR = datetime(2026, 3, 7, 10, 0, tzinfo=OSLO)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECOND_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
ACTOR = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)


def meta(occurred_at: datetime | None = None) -> EventMeta:
    return event_meta(ACTOR, occurred_at, NOW)


def registered() -> Tenant:
    state = tenants.replay([tenants.register(uuid.uuid4(), "Kari", None, meta())])
    assert state is not None
    return state


def in_follow_up() -> Tenant:
    tenant = registered()
    return tenants.evolve(tenant, tenants.start_follow_up(tenant, 14, date(2026, 3, 1), meta()))


def ended(tenant: Tenant) -> Tenant:
    return tenants.evolve(
        tenant, tenants.end_follow_up(tenant, date(2026, 3, 6), "moved away", meta())
    )


def planned(tenant: Tenant) -> Visit:
    state = visits.replay([visits.plan(uuid.uuid4(), tenant, PLANNED_FOR, [WORKER], meta())])
    assert state is not None
    return state


def completed(visit: Visit, tenant: Tenant) -> Visit:
    observations = Observations(wellbeing=Wellbeing.GOOD)
    return visits.evolve(visit, visits.complete(visit, tenant, [WORKER], observations, meta()))


def failed(visit: Visit, tenant: Tenant) -> Visit:
    event = visits.fail(visit, tenant, [WORKER], FailureReason.NOT_AT_HOME, meta())
    return visits.evolve(visit, event)


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


# --- planning ---------------------------------------------------------------------------


def test_a_planned_visit_belongs_to_the_tenant_and_lists_its_workers() -> None:
    tenant = in_follow_up()
    visit_id = uuid.uuid4()
    event = visits.plan(visit_id, tenant, PLANNED_FOR, [WORKER, SECOND_WORKER], meta())

    assert visits.replay([event]) == Visit(
        id=visit_id,
        version=1,
        tenant_id=tenant.id,
        planned_for=PLANNED_FOR,
        worker_ids=(WORKER, SECOND_WORKER),
        status=VisitStatus.PLANNED,
    )


def test_a_visit_cannot_be_planned_before_follow_up_started() -> None:
    with pytest.raises(IllegalStateChange) as error:
        visits.plan(uuid.uuid4(), registered(), PLANNED_FOR, [WORKER], meta())
    assert_refused(error, "tenant_id", "follow_up_active")


def test_a_visit_cannot_be_planned_after_follow_up_ended() -> None:
    with pytest.raises(IllegalStateChange) as error:
        visits.plan(uuid.uuid4(), ended(in_follow_up()), PLANNED_FOR, [WORKER], meta())
    assert_refused(error, "tenant_id", "follow_up_active")


def test_planned_for_needs_a_utc_offset() -> None:
    with pytest.raises(InvalidValue) as error:
        visits.plan(uuid.uuid4(), in_follow_up(), datetime(2026, 3, 7, 10), [WORKER], meta())
    assert_refused(error, "planned_for", "timezone_required")


@pytest.mark.parametrize(
    ("workers", "rule"),
    [
        ([], "at_least_one"),
        ([WORKER, WORKER], "unique"),
        ([WORKER, SECOND_WORKER, WORKER], "unique"),
        ([uuid.uuid4() for _ in range(5)], "at_most_4"),
    ],
    ids=["empty", "duplicate", "duplicate-among-others", "five"],
)
def test_the_worker_list_is_checked_when_planning(workers: list[uuid.UUID], rule: str) -> None:
    with pytest.raises(InvalidValue) as error:
        visits.plan(uuid.uuid4(), in_follow_up(), PLANNED_FOR, workers, meta())
    assert_refused(error, "worker_ids", rule)


def test_four_workers_may_go_on_one_visit() -> None:
    four = [uuid.uuid4() for _ in range(4)]
    event = visits.plan(uuid.uuid4(), in_follow_up(), PLANNED_FOR, four, meta())
    assert event.worker_ids == tuple(four)


def test_an_unknown_visit_is_reported_by_id() -> None:
    missing = uuid.uuid4()
    with pytest.raises(UnknownAggregate) as error:
        visits.require(None, missing)
    assert_refused(error, "visit_id", "must_exist")


# --- completing -----------------------------------------------------------------------------


def test_a_completed_visit_keeps_observations_workers_and_field_time() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    at_the_door = datetime(2026, 3, 6, 14, 55, tzinfo=OSLO)
    observations = Observations(wellbeing=Wellbeing.FAIR, note="Tidy flat; asked about NAV.")
    event = visits.complete(visit, tenant, [SECOND_WORKER, WORKER], observations, meta(at_the_door))

    after = visits.evolve(visit, event)
    assert event.tenant_id == tenant.id
    assert after.status is VisitStatus.COMPLETED
    assert after.version == 2
    assert after.worker_ids == (SECOND_WORKER, WORKER)
    assert after.observations == observations
    assert after.occurred_at == at_the_door
    assert after.failure_reason is None


def test_a_visit_cannot_be_completed_twice() -> None:
    tenant = in_follow_up()
    visit = completed(planned(tenant), tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.complete(visit, tenant, [WORKER], Observations(wellbeing=Wellbeing.GOOD), meta())
    assert_refused(error, "visit_id", "visit_planned")


def test_a_failed_visit_cannot_be_completed() -> None:
    tenant = in_follow_up()
    visit = failed(planned(tenant), tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.complete(visit, tenant, [WORKER], Observations(wellbeing=Wellbeing.GOOD), meta())
    assert_refused(error, "visit_id", "visit_planned")


def test_a_visit_cannot_be_completed_after_follow_up_ended() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.complete(
            visit, ended(tenant), [WORKER], Observations(wellbeing=Wellbeing.GOOD), meta()
        )
    assert_refused(error, "tenant_id", "follow_up_active")


def test_a_visit_recorded_offline_after_follow_up_ended_is_kept_for_review() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    event = visits.complete(
        visit,
        ended(tenant),
        [WORKER],
        Observations(wellbeing=Wellbeing.GOOD),
        meta(),
        recorded_offline=True,
    )
    assert event.review_reasons == ("follow_up_active",)
    assert visits.evolve(visit, event).needs_review


def test_reasons_found_outside_the_visit_count_only_offline() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    offline = visits.fail(
        visit,
        tenant,
        [WORKER],
        FailureReason.NOT_AT_HOME,
        meta(),
        recorded_offline=True,
        also_review=("outside_caseload",),
    )
    assert offline.review_reasons == ("outside_caseload",)
    online = visits.fail(
        visit, tenant, [WORKER], FailureReason.NOT_AT_HOME, meta(), also_review=("x",)
    )
    assert online.review_reasons == ()


def test_a_note_longer_than_10000_characters_is_refused() -> None:
    tenant = in_follow_up()
    too_long = Observations(wellbeing=Wellbeing.POOR, note="x" * (MAX_NOTE_LENGTH + 1))
    with pytest.raises(InvalidValue) as error:
        visits.complete(planned(tenant), tenant, [WORKER], too_long, meta())
    assert_refused(error, "observations.note", "max_length_10000")


def test_a_note_of_exactly_10000_characters_is_accepted() -> None:
    tenant = in_follow_up()
    longest = Observations(wellbeing=Wellbeing.POOR, note="x" * MAX_NOTE_LENGTH)
    event = visits.complete(planned(tenant), tenant, [WORKER], longest, meta())
    assert len(event.observations.note) == MAX_NOTE_LENGTH


@pytest.mark.parametrize(
    ("workers", "rule"),
    [
        ([], "at_least_one"),
        ([WORKER, WORKER], "unique"),
        ([uuid.uuid4() for _ in range(5)], "at_most_4"),
    ],
    ids=["empty", "duplicate", "five"],
)
def test_the_worker_list_is_checked_when_completing(workers: list[uuid.UUID], rule: str) -> None:
    tenant = in_follow_up()
    with pytest.raises(InvalidValue) as error:
        visits.complete(
            planned(tenant), tenant, workers, Observations(wellbeing=Wellbeing.GOOD), meta()
        )
    assert_refused(error, "worker_ids", rule)


# --- failing ------------------------------------------------------------------------------


def test_a_failed_visit_records_why() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    event = visits.fail(visit, tenant, [WORKER], FailureReason.REFUSED_ENTRY, meta())

    after = visits.evolve(visit, event)
    assert after.status is VisitStatus.FAILED
    assert after.failure_reason is FailureReason.REFUSED_ENTRY
    assert after.observations is None
    assert after.occurred_at == NOW


def test_a_completed_visit_cannot_fail() -> None:
    tenant = in_follow_up()
    visit = completed(planned(tenant), tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.fail(visit, tenant, [WORKER], FailureReason.CANCELLED, meta())
    assert_refused(error, "visit_id", "visit_planned")


def test_a_visit_cannot_fail_twice() -> None:
    tenant = in_follow_up()
    visit = failed(planned(tenant), tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.fail(visit, tenant, [WORKER], FailureReason.CANCELLED, meta())
    assert_refused(error, "visit_id", "visit_planned")


def test_a_visit_cannot_fail_after_follow_up_ended() -> None:
    tenant = in_follow_up()
    visit = planned(tenant)
    with pytest.raises(IllegalStateChange) as error:
        visits.fail(visit, ended(tenant), [WORKER], FailureReason.CANCELLED, meta())
    assert_refused(error, "tenant_id", "follow_up_active")


@pytest.mark.parametrize(
    ("workers", "rule"),
    [
        ([], "at_least_one"),
        ([WORKER, WORKER], "unique"),
        ([uuid.uuid4() for _ in range(5)], "at_most_4"),
    ],
    ids=["empty", "duplicate", "five"],
)
def test_the_worker_list_is_checked_when_failing(workers: list[uuid.UUID], rule: str) -> None:
    tenant = in_follow_up()
    with pytest.raises(InvalidValue) as error:
        visits.fail(planned(tenant), tenant, workers, FailureReason.NOT_AT_HOME, meta())
    assert_refused(error, "worker_ids", rule)


# --- replaying --------------------------------------------------------------------------------


def test_replay_of_nothing_is_no_visit() -> None:
    assert visits.replay([]) is None


def test_an_outcome_before_planning_cannot_be_replayed() -> None:
    tenant = in_follow_up()
    event = visits.fail(planned(tenant), tenant, [WORKER], FailureReason.CANCELLED, meta())
    with pytest.raises(ValueError, match="before VisitPlanned"):
        visits.evolve(None, event)
