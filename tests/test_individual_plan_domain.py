"""Individual plan rules: one active plan, the coordinator's service in the group."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from domain import individual_plan as plans
from domain import tenant as tenants
from domain.errors import IllegalStateChange, InvalidValue
from domain.events import Actor, EventMeta, event_meta
from domain.municipal_services import Service
from domain.tenant import Tenant

NOW = datetime(2026, 3, 6, 14, 30, tzinfo=UTC)
ACTOR = Actor(uuid.uuid4(), Service.COORDINATING_UNIT)
COORDINATOR = uuid.uuid4()
STARTED = date(2026, 3, 2)


def meta() -> EventMeta:
    return event_meta(ACTOR, None, NOW)


def tenant() -> Tenant:
    t = tenants.replay([tenants.register(uuid.uuid4(), "Test Beboer", None, meta())])
    assert t is not None
    return t


def with_plan(t: Tenant | None = None) -> Tenant:
    t = t or tenant()
    event = plans.start_plan(
        t, STARTED, COORDINATOR, Service.OUTREACH_TEAM, [Service.NAV, Service.NAV], meta()
    )
    return tenants.evolve(t, event)


def test_the_coordinators_service_leads_the_group_and_no_service_repeats() -> None:
    plan = with_plan().individual_plan
    assert plan is not None
    assert plan.coordinator_worker_id == COORDINATOR
    assert plan.group == (Service.OUTREACH_TEAM, Service.NAV)


def test_a_tenant_has_one_active_plan_at_a_time() -> None:
    with pytest.raises(IllegalStateChange) as refused:
        with_plan(with_plan())
    assert (refused.value.field, refused.value.rule) == ("tenant_id", "no_active_plan")


def test_a_new_plan_may_start_after_the_last_one_ended() -> None:
    t = with_plan()
    t = tenants.evolve(t, plans.end_plan(t, date(2026, 3, 5), meta()))
    plan = with_plan(t).individual_plan
    assert plan is not None and plan.ended_on is None


def test_changing_keeps_the_coordinators_service_in_the_group() -> None:
    t = with_plan()
    t = tenants.evolve(
        t, plans.change_plan(t, COORDINATOR, Service.MENTAL_HEALTH, [Service.NAV], meta())
    )
    assert t.individual_plan is not None
    assert t.individual_plan.group == (Service.MENTAL_HEALTH, Service.NAV)
    assert t.individual_plan.started_on == STARTED


def test_without_an_active_plan_nothing_changes_or_ends() -> None:
    t = tenant()
    with pytest.raises(IllegalStateChange) as change:
        plans.change_plan(t, COORDINATOR, Service.NAV, [], meta())
    assert change.value.rule == "active_plan"
    with pytest.raises(IllegalStateChange) as end:
        plans.end_plan(t, STARTED, meta())
    assert end.value.rule == "active_plan"


def test_a_plan_cannot_end_before_it_started() -> None:
    with pytest.raises(InvalidValue) as refused:
        plans.end_plan(with_plan(), date(2026, 3, 1), meta())
    assert (refused.value.field, refused.value.rule) == ("ended_on", "not_before_start")
