"""Dwellings, safety flags, leases and the safety rules on visits, through the real HTTP app."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from tests.api import (
    OUTREACH,
    SECOND_WORKER,
    WORKER,
    assert_problem,
    head_position,
    post,
    tenant_in_follow_up,
    timeline,
)

FBE_USER = uuid.UUID("00000000-0000-4000-8000-0000000000f1")
FBE = {"x-folgja-user": str(FBE_USER), "x-folgja-service": "fbe"}
# The test clock stands at 2026-03-06 15:30 UTC.
IN_THREE_MONTHS = "2026-06-06"


def get(client: TestClient, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def dwelling(client: TestClient, **body: Any) -> uuid.UUID:
    dwelling_id = uuid.uuid4()
    fields = {"address": "Strandgata 12", "unit": "H0201", "postcode": "6900", "owner": "municipal"}
    post(client, "/dwellings", {"dwelling_id": str(dwelling_id), **fields, **body}, FBE)
    return dwelling_id


def flag(client: TestClient, dwelling_id: uuid.UUID, kind: str) -> int:
    body = {"kind": kind, "reason": "threats_violence", "review_on": IN_THREE_MONTHS}
    result = post(client, f"/dwellings/{dwelling_id}/safety-flag", body, FBE)
    position: int = result["position"]
    return position


def lease(
    client: TestClient, dwelling_id: uuid.UUID, tenant_id: uuid.UUID, **body: Any
) -> tuple[uuid.UUID, int]:
    lease_id = uuid.uuid4()
    result = post(
        client,
        "/leases",
        {
            "lease_id": str(lease_id),
            "dwelling_id": str(dwelling_id),
            "tenant_id": str(tenant_id),
            "starts_on": "2026-03-06",
            **body,
        },
        FBE,
    )
    position: int = result["position"]
    return lease_id, position


def housed_tenant(client: TestClient, flag_kind: str | None) -> uuid.UUID:
    """A tenant in follow-up living at a dwelling, flagged ``flag_kind`` if given."""
    tenant_id = tenant_in_follow_up(client)
    dwelling_id = dwelling(client)
    lease(client, dwelling_id, tenant_id, term_months=6)
    if flag_kind is not None:
        flag(client, dwelling_id, flag_kind)
    return tenant_id


def plan_body(workers: list[uuid.UUID], **body: Any) -> dict[str, Any]:
    return {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [str(w) for w in workers],
        **body,
    }


def visit(client: TestClient, tenant_id: uuid.UUID, workers: list[uuid.UUID]) -> uuid.UUID:
    body = plan_body(workers)
    post(client, f"/tenants/{tenant_id}/visits", body)
    return uuid.UUID(body["visit_id"])


# --- dwellings and safety flags ------------------------------------------------------------


def test_register_dwelling_and_read_it(client: TestClient) -> None:
    dwelling_id = dwelling(client, owner="sublet_private")
    assert get(client, f"/dwellings/{dwelling_id}") == {
        "id": str(dwelling_id),
        "version": 1,
        "address": "Strandgata 12",
        "unit": "H0201",
        "postcode": "6900",
        "owner": "sublet_private",
        "safety_flag": None,
        "active_lease_id": None,
        "tenant_id": None,
    }


def test_registering_a_dwelling_again_is_answered_again_but_its_id_is_not_reused(
    client: TestClient,
) -> None:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    head = head_position(client)

    assert post(client, "/dwellings", body, FBE) == {"id": str(dwelling_id), "position": head}
    response = client.post("/dwellings", json={**body, "address": "Havnegata 1"}, headers=FBE)
    assert_problem(response, 409, "dwelling_id", "unique_id")
    assert head_position(client) == head


def test_a_dwelling_with_a_bad_postcode_is_refused(client: TestClient) -> None:
    body = {
        "dwelling_id": str(uuid.uuid4()),
        "address": "Strandgata 12",
        "postcode": "69000",
        "owner": "municipal",
    }
    assert_problem(client.post("/dwellings", json=body, headers=FBE), 422, "postcode", "pattern")
    assert head_position(client) == 0


def test_an_unknown_dwelling_is_404(client: TestClient) -> None:
    missing = uuid.uuid4()
    assert_problem(client.get(f"/dwellings/{missing}"), 404, "dwelling_id", "must_exist")
    body = {"kind": "two_person", "reason": "weapons", "review_on": IN_THREE_MONTHS}
    response = client.post(f"/dwellings/{missing}/safety-flag", json=body, headers=FBE)
    assert_problem(response, 404, "dwelling_id", "must_exist")


def test_the_safety_flag_lifecycle(client: TestClient) -> None:
    dwelling_id = dwelling(client)
    flag_path = f"/dwellings/{dwelling_id}/safety-flag"

    flag(client, dwelling_id, "two_person")
    current = get(client, f"/dwellings/{dwelling_id}")["safety_flag"]
    assert current == {
        "kind": "two_person",
        "reason": "threats_violence",
        "set_by": {"user_id": str(FBE_USER), "service": "fbe"},
        "set_at": "2026-03-06T15:30:00Z",
        "review_on": IN_THREE_MONTHS,
        "changed_by": None,
        "changed_at": None,
        "reviewed_by": None,
        "reviewed_at": None,
    }

    # A second flag is refused: change the one there is.
    head = head_position(client)
    again = {"kind": "no_entry", "reason": "weapons", "review_on": IN_THREE_MONTHS}
    response = client.post(flag_path, json=again, headers=FBE)
    assert_problem(response, 409, "dwelling_id", "no_active_safety_flag")
    assert head_position(client) == head

    post(client, f"{flag_path}/change", again, OUTREACH)
    current = get(client, f"/dwellings/{dwelling_id}")["safety_flag"]
    assert (current["kind"], current["reason"]) == ("no_entry", "weapons")
    assert current["set_by"]["service"] == "fbe"
    assert current["changed_by"] == {"user_id": str(WORKER), "service": "tiltaksteamet"}

    response = client.post(f"{flag_path}/review", json={"review_on": "2026-03-05"}, headers=FBE)
    assert_problem(response, 422, "review_on", "not_in_past")
    post(client, f"{flag_path}/review", {"review_on": "2026-09-01"}, FBE)
    current = get(client, f"/dwellings/{dwelling_id}")["safety_flag"]
    assert (current["kind"], current["review_on"]) == ("no_entry", "2026-09-01")
    assert current["reviewed_by"]["service"] == "fbe"

    post(client, f"{flag_path}/lift", {"reason": "Tenant moved; weapons removed"}, FBE)
    dwelling_state = get(client, f"/dwellings/{dwelling_id}")
    assert dwelling_state["safety_flag"] is None
    assert dwelling_state["version"] == 5

    head = head_position(client)
    response = client.post(f"{flag_path}/lift", json={"reason": "again"}, headers=FBE)
    assert_problem(response, 409, "dwelling_id", "safety_flag_active")
    response = client.post(f"{flag_path}/review", json={"review_on": "2026-09-01"}, headers=FBE)
    assert_problem(response, 409, "dwelling_id", "safety_flag_active")
    assert head_position(client) == head


def test_a_flag_with_an_unknown_reason_is_refused(client: TestClient) -> None:
    dwelling_id = dwelling(client)
    body = {"kind": "two_person", "reason": "rumours", "review_on": IN_THREE_MONTHS}
    response = client.post(f"/dwellings/{dwelling_id}/safety-flag", json=body, headers=FBE)
    assert_problem(response, 422, "reason", "allowed_values")


# --- leases ---------------------------------------------------------------------------------


def test_a_lease_moves_the_tenant_in_and_its_end_moves_them_out(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    dwelling_id = dwelling(client)
    lease_id, position = lease(client, dwelling_id, tenant_id, term_months=6)

    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["dwelling_id"], tenant["lease_id"]) == (str(dwelling_id), str(lease_id))
    assert get(client, f"/leases/{lease_id}") == {
        "id": str(lease_id),
        "version": 1,
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(tenant_id),
        "starts_on": "2026-03-06",
        "ends_on": "2026-09-05",
        "term_months": 6,
        "ended_on": None,
        "end_reason": None,
    }
    let = get(client, f"/dwellings/{dwelling_id}")
    assert (let["active_lease_id"], let["tenant_id"]) == (str(lease_id), str(tenant_id))
    entries = timeline(client, tenant_id, position)
    assert [(e["event_type"], e["summary"]) for e in entries[-2:]] == [
        ("LeaseStarted", "Lease started 2026-03-06, 6-month lease until 2026-09-05"),
        ("TenantMovedIn", "Moved in 2026-03-06"),
    ]

    ended = post(
        client, f"/leases/{lease_id}/end", {"ended_on": "2026-09-05", "reason": "expired"}, FBE
    )
    assert get(client, f"/tenants/{tenant_id}")["dwelling_id"] is None
    assert get(client, f"/dwellings/{dwelling_id}")["active_lease_id"] is None
    assert get(client, f"/leases/{lease_id}")["end_reason"] == "expired"
    entries = timeline(client, tenant_id, ended["position"])
    assert [(e["event_type"], e["summary"]) for e in entries[-2:]] == [
        ("LeaseEnded", "Lease ended 2026-09-05: expired"),
        ("TenantMovedOut", "Moved out 2026-09-05"),
    ]

    head = head_position(client)
    response = client.post(
        f"/leases/{lease_id}/end", json={"ended_on": "2026-09-05", "reason": "expired"}, headers=FBE
    )
    assert_problem(response, 409, "lease_id", "lease_active")
    assert head_position(client) == head


def test_starting_a_lease_again_is_answered_again(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    dwelling_id = dwelling(client)
    lease_id = uuid.uuid4()
    body = {
        "lease_id": str(lease_id),
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(tenant_id),
        "starts_on": "2026-03-06",
        "term_months": 6,
    }
    post(client, "/leases", body, FBE)
    head = head_position(client)

    assert post(client, "/leases", body, FBE) == {"id": str(lease_id), "position": head}
    response = client.post("/leases", json={**body, "term_months": 12}, headers=FBE)
    assert_problem(response, 409, "lease_id", "unique_id")
    assert head_position(client) == head


def test_a_let_dwelling_cannot_be_let_again_and_nothing_is_written(client: TestClient) -> None:
    dwelling_id = dwelling(client)
    lease(client, dwelling_id, tenant_in_follow_up(client))
    other = tenant_in_follow_up(client)
    head = head_position(client)

    body = {
        "lease_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(other),
        "starts_on": "2026-03-06",
    }
    assert_problem(client.post("/leases", json=body, headers=FBE), 409, "dwelling_id", "not_let")
    assert head_position(client) == head
    assert get(client, f"/tenants/{other}")["dwelling_id"] is None


def test_a_lease_for_an_unknown_tenant_is_404(client: TestClient) -> None:
    body = {
        "lease_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling(client)),
        "tenant_id": str(uuid.uuid4()),
        "starts_on": "2026-03-06",
    }
    head = head_position(client)
    assert_problem(client.post("/leases", json=body, headers=FBE), 404, "tenant_id", "must_exist")
    assert head_position(client) == head


def test_a_lease_whose_end_date_disagrees_with_its_term_is_refused(client: TestClient) -> None:
    body = {
        "lease_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling(client)),
        "tenant_id": str(tenant_in_follow_up(client)),
        "starts_on": "2026-03-01",
        "ends_on": "2026-09-30",
        "term_months": 6,
    }
    response = client.post("/leases", json=body, headers=FBE)
    assert_problem(response, 422, "ends_on", "matches_term_months")


# --- visits under a safety flag ------------------------------------------------------------


def test_one_worker_cannot_plan_a_visit_to_a_two_person_address(client: TestClient) -> None:
    tenant_id = housed_tenant(client, "two_person")
    head = head_position(client)
    body = plan_body([WORKER])

    response = client.post(f"/tenants/{tenant_id}/visits", json=body, headers=OUTREACH)
    problem = assert_problem(response, 422, "worker_ids", "two_person_address")
    assert "two-person" in problem["errors"][0]["detail"]
    assert head_position(client) == head
    assert_problem(client.get(f"/visits/{body['visit_id']}"), 404, "visit_id", "must_exist")


def test_two_workers_may_plan_and_record_a_visit_to_a_two_person_address(
    client: TestClient,
) -> None:
    tenant_id = housed_tenant(client, "two_person")
    visit_id = visit(client, tenant_id, [WORKER, SECOND_WORKER])
    observations = {"wellbeing": "fair"}

    head = head_position(client)
    alone = {"worker_ids": [str(WORKER)], "observations": observations}
    response = client.post(f"/visits/{visit_id}/completion", json=alone, headers=OUTREACH)
    assert_problem(response, 422, "worker_ids", "two_person_address")
    assert head_position(client) == head

    together = {"worker_ids": [str(WORKER), str(SECOND_WORKER)], "observations": observations}
    post(client, f"/visits/{visit_id}/completion", together)
    state = get(client, f"/visits/{visit_id}")
    assert (state["status"], state["needs_review"], state["review_reasons"]) == (
        "completed",
        False,
        [],
    )


def test_an_offline_completion_by_one_worker_is_kept_and_marked_for_review(
    client: TestClient,
) -> None:
    tenant_id = tenant_in_follow_up(client)
    dwelling_id = dwelling(client)
    lease(client, dwelling_id, tenant_id)
    visit_id = visit(client, tenant_id, [WORKER])
    # The address was flagged while the worker was offline, on the way to the visit.
    flag(client, dwelling_id, "two_person")

    body = {
        "worker_ids": [str(WORKER)],
        "observations": {"wellbeing": "poor"},
        "recorded_offline": True,
        "occurred_at": "2026-03-06T14:00:00+01:00",
    }
    result = post(client, f"/visits/{visit_id}/completion", body)

    state = get(client, f"/visits/{visit_id}")
    assert state["status"] == "completed"
    assert state["needs_review"] is True
    assert state["review_reasons"] == ["two_person_address"]
    assert state["observations"]["wellbeing"] == "poor"
    assert timeline(client, tenant_id, result["position"])[-1]["event_type"] == "VisitCompleted"


def test_a_home_visit_is_refused_at_a_no_entry_address_but_a_meeting_elsewhere_is_not(
    client: TestClient,
) -> None:
    tenant_id = housed_tenant(client, "no_entry")
    head = head_position(client)

    response = client.post(
        f"/tenants/{tenant_id}/visits", json=plan_body([WORKER]), headers=OUTREACH
    )
    assert_problem(response, 422, "location", "no_entry_address")
    assert head_position(client) == head

    body = plan_body([WORKER], location="elsewhere")
    post(client, f"/tenants/{tenant_id}/visits", body)
    assert get(client, f"/visits/{body['visit_id']}")["location"] == "elsewhere"


def test_a_home_visit_planned_before_a_no_entry_flag_can_only_be_cancelled(
    client: TestClient,
) -> None:
    tenant_id = tenant_in_follow_up(client)
    dwelling_id = dwelling(client)
    lease(client, dwelling_id, tenant_id)
    visit_id = visit(client, tenant_id, [WORKER])
    flag(client, dwelling_id, "no_entry")

    head = head_position(client)
    at_the_door = {"worker_ids": [str(WORKER)], "reason": "not_at_home"}
    response = client.post(f"/visits/{visit_id}/failure", json=at_the_door, headers=OUTREACH)
    assert_problem(response, 409, "location", "no_entry_address")
    assert head_position(client) == head

    post(
        client, f"/visits/{visit_id}/failure", {"worker_ids": [str(WORKER)], "reason": "cancelled"}
    )
    state = get(client, f"/visits/{visit_id}")
    assert (state["status"], state["needs_review"]) == ("failed", False)
