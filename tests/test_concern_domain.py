"""Concern (bekymringsmelding) rules: raised, routed, acknowledged by its service, resolved.

Pure domain code: no database, no clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain import concern as concerns
from domain.concern import (
    MAX_DESCRIPTION_LENGTH,
    Concern,
    ConcernCategory,
    ConcernOutcome,
    ConcernStatus,
    EscalationReason,
)
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import Actor, EventMeta, event_meta
from domain.municipal_services import Service

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
FBE = Actor(user_id=uuid.uuid4(), service=Service.PROPERTY_MANAGER)
OUTREACH = Actor(user_id=uuid.uuid4(), service=Service.OUTREACH_TEAM)
NAV = Actor(user_id=uuid.uuid4(), service=Service.NAV)
TENANT = uuid.uuid4()
DWELLING = uuid.uuid4()


def meta(actor: Actor = FBE, later: timedelta = timedelta(0)) -> EventMeta:
    return event_meta(actor, NOW - timedelta(days=1) + later, NOW)


def raised(category: ConcernCategory = ConcernCategory.HOARDING) -> Concern:
    event = concerns.raise_concern(
        uuid.uuid4(), TENANT, DWELLING, category, "Leiligheten er full av søppel", meta()
    )
    state = concerns.replay([event])
    assert state is not None
    return state


def routed(to: Service = Service.OUTREACH_TEAM) -> Concern:
    concern = raised()
    return concerns.evolve(concern, concerns.route(concern, to, meta()))


def acknowledged() -> Concern:
    concern = routed()
    return concerns.evolve(concern, concerns.acknowledge(concern, meta(OUTREACH)))


def resolved() -> Concern:
    concern = acknowledged()
    event = concerns.resolve(concern, ConcernOutcome.ACTION_TAKEN, "Ryddet sammen", meta(OUTREACH))
    return concerns.evolve(concern, event)


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


# --- raising ------------------------------------------------------------------------------


def test_a_raised_concern_names_the_raising_service_and_waits_for_routing() -> None:
    concern = raised()
    assert concern.raised_by is Service.PROPERTY_MANAGER
    assert concern.status is ConcernStatus.RAISED
    assert concern.routed_to is None
    assert concern.raised_at == NOW - timedelta(days=1)


def test_the_raiser_is_always_the_actors_service() -> None:
    event = concerns.raise_concern(
        uuid.uuid4(), TENANT, None, ConcernCategory.WELLBEING, "Bekymret", meta(NAV)
    )
    assert event.raised_by is Service.NAV


@pytest.mark.parametrize(
    ("tenant_id", "dwelling_id"), [(TENANT, None), (None, DWELLING), (TENANT, DWELLING)]
)
def test_a_concern_is_about_a_tenant_an_address_or_both(
    tenant_id: uuid.UUID | None, dwelling_id: uuid.UUID | None
) -> None:
    event = concerns.raise_concern(
        uuid.uuid4(), tenant_id, dwelling_id, ConcernCategory.FIRE_SAFETY, "Røykvarsler", meta()
    )
    assert (event.tenant_id, event.dwelling_id) == (tenant_id, dwelling_id)


def test_a_concern_about_nobody_and_nowhere_is_refused() -> None:
    with pytest.raises(InvalidValue) as error:
        concerns.raise_concern(uuid.uuid4(), None, None, ConcernCategory.OTHER, "x", meta())
    assert_refused(error, "tenant_id", "tenant_or_dwelling")


@pytest.mark.parametrize("description", ["", "   ", "\n\t"])
def test_a_concern_needs_a_description(description: str) -> None:
    with pytest.raises(InvalidValue) as error:
        concerns.raise_concern(
            uuid.uuid4(), TENANT, None, ConcernCategory.DAMAGE, description, meta()
        )
    assert_refused(error, "description", "not_blank")


def test_an_overlong_description_is_refused() -> None:
    text = "x" * (MAX_DESCRIPTION_LENGTH + 1)
    with pytest.raises(InvalidValue) as error:
        concerns.raise_concern(uuid.uuid4(), TENANT, None, ConcernCategory.DAMAGE, text, meta())
    assert_refused(error, "description", f"max_length_{MAX_DESCRIPTION_LENGTH}")


def test_an_unknown_concern_is_reported_by_id() -> None:
    with pytest.raises(UnknownAggregate) as error:
        concerns.require(None, uuid.uuid4())
    assert_refused(error, "concern_id", "must_exist")


# --- routing and acknowledging -----------------------------------------------------------


def test_routing_names_the_responsible_service() -> None:
    concern = routed(Service.OUTREACH_TEAM)
    assert (concern.status, concern.routed_to) == (ConcernStatus.ROUTED, Service.OUTREACH_TEAM)


def test_a_concern_is_routed_before_it_is_acknowledged() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.acknowledge(raised(), meta(OUTREACH))
    assert_refused(error, "concern_id", "route_before_acknowledge")


def test_only_the_service_it_is_routed_to_acknowledges() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.acknowledge(routed(Service.OUTREACH_TEAM), meta(NAV))
    assert_refused(error, "service", "routed_service_only")


def test_the_routed_service_acknowledges() -> None:
    concern = acknowledged()
    assert concern.status is ConcernStatus.ACKNOWLEDGED
    assert concern.acknowledged_at is not None


def test_a_concern_is_acknowledged_once() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.acknowledge(acknowledged(), meta(OUTREACH))
    assert_refused(error, "concern_id", "not_acknowledged")


def test_routing_to_the_service_it_already_has_is_refused() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.route(routed(Service.NAV), Service.NAV, meta())
    assert_refused(error, "to_service", "different_service")


def test_rerouting_waits_for_the_new_service_to_acknowledge() -> None:
    concern = acknowledged()
    concern = concerns.evolve(concern, concerns.route(concern, Service.NAV, meta()))
    assert (concern.status, concern.routed_to, concern.acknowledged_at) == (
        ConcernStatus.ROUTED,
        Service.NAV,
        None,
    )
    with pytest.raises(IllegalStateChange):
        concerns.acknowledge(concern, meta(OUTREACH))


# --- resolving and escalating --------------------------------------------------------------


def test_resolving_records_the_outcome() -> None:
    concern = resolved()
    assert concern.status is ConcernStatus.RESOLVED
    assert (concern.outcome, concern.outcome_text) == (ConcernOutcome.ACTION_TAKEN, "Ryddet sammen")


def test_a_concern_cannot_be_resolved_twice() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.resolve(resolved(), ConcernOutcome.WITHDRAWN, "again", meta())
    assert_refused(error, "concern_id", "unresolved")


def test_a_resolution_needs_an_outcome_text() -> None:
    with pytest.raises(InvalidValue) as error:
        concerns.resolve(acknowledged(), ConcernOutcome.NO_ACTION_NEEDED, " ", meta(OUTREACH))
    assert_refused(error, "outcome_text", "not_blank")


def test_a_resolved_concern_is_routed_nowhere_else() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.route(resolved(), Service.NAV, meta())
    assert_refused(error, "concern_id", "unresolved")


def test_escalation_counts_and_keeps_the_status() -> None:
    concern = routed()
    for _ in range(2):
        concern = concerns.evolve(
            concern, concerns.escalate(concern, EscalationReason.NOT_ACKNOWLEDGED, None, meta())
        )
    assert concern.escalations == 2
    assert (concern.status, concern.routed_to) == (ConcernStatus.ROUTED, Service.OUTREACH_TEAM)


def test_escalating_to_another_service_routes_it_there() -> None:
    concern = acknowledged()
    event = concerns.escalate(concern, EscalationReason.NOT_ACTED_ON, Service.CARE, meta())
    after = concerns.evolve(concern, event)
    assert (after.status, after.routed_to, after.acknowledged_at) == (
        ConcernStatus.ROUTED,
        Service.CARE,
        None,
    )


def test_an_unrouted_concern_can_be_escalated() -> None:
    event = concerns.escalate(raised(), EscalationReason.SITUATION_WORSENED, Service.NAV, meta())
    assert event.to_service is Service.NAV


def test_a_resolved_concern_cannot_be_escalated() -> None:
    with pytest.raises(IllegalStateChange) as error:
        concerns.escalate(resolved(), EscalationReason.OTHER, None, meta())
    assert_refused(error, "concern_id", "unresolved")


def test_every_event_carries_the_tenant_and_category_for_the_boards() -> None:
    concern = raised(ConcernCategory.NEIGHBOUR_CONFLICT)
    event = concerns.route(concern, Service.NAV, meta())
    assert (event.tenant_id, event.category) == (TENANT, ConcernCategory.NEIGHBOUR_CONFLICT)


def test_replay_rebuilds_the_whole_lifecycle() -> None:
    concern_id = uuid.uuid4()
    history: list[concerns.ConcernEvents] = [
        concerns.raise_concern(
            concern_id, None, DWELLING, ConcernCategory.DAMAGE, "Vannlekkasje", meta()
        )
    ]
    steps = [
        lambda c: concerns.route(c, Service.OUTREACH_TEAM, meta()),
        lambda c: concerns.acknowledge(c, meta(OUTREACH)),
        lambda c: concerns.resolve(c, ConcernOutcome.ACTION_TAKEN, "Rørlegger kom", meta(OUTREACH)),
    ]
    for step in steps:
        current = concerns.replay(history)
        assert current is not None
        history.append(step(current))
    final = concerns.replay(history)
    assert final is not None
    assert [e.originator_version for e in history] == [1, 2, 3, 4]
    assert (final.version, final.status, final.tenant_id) == (4, ConcernStatus.RESOLVED, None)
