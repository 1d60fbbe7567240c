"""Handovers end to end: announce, answer, settle on the date, the gap, the scheduler.

Through the real app on real PostgreSQL. The app's scheduler is switched off here; the
tests run its tick function themselves, at the time they set on the app's clock.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.runtime import Runtime
from backend.scheduler import Scheduler, settle_due_handovers
from backend.settings import Settings
from projections.handovers import HandoverScheduleProjection
from tests.api import (
    OUTREACH,
    WORKER,
    assert_problem,
    head_position,
    post,
    tenant_in_follow_up,
    timeline,
)
from tests.conftest import Clock

PRISON = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "kriminalomsorgen"}
NAV = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "nav"}
CONTACT = str(WORKER)
MONDAY = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)  # 08:00 in Norway


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, run_scheduler=False)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        for who in (PRISON, NAV):
            test_client.enrol(who)
        yield test_client


def runtime(client: TestClient) -> Runtime:
    rt: Runtime = client.app.state.runtime
    return rt


def tick(client: TestClient) -> list[uuid.UUID]:
    """One scheduler tick, once the schedule has seen every event so far."""
    rt = runtime(client)

    async def run() -> list[uuid.UUID]:
        await rt.read_models.at(HandoverScheduleProjection.name, await head(rt))
        return await settle_due_handovers(rt)

    result: list[uuid.UUID] = client.blocking_portal.call(run)
    return result


async def head(rt: Runtime) -> int:
    async with rt.pool.acquire() as conn:
        return int(
            await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM folgja_events")
        )


def in_custody(client: TestClient) -> uuid.UUID:
    """A tenant in follow-up whom the correctional service is responsible for."""
    tenant_id = tenant_in_follow_up(client)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "kriminalomsorgen", "contact_worker_id": PRISON["x-folgja-user"]},
    )
    return tenant_id


def announce(
    client: TestClient,
    tenant_id: uuid.UUID,
    effective_on: str = "2026-03-09",
    *,
    to_service: str = "tiltaksteamet",
    handover_id: uuid.UUID | None = None,
    by: dict[str, str] | None = None,
) -> uuid.UUID:
    handover_id = handover_id or uuid.uuid4()
    body = announcement(handover_id, tenant_id, effective_on, to_service)
    if by is not None:
        body["from_service"] = by["x-folgja-service"]
    post(client, "/handovers", body, headers=by or PRISON)
    return handover_id


def announcement(
    handover_id: uuid.UUID, tenant_id: uuid.UUID, effective_on: str, to_service: str
) -> dict[str, Any]:
    return {
        "handover_id": str(handover_id),
        "tenant_id": str(tenant_id),
        "from_service": "kriminalomsorgen",
        "to_service": to_service,
        "kind": "release_from_prison",
        "effective_on": effective_on,
    }


def accept(client: TestClient, handover_id: uuid.UUID) -> Any:
    return post(
        client, f"/handovers/{handover_id}/acceptance", {"contact_worker_id": CONTACT}, OUTREACH
    )


def decline(client: TestClient, handover_id: uuid.UUID) -> Any:
    return post(
        client, f"/handovers/{handover_id}/declination", {"reason": "no capacity"}, OUTREACH
    )


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def event_types(client: TestClient, tenant_id: uuid.UUID) -> list[str]:
    return [e["event_type"] for e in timeline(client, tenant_id, head_position(client))]


# --- the whole way through -----------------------------------------------------------


def test_an_accepted_handover_completes_on_its_date(client: TestClient, clock: Clock) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id, "2026-03-09")
    accept(client, handover_id)
    assert get(client, f"/handovers/{handover_id}")["status"] == "accepted"

    assert tick(client) == []  # Friday: not yet
    assert get(client, f"/tenants/{tenant_id}")["responsible_service"] == "kriminalomsorgen"

    clock.now = MONDAY
    assert tick(client) == [handover_id]

    handover = get(client, f"/handovers/{handover_id}")
    assert (handover["status"], handover["contact_worker_id"]) == ("completed", CONTACT)
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] == "tiltaksteamet"
    assert tenant["contact_worker_id"] == CONTACT
    assert tenant["responsibility_gap_since"] is None
    assert event_types(client, tenant_id)[-4:] == [
        "HandoverAnnounced",
        "HandoverAccepted",
        "HandoverCompleted",
        "ResponsibilityAssigned",
    ]


def test_a_declined_handover_leaves_a_visible_gap_until_a_service_takes_the_tenant(
    client: TestClient, clock: Clock
) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id, "2026-03-09")
    decline(client, handover_id)
    assert get(client, f"/handovers/{handover_id}")["status"] == "declined"
    assert tick(client) == []

    clock.now = MONDAY
    assert tick(client) == [handover_id]

    assert get(client, f"/handovers/{handover_id}")["lapse_reason"] == "declined"
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] is None
    assert tenant["contact_worker_id"] is None
    assert tenant["responsibility_gap_since"] == "2026-03-09T07:00:00Z"
    entries = timeline(client, tenant_id, head_position(client))
    assert [e["event_type"] for e in entries[-2:]] == ["HandoverLapsed", "ResponsibilityLapsed"]
    assert all("no capacity" not in e["summary"] for e in entries)  # the reason stays private

    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "nav", "contact_worker_id": NAV["x-folgja-user"]},
    )
    # Now NAV's follow-up staff see the tenant; the outreach team no longer does.
    nav_staff = {**NAV, "x-folgja-role": "service_staff"}
    response = client.get(f"/tenants/{tenant_id}", headers=nav_staff)
    assert response.status_code == 200, response.text
    tenant = response.json()
    assert (tenant["responsible_service"], tenant["responsibility_gap_since"]) == ("nav", None)
    assert client.get(f"/tenants/{tenant_id}").status_code == 404


def test_an_unanswered_handover_whose_date_passed_puts_the_tenant_in_the_gap(
    client: TestClient,
) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id, "2026-03-02")  # last Monday; nobody answered
    assert tick(client) == [handover_id]

    handover = get(client, f"/handovers/{handover_id}")
    assert (handover["status"], handover["lapse_reason"]) == ("lapsed", "not_accepted")
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] is None
    assert tenant["responsibility_gap_since"] is not None


def test_a_late_acceptance_of_a_lapsed_handover_ends_the_gap(client: TestClient) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id, "2026-03-02")
    tick(client)

    accept(client, handover_id)

    assert get(client, f"/handovers/{handover_id}")["status"] == "completed"
    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (
        "tiltaksteamet",
        CONTACT,
    )
    assert tenant["responsibility_gap_since"] is None


def test_released_on_a_friday_afternoon_without_notice(client: TestClient) -> None:
    """Scenario 1: announced the day he walks out; accepting completes it at once."""
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id, "2026-03-06")
    result = accept(client, handover_id)

    assert get(client, f"/handovers/{handover_id}")["status"] == "completed"
    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (
        "tiltaksteamet",
        CONTACT,
    )
    assert [e["event_type"] for e in timeline(client, tenant_id, result["position"])][-3:] == [
        "HandoverAccepted",
        "HandoverCompleted",
        "ResponsibilityAssigned",
    ]
    assert tick(client) == []


def test_a_handover_to_a_tenant_already_in_a_gap_lapses_without_a_second_lapse(
    client: TestClient,
) -> None:
    tenant_id = in_custody(client)
    first = announce(client, tenant_id, "2026-03-02")
    second = announce(client, tenant_id, "2026-03-03", to_service="nav")
    assert sorted(tick(client)) == sorted([first, second])
    assert event_types(client, tenant_id).count("ResponsibilityLapsed") == 1


# --- refusals ----------------------------------------------------------------------------


def test_only_the_receiving_service_may_answer(client: TestClient) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id)
    before = head_position(client)
    for path, body in (
        ("acceptance", {"contact_worker_id": CONTACT}),
        ("declination", {"reason": "not us"}),
    ):
        # The giving service is named in the handover, but does not answer it.
        response = client.post(f"/handovers/{handover_id}/{path}", json=body, headers=PRISON)
        assert_problem(response, 409, "service", "receiving_service_only")
        # NAV's officers answer NAV's notices, not handovers.
        response = client.post(f"/handovers/{handover_id}/{path}", json=body, headers=NAV)
        assert_problem(response, 403, "authorization", "role_required")
    assert head_position(client) == before
    assert get(client, f"/handovers/{handover_id}")["status"] == "announced"


def test_a_declined_handover_cannot_be_accepted(client: TestClient) -> None:
    handover_id = announce(client, in_custody(client))
    decline(client, handover_id)
    before = head_position(client)
    response = client.post(
        f"/handovers/{handover_id}/acceptance",
        json={"contact_worker_id": CONTACT},
        headers=OUTREACH,
    )
    assert_problem(response, 409, "handover_id", "awaiting_answer")
    assert head_position(client) == before


def test_announcing_is_checked(client: TestClient) -> None:
    tenant_id = in_custody(client)
    before = head_position(client)
    body = announcement(uuid.uuid4(), tenant_id, "2026-03-09", "kriminalomsorgen")
    response = client.post("/handovers", json=body, headers=PRISON)
    assert_problem(response, 422, "to_service", "differs_from_from_service")

    body = announcement(uuid.uuid4(), tenant_id, "2026-03-09", "tiltaksteamet")
    response = client.post("/handovers", json={**body, "kind": "holiday"}, headers=PRISON)
    assert_problem(response, 422, "kind", "allowed_values")
    response = client.post(
        "/handovers", json={**body, "effective_on": "09.03.2026"}, headers=PRISON
    )
    assert_problem(response, 422, "effective_on", "format")
    response = client.post(
        "/handovers", json={**body, "tenant_id": str(uuid.uuid4())}, headers=PRISON
    )
    assert_problem(response, 404, "tenant_id", "must_exist")
    assert head_position(client) == before


def test_answers_need_their_fields(client: TestClient) -> None:
    handover_id = announce(client, in_custody(client))
    response = client.post(f"/handovers/{handover_id}/acceptance", json={}, headers=OUTREACH)
    assert_problem(response, 422, "contact_worker_id", "required")
    response = client.post(
        f"/handovers/{handover_id}/declination", json={"reason": ""}, headers=OUTREACH
    )
    assert_problem(response, 422, "reason", "length")
    response = client.post(
        f"/handovers/{handover_id}/declination", json={"reason": "   "}, headers=OUTREACH
    )
    assert_problem(response, 422, "reason", "not_blank")


def test_an_unknown_handover_is_404(client: TestClient) -> None:
    missing = uuid.uuid4()
    assert_problem(client.get(f"/handovers/{missing}"), 404, "handover_id", "must_exist")
    response = client.post(
        f"/handovers/{missing}/acceptance", json={"contact_worker_id": CONTACT}, headers=OUTREACH
    )
    assert_problem(response, 404, "handover_id", "must_exist")


def test_announcing_is_retry_safe(client: TestClient) -> None:
    tenant_id = in_custody(client)
    handover_id = announce(client, tenant_id)
    before = head_position(client)
    again = post(
        client,
        "/handovers",
        announcement(handover_id, tenant_id, "2026-03-09", "tiltaksteamet"),
        PRISON,
    )
    assert again["id"] == str(handover_id)
    assert head_position(client) == before
    other = announcement(handover_id, tenant_id, "2026-03-10", "tiltaksteamet")
    assert_problem(
        client.post("/handovers", json=other, headers=PRISON), 409, "handover_id", "unique_id"
    )


# --- the handover history (projection) ---------------------------------------------------


def test_the_tenants_handover_history(client: TestClient) -> None:
    tenant_id = in_custody(client)
    other_tenant = in_custody(client)
    done = announce(client, tenant_id, "2026-03-06")
    accept(client, done)
    # The outreach team is responsible now: it announces the next handover.
    pending = announce(client, tenant_id, "2026-04-01", to_service="nav", by=OUTREACH)
    announce(client, other_tenant)

    rows = get(client, f"/tenants/{tenant_id}/handovers", min_position=head_position(client))

    assert [(r["handover_id"], r["status"], r["to_service"], r["effective_on"]) for r in rows] == [
        (str(done), "completed", "tiltaksteamet", "2026-03-06"),
        (str(pending), "announced", "nav", "2026-04-01"),
    ]
    assert rows[0]["kind"] == "release_from_prison"
    assert rows[0]["from_service"] == "kriminalomsorgen"
    assert_problem(client.get(f"/tenants/{uuid.uuid4()}/handovers"), 404, "tenant_id", "must_exist")
    assert get(client, f"/tenants/{tenant_in_follow_up(client)}/handovers") == []


# --- the scheduler -----------------------------------------------------------------------


def test_a_second_tick_changes_nothing(client: TestClient, clock: Clock) -> None:
    tenants = [in_custody(client) for _ in range(3)]
    handovers = [announce(client, t, "2026-03-09") for t in tenants]
    accept(client, handovers[0])
    decline(client, handovers[1])
    clock.now = MONDAY

    assert sorted(tick(client)) == sorted(handovers)
    position = head_position(client)
    assert tick(client) == []
    assert head_position(client) == position


def test_two_ticks_at_once_record_each_settlement_once(client: TestClient, clock: Clock) -> None:
    tenants = [in_custody(client) for _ in range(6)]
    handovers = [announce(client, t, "2026-03-09") for t in tenants]
    for handover_id in handovers[::2]:
        accept(client, handover_id)
    clock.now = MONDAY
    rt = runtime(client)

    async def two_ticks() -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        await rt.read_models.at(HandoverScheduleProjection.name, await head(rt))
        return await asyncio.gather(settle_due_handovers(rt), settle_due_handovers(rt))

    first, second = client.blocking_portal.call(two_ticks)

    assert sorted(first + second) == sorted(handovers)  # each settled by exactly one tick
    for n, tenant_id in enumerate(tenants):
        types = event_types(client, tenant_id)
        settled_as = "HandoverCompleted" if n % 2 == 0 else "HandoverLapsed"
        effect = "ResponsibilityAssigned" if n % 2 == 0 else "ResponsibilityLapsed"
        assert types.count(settled_as) == 1
        assert types.count(effect) == (2 if n % 2 == 0 else 1)  # (+ the custody assignment)


def test_only_one_scheduler_leads(client: TestClient, database: DatabaseUrl, clock: Clock) -> None:
    handover_id = announce(client, in_custody(client), "2026-03-09")
    clock.now = MONDAY
    rt = runtime(client)
    first, second = Scheduler(rt, database.url), Scheduler(rt, database.url)

    async def scenario() -> tuple[list[bool], bool]:
        await rt.read_models.at(HandoverScheduleProjection.name, await head(rt))
        led = await asyncio.gather(first.tick(), second.tick())
        leader, follower = (first, second) if led[0] else (second, first)
        await leader.stop()  # the leader's process ends: its session and lock go with it
        took_over = await follower.tick()
        await follower.stop()
        return list(led), took_over

    led, took_over = client.blocking_portal.call(scenario)

    assert sorted(led) == [False, True]
    assert took_over
    assert get(client, f"/handovers/{handover_id}")["status"] == "lapsed"


def test_the_server_starts_and_stops_its_scheduler(database: DatabaseUrl, clock: Clock) -> None:
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    with TestClient(app) as test_client:
        scheduler = runtime(test_client).scheduler
        assert scheduler is not None
        assert test_client.blocking_portal.call(scheduler.tick) is True
        assert scheduler.is_leader
    assert not scheduler.is_leader
