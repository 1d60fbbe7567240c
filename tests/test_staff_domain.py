"""Who may be named in a command: the pure rules of domain/staff.py and the visit's use of them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import msgspec
import pytest

from domain import staff
from domain import tenant as tenants
from domain import visit as visits
from domain.dwelling import SafetyFlag, SafetyFlagKind, SafetyFlagReason
from domain.errors import InvalidValue
from domain.events import Actor, event_meta
from domain.municipal_services import Service
from domain.visit import Observations, Wellbeing

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
WORKER, PARTNER = uuid.uuid4(), uuid.uuid4()
META = event_meta(Actor(user_id=WORKER, service=Service.OUTREACH_TEAM), None, NOW)
FIELD_WORKER = staff.StaffMember(
    id=WORKER, service=Service.OUTREACH_TEAM, roles=frozenset({"field_worker"}), active=True
)


def member(**changes: object) -> staff.StaffMember:
    return msgspec.structs.replace(FIELD_WORKER, **changes)


@pytest.mark.parametrize(
    ("who", "visits_ok"),
    [
        (member(), True),
        (member(service=Service.CARE, roles=frozenset({"service_staff"})), True),
        (member(roles=frozenset({"team_lead"})), True),
        (member(active=False), False),
        (member(roles=frozenset({"admin"})), False),
        (member(service=Service.PROPERTY_MANAGER, roles=frozenset({"property_manager"})), False),
        (member(service=Service.NAV, roles=frozenset({"nav_officer"})), False),
        (member(service=Service.NAV, roles=frozenset({"team_lead"})), False),
        (None, False),
    ],
)
def test_who_may_make_a_follow_up_visit(who: staff.StaffMember | None, visits_ok: bool) -> None:
    assert staff.may_visit(who) is visits_ok


def test_a_contact_is_an_active_user_of_the_service_named() -> None:
    assert staff.may_act_for(member(), Service.OUTREACH_TEAM)
    assert not staff.may_act_for(member(), Service.CARE)
    assert not staff.may_act_for(member(active=False), Service.OUTREACH_TEAM)
    assert not staff.may_act_for(member(roles=frozenset({"admin"})), Service.OUTREACH_TEAM)
    nav = member(service=Service.NAV, roles=frozenset({"nav_officer"}))
    assert staff.may_act_for(nav, Service.NAV)
    with pytest.raises(InvalidValue) as refused:
        staff.require_worker_of(WORKER, Service.CARE, {WORKER: member()}, "contact_worker_id")
    assert (refused.value.field, refused.value.rule) == (
        "contact_worker_id",
        "active_user_of_service",
    )


def test_unknown_ids_are_not_visitors() -> None:
    assert staff.not_visitors([WORKER, PARTNER], {WORKER: member()}) == {PARTNER}


def _tenant_at_two_person_address() -> tuple[tenants.Tenant, SafetyFlag]:
    tenant = tenants.evolve(None, tenants.register(uuid.uuid4(), "Test", None, META))
    tenant = tenants.evolve(tenant, tenants.start_follow_up(tenant, 14, date(2026, 3, 1), META))
    flag = SafetyFlag(
        kind=SafetyFlagKind.TWO_PERSON,
        reason=SafetyFlagReason.OTHER,
        review_on=date(2026, 6, 1),
        set_by=Actor(user_id=WORKER, service=Service.PROPERTY_MANAGER),
        set_at=NOW,
    )
    return tenant, flag


def test_a_name_that_is_no_colleague_is_no_second_person_offline() -> None:
    tenant, flag = _tenant_at_two_person_address()
    planned = visits.plan(uuid.uuid4(), tenant, NOW, [WORKER, PARTNER], META)
    visit = visits.evolve(None, planned)
    completed = visits.complete(
        visit,
        tenant,
        [WORKER, PARTNER],
        Observations(wellbeing=Wellbeing.GOOD),
        META,
        safety_flag=flag,
        recorded_offline=True,
        not_visitors={PARTNER},
    )
    assert completed.review_reasons == ("known_follow_up_worker", "two_person_address")


def test_online_such_a_name_is_refused() -> None:
    tenant, flag = _tenant_at_two_person_address()
    with pytest.raises(InvalidValue) as refused:
        visits.plan(
            uuid.uuid4(),
            tenant,
            NOW,
            [WORKER, PARTNER],
            META,
            safety_flag=flag,
            not_visitors={PARTNER},
        )
    assert (refused.value.field, refused.value.rule) == ("worker_ids", "known_follow_up_worker")
