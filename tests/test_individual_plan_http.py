"""Individual plan (individuell plan) end to end: who coordinates, and the responsibility group."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from domain.municipal_services import Service
from tests.api import (
    OUTREACH,
    WORKER,
    assert_problem,
    head_position,
    post,
    tenant_in_follow_up,
    timeline,
)

COORDINATING_UNIT = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "koordinerende_enhet"}


def start(client: TestClient, tenant_id: uuid.UUID) -> None:
    post(
        client,
        f"/tenants/{tenant_id}/individual-plan",
        {
            "started_on": "2026-03-02",
            "coordinator_worker_id": str(WORKER),
            "coordinator_service": "tiltaksteamet",
            "group": ["nav", "helse_psykiatri", "nav"],
        },
        COORDINATING_UNIT,
    )


def plan_of(client: TestClient, tenant_id: uuid.UUID) -> dict[str, object]:
    response = client.get(f"/tenants/{tenant_id}")
    assert response.status_code == 200, response.text
    plan: dict[str, object] = response.json()["individual_plan"]
    return plan


def test_a_plan_names_its_coordinator_and_group(client: TestClient) -> None:
    """Scenario 3: the young man nobody owns gets a plan and a coordinator."""
    tenant_id = tenant_in_follow_up(client)
    start(client, tenant_id)

    plan = plan_of(client, tenant_id)
    assert plan["coordinator_worker_id"] == str(WORKER)
    assert plan["coordinator_service"] == "tiltaksteamet"
    # The coordinator's service sits in the group; each service once.
    assert plan["group"] == ["tiltaksteamet", "nav", "helse_psykiatri"]
    assert plan["ended_on"] is None


def test_the_coordinator_changes_and_the_plan_ends(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    start(client, tenant_id)
    psychiatric_nurse = client.colleague(Service.MENTAL_HEALTH)
    post(
        client,
        f"/tenants/{tenant_id}/individual-plan/change",
        {
            "coordinator_worker_id": str(psychiatric_nurse),
            "coordinator_service": "helse_psykiatri",
            "group": ["nav"],
        },
    )
    plan = plan_of(client, tenant_id)
    assert (plan["coordinator_worker_id"], plan["group"]) == (
        str(psychiatric_nurse),
        ["helse_psykiatri", "nav"],
    )

    result = post(client, f"/tenants/{tenant_id}/individual-plan/end", {"ended_on": "2026-03-06"})
    assert plan_of(client, tenant_id)["ended_on"] == "2026-03-06"
    assert [e["summary"] for e in timeline(client, tenant_id, result["position"])][-3:] == [
        "Individual plan started; coordinator from tiltaksteamet",
        "Individual plan changed; coordinator from helse_psykiatri",
        "Individual plan ended",
    ]


def test_a_tenant_has_one_plan_at_a_time(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    start(client, tenant_id)
    before = head_position(client)
    response = client.post(
        f"/tenants/{tenant_id}/individual-plan",
        json={
            "started_on": "2026-03-03",
            "coordinator_worker_id": str(WORKER),
            "coordinator_service": "nav",
        },
        headers=OUTREACH,
    )
    assert_problem(response, 409, "tenant_id", "no_active_plan")
    assert head_position(client) == before


def test_without_a_plan_there_is_nothing_to_change_or_end(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    change = {"coordinator_worker_id": str(WORKER), "coordinator_service": "nav"}
    response = client.post(
        f"/tenants/{tenant_id}/individual-plan/change", json=change, headers=OUTREACH
    )
    assert_problem(response, 409, "tenant_id", "active_plan")
    response = client.post(
        f"/tenants/{tenant_id}/individual-plan/end",
        json={"ended_on": "2026-03-06"},
        headers=OUTREACH,
    )
    assert_problem(response, 409, "tenant_id", "active_plan")


def test_a_plan_cannot_end_before_it_started(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    start(client, tenant_id)
    response = client.post(
        f"/tenants/{tenant_id}/individual-plan/end",
        json={"ended_on": "2026-03-01"},
        headers=OUTREACH,
    )
    assert_problem(response, 422, "ended_on", "not_before_start")


def test_plan_bodies_are_checked(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    body = {
        "started_on": "2026-03-02",
        "coordinator_worker_id": str(WORKER),
        "coordinator_service": "tiltaksteamet",
    }
    path = f"/tenants/{tenant_id}/individual-plan"
    response = client.post(path, json={**body, "group": ["school"]}, headers=OUTREACH)
    assert_problem(response, 422, "group[0]", "allowed_values")
    response = client.post(path, json={**body, "coordinator_service": None}, headers=OUTREACH)
    assert_problem(response, 422, "coordinator_service", "type")
    response = client.post(path, json={**body, "members": []}, headers=OUTREACH)
    assert_problem(response, 422, "members", "unknown_field")
    missing = f"/tenants/{uuid.uuid4()}/individual-plan"
    assert_problem(
        client.post(missing, json=body, headers=OUTREACH), 404, "tenant_id", "must_exist"
    )
