"""Every command and query through the real HTTP app, against a real PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.municipal_services import Service
from tests.api import (
    OUTREACH,
    PROBLEM_JSON,
    SECOND_WORKER,
    WORKER,
    assert_problem,
    head_position,
    planned_visit,
    post,
    tenant_in_follow_up,
    timeline,
)
from tests.conftest import Clock

NAV_USER = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
# A lead at NAV's follow-up, who takes on tenants (not a NAV officer reading notices).
NAV = {"x-folgja-user": str(NAV_USER), "x-folgja-service": "nav", "x-folgja-role": "team_lead"}


def register(client: TestClient, **body: Any) -> tuple[uuid.UUID, dict[str, Any]]:
    tenant_id = uuid.uuid4()
    result = post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Kari", **body})
    return tenant_id, result


def get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


# --- each command, and the state it leaves ---------------------------------------------------


def test_register_tenant(client: TestClient) -> None:
    tenant_id = uuid.uuid4()
    response = client.post(
        "/tenants",
        json={
            "tenant_id": str(tenant_id),
            "full_name": " Kari Nordmann ",
            "birth_date": "1980-05-17",
        },
        headers=OUTREACH,
    )

    assert response.status_code == 201, response.text
    assert response.json() == {"id": str(tenant_id), "position": 1}
    expected = {
        "id": str(tenant_id),
        "version": 1,
        "full_name": "Kari Nordmann",
        "birth_date": "1980-05-17",
        "follow_up": None,
        "responsible_service": None,
        "contact_worker_id": None,
    }
    tenant = get(client, f"/tenants/{tenant_id}")
    assert {key: tenant.get(key) for key in expected} == expected


def test_start_follow_up(client: TestClient) -> None:
    tenant_id, _ = register(client)
    result = post(
        client,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 14, "started_on": "2026-03-01"},
    )

    assert result == {"id": str(tenant_id), "position": 2}
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["version"] == 2
    assert tenant["follow_up"] == {
        "visit_interval_days": 14,
        "started_on": "2026-03-01",
        "ended_on": None,
    }


def test_assign_responsibility(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    contact = client.colleague()
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": str(contact)},
    )

    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (
        "tiltaksteamet",
        str(contact),
    )

    other = client.colleague(Service.CARE)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "omsorg", "contact_worker_id": str(other)},
    )
    # Now omsorg's staff see the tenant, and the outreach team no longer does.
    care = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
    response = client.get(f"/tenants/{tenant_id}", headers=care)
    assert response.status_code == 200, response.text
    tenant = response.json()
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == ("omsorg", str(other))
    assert client.get(f"/tenants/{tenant_id}").status_code == 404
    assert tenant["version"] == 4


def test_end_follow_up(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    result = post(
        client,
        f"/tenants/{tenant_id}/follow-up/end",
        {"ended_on": "2026-03-05", "reason": "Flyttet til egen bolig"},
    )

    assert result["id"] == str(tenant_id)
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["follow_up"]["ended_on"] == "2026-03-05"
    assert tenant["version"] == 3
    summaries = [e["summary"] for e in timeline(client, tenant_id, result["position"])]
    assert summaries[-1] == "Follow-up ended 2026-03-05"


def test_plan_visit(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = uuid.uuid4()
    result = post(
        client,
        f"/tenants/{tenant_id}/visits",
        {
            "visit_id": str(visit_id),
            "planned_for": "2026-03-07T10:00:00+01:00",
            "worker_ids": [str(WORKER), str(SECOND_WORKER)],
        },
    )

    assert result == {"id": str(visit_id), "position": 3}
    visit = get(client, f"/visits/{visit_id}")
    expected = {
        "id": str(visit_id),
        "version": 1,
        "tenant_id": str(tenant_id),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [str(WORKER), str(SECOND_WORKER)],
        "status": "planned",
        "occurred_at": None,
        "observations": None,
        "failure_reason": None,
    }
    assert {key: visit.get(key) for key in expected} == expected


def test_complete_visit(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    result = post(
        client,
        f"/visits/{visit_id}/completion",
        {
            "worker_ids": [str(SECOND_WORKER)],
            "observations": {"wellbeing": "poor", "note": "Lite mat i kjøleskapet."},
            "occurred_at": "2026-03-06T14:05:00+01:00",
        },
    )

    assert result == {"id": str(visit_id), "position": 4}
    visit = get(client, f"/visits/{visit_id}")
    assert visit["status"] == "completed"
    assert visit["version"] == 2
    assert visit["worker_ids"] == [str(SECOND_WORKER)]
    assert visit["observations"] == {"wellbeing": "poor", "note": "Lite mat i kjøleskapet."}
    assert visit["occurred_at"] == "2026-03-06T14:05:00+01:00"
    assert visit["failure_reason"] is None


def test_fail_visit(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    result = post(
        client,
        f"/visits/{visit_id}/failure",
        {"worker_ids": [str(WORKER)], "reason": "not_at_home"},
    )

    assert result == {"id": str(visit_id), "position": 4}
    visit = get(client, f"/visits/{visit_id}")
    assert (visit["status"], visit["failure_reason"]) == ("failed", "not_at_home")
    assert visit["observations"] is None
    entries = timeline(client, tenant_id, result["position"])
    assert entries[-1]["summary"] == "Visit failed: not at home"


def test_positions_are_one_gap_free_order_across_aggregates(client: TestClient) -> None:
    first, _ = register(client)
    second, _ = register(client)
    positions = [
        post(client, f"/tenants/{t}/follow-up", {"visit_interval_days": 7, "started_on": d})[
            "position"
        ]
        for t, d in ((first, "2026-03-01"), (second, "2026-03-02"))
    ]
    assert positions == [3, 4]
    assert head_position(client) == 4


# --- what the timeline says about each fact ----------------------------------------------------


def test_timeline_records_who_acted_for_which_service_and_when(
    client: TestClient, clock: Clock
) -> None:
    tenant_id, registered = register(client)
    clock.advance(minutes=10)
    result = post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {
            "service": "nav",
            "contact_worker_id": client.enrol(NAV),
            "occurred_at": "2026-03-06T12:00:00Z",
        },
        headers=NAV,
    )

    entries = timeline(client, tenant_id, result["position"], NAV)
    assert [e["position"] for e in entries] == [registered["position"], result["position"]]
    first, second = entries
    assert first["actor_user_id"] == str(WORKER)
    assert first["actor_service"] == "tiltaksteamet"
    assert first["occurred_at"] == first["recorded_at"] == "2026-03-06T15:30:00Z"
    assert second["event_type"] == "ResponsibilityAssigned"
    assert second["actor_user_id"] == str(NAV_USER)
    assert second["actor_service"] == "nav"
    assert second["occurred_at"] == "2026-03-06T12:00:00Z"
    assert second["recorded_at"] == "2026-03-06T15:40:00Z"
    assert second["summary"] == "Responsibility assigned to nav with a named contact"


def test_the_note_never_reaches_the_timeline(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    secret = "Fortrolig: nevnte rusmisbruk"
    result = post(
        client,
        f"/visits/{visit_id}/completion",
        {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "crisis", "note": secret}},
    )
    entries = timeline(client, tenant_id, result["position"])
    assert entries[-1]["summary"] == "Visit completed; wellbeing crisis"
    assert secret not in str(entries)


def test_timeline_pages_with_after_and_limit(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    last = post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": str(client.colleague())},
    )
    timeline(client, tenant_id, last["position"])

    page = client.get(f"/tenants/{tenant_id}/timeline", params={"after": 1, "limit": 1})
    assert page.status_code == 200, page.text
    assert [e["position"] for e in page.json()] == [2]


# --- retries: the same command twice records one fact ----------------------------------------


def test_retrying_register_with_the_same_body_records_nothing_new(client: TestClient) -> None:
    tenant_id = uuid.uuid4()
    body = {"tenant_id": str(tenant_id), "full_name": "Kari", "birth_date": "1980-05-17"}
    first = post(client, "/tenants", body)
    # A retry after a lost response, even from a later clock reading, is the same fact.
    again = client.post(
        "/tenants", json={**body, "occurred_at": "2026-03-06T15:00:00Z"}, headers=OUTREACH
    )

    assert again.status_code == 201, again.text
    assert again.json()["id"] == str(tenant_id)
    assert again.json()["position"] >= first["position"]
    assert head_position(client) == first["position"]
    assert len(timeline(client, tenant_id, again.json()["position"])) == 1


def test_reusing_a_tenant_id_for_another_person_is_a_conflict(client: TestClient) -> None:
    tenant_id, first = register(client)
    response = client.post(
        "/tenants", json={"tenant_id": str(tenant_id), "full_name": "Ola"}, headers=OUTREACH
    )

    assert_problem(response, 409, "tenant_id", "unique_id")
    assert head_position(client) == first["position"]
    assert get(client, f"/tenants/{tenant_id}")["full_name"] == "Kari"


def test_retrying_plan_visit_with_the_same_body_records_nothing_new(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    body = {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [str(WORKER)],
    }
    first = post(client, f"/tenants/{tenant_id}/visits", body)
    # The same instant written in UTC is the same plan.
    again = post(
        client, f"/tenants/{tenant_id}/visits", {**body, "planned_for": "2026-03-07T09:00:00Z"}
    )

    assert again["id"] == first["id"]
    assert head_position(client) == first["position"]
    entries = timeline(client, tenant_id, again["position"])
    assert [e["event_type"] for e in entries].count("VisitPlanned") == 1


@pytest.mark.parametrize(
    "change",
    [
        {"worker_ids": [str(SECOND_WORKER)]},
        {"planned_for": "2026-03-08T10:00:00+01:00"},
    ],
    ids=["other-workers", "other-time"],
)
def test_reusing_a_visit_id_for_another_plan_is_a_conflict(
    client: TestClient, change: dict[str, Any]
) -> None:
    tenant_id = tenant_in_follow_up(client)
    body = {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [str(WORKER)],
    }
    first = post(client, f"/tenants/{tenant_id}/visits", body)
    response = client.post(
        f"/tenants/{tenant_id}/visits", json={**body, **change}, headers=OUTREACH
    )

    assert_problem(response, 409, "visit_id", "unique_id")
    assert head_position(client) == first["position"]


def test_a_visit_id_cannot_be_reused_as_a_tenant_id(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    before = head_position(client)
    response = client.post(
        "/tenants", json={"tenant_id": str(visit_id), "full_name": "Kari"}, headers=OUTREACH
    )
    assert_problem(response, 409, "tenant_id", "unique_id")
    assert head_position(client) == before


# --- read-your-writes ----------------------------------------------------------------------


def test_a_read_with_min_position_sees_the_write_that_returned_it(client: TestClient) -> None:
    tenant_id, registered = register(client)
    seen = [registered["position"]]
    for _ in range(5):  # the contact changes hands, within the team that reads
        body = {"service": "tiltaksteamet", "contact_worker_id": str(client.colleague())}
        result = post(client, f"/tenants/{tenant_id}/responsibility", body)
        seen.append(result["position"])
        # Asked straight after the write: the projection must already include it.
        assert [e["position"] for e in timeline(client, tenant_id, result["position"])] == seen


@pytest.fixture
def impatient_client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    # No projections run: a position in the log is never reached, a real lag.
    settings = Settings(
        database_url=database.url, read_your_writes_timeout_s=0.2, run_projections=False
    )
    with TestClient(create_app(settings, database=database, clock=clock)) as test_client:
        yield test_client


def test_a_position_the_projection_cannot_reach_in_time_is_503(
    impatient_client: TestClient,
) -> None:
    tenant_id, registered = register(impatient_client)
    response = impatient_client.get(
        f"/tenants/{tenant_id}/timeline", params={"min_position": registered["position"]}
    )
    assert_problem(response, 503, "min_position", "reached_in_time")
    assert response.headers["retry-after"] == "1"


# --- operations -------------------------------------------------------------------------------


def test_health_shows_the_timeline_caught_up(client: TestClient) -> None:
    planned_visit(client, tenant_in_follow_up(client))
    head = head_position(client)
    assert head == 3

    def timeline_status(health: dict[str, Any]) -> dict[str, Any] | None:
        return next((p for p in health["projections"] if p["projection"] == "risk_timeline"), None)

    deadline = time.monotonic() + 10
    while True:
        health = get(client, "/health")
        status = timeline_status(health)
        if status is not None and status["lag"] == 0:
            break
        assert time.monotonic() < deadline, f"timeline never caught up: {health}"
        time.sleep(0.01)

    assert status == {"projection": "risk_timeline", "position": head, "lag": 0, "parked": 0}
    assert health["head_position"] == head
    assert health["status"] == "ok"
    assert health["parked"] == []
    assert "risk_timeline" in health["runner_active"]


def test_ready_when_the_database_answers(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_health_on_an_empty_log(client: TestClient) -> None:
    health = get(client, "/health")
    assert (health["status"], health["head_position"], health["parked"]) == ("ok", 0, [])


def test_openapi_lists_the_skeletons_endpoints(client: TestClient) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    expected = {
        "/tenants": {"post"},
        "/tenants/{tenant_id}": {"get"},
        "/tenants/{tenant_id}/follow-up": {"post"},
        "/tenants/{tenant_id}/follow-up/end": {"post"},
        "/tenants/{tenant_id}/responsibility": {"post"},
        "/tenants/{tenant_id}/visits": {"post"},
        "/tenants/{tenant_id}/timeline": {"get"},
        "/visits/{visit_id}": {"get"},
        "/visits/{visit_id}/completion": {"post"},
        "/visits/{visit_id}/failure": {"post"},
        "/health": {"get"},
        "/ready": {"get"},
    }
    listed = {path: set(paths.get(path, {})) & methods for path, methods in expected.items()}
    assert listed == expected
    register_body = paths["/tenants"]["post"]["requestBody"]["content"]["application/json"]
    assert register_body["schema"]["$ref"].endswith("RegisterTenant")


def test_problems_are_problem_json_even_for_unknown_routes(client: TestClient) -> None:
    response = client.get("/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
