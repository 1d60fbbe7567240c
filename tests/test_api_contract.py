"""Issue 10: the API keeps its word on the people, references, dates and positions it is given.

Each test here failed on the code before the issue was fixed: a made-up colleague met the
two-person rule, a concern named a dwelling that did not exist, year 1 was a visit date, a
position past the log's head waited five seconds for a 503.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.api import (
    OUTREACH,
    WORKER,
    assert_problem,
    head_position,
    planned_visit,
    post,
    tenant_in_follow_up,
    transfer_to_care,
)
from tests.rent_api import FBE, housed

OBSERVED = {"wellbeing": "good", "note": ""}


def _two_person_tenant(client: TestClient) -> uuid.UUID:
    """A tenant in follow-up who lives at an address flagged two-person."""
    tenant_id = tenant_in_follow_up(client)
    dwelling_id, _ = housed(client, tenant_id)
    flag = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}
    post(client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
    return tenant_id


def _plan(client: TestClient, tenant_id: uuid.UUID, *workers: uuid.UUID) -> Any:
    body = {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-09T10:00:00+01:00",
        "worker_ids": [str(w) for w in workers],
    }
    return client.post(f"/tenants/{tenant_id}/visits", json=body, headers=OUTREACH)


# --- 1. every person named is a real user who may do the work --------------------------------


def test_a_made_up_colleague_does_not_meet_the_two_person_rule(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    head = head_position(client)
    response = _plan(client, tenant_id, WORKER, uuid.uuid4())
    assert_problem(response, 422, "worker_ids", "known_follow_up_worker")
    assert head_position(client) == head  # nothing written


def test_the_landlord_or_nav_is_no_second_worker_on_a_visit(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    landlord = client.colleague(Service.PROPERTY_MANAGER)
    nav_officer = client.colleague(Service.NAV)
    admin = client.colleague(Service.ADMIN, Role.ADMIN)
    for other in (landlord, nav_officer, admin):
        response = _plan(client, tenant_id, WORKER, other)
        assert_problem(response, 422, "worker_ids", "known_follow_up_worker")


def test_a_deactivated_user_is_no_worker_on_a_visit(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    former = client.colleague()
    runtime = client.app.state.runtime

    async def deactivate() -> None:
        async with runtime.pool.acquire() as conn:
            await conn.execute("UPDATE users SET active = false WHERE id = $1", former)

    client.blocking_portal.call(deactivate)
    assert_problem(
        _plan(client, tenant_id, WORKER, former), 422, "worker_ids", "known_follow_up_worker"
    )


def test_two_real_follow_up_workers_plan_a_two_person_visit(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    care_worker = client.colleague(Service.CARE, Role.SERVICE_STAFF)
    assert _plan(client, tenant_id, WORKER, care_worker).status_code == 201


def test_completing_with_a_made_up_second_worker_is_refused(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    colleague = client.colleague()
    visit_id = _plan(client, tenant_id, WORKER, colleague).json()["id"]
    body = {"worker_ids": [str(WORKER), str(uuid.uuid4())], "observations": OBSERVED}
    head = head_position(client)
    response = client.post(f"/visits/{visit_id}/completion", json=body, headers=OUTREACH)
    assert_problem(response, 422, "worker_ids", "known_follow_up_worker")
    assert head_position(client) == head


def test_offline_a_made_up_colleague_is_kept_for_review_not_refused(client: TestClient) -> None:
    tenant_id = _two_person_tenant(client)
    visit_id = _plan(client, tenant_id, WORKER, client.colleague()).json()["id"]
    body = {
        "worker_ids": [str(WORKER), str(uuid.uuid4())],
        "observations": OBSERVED,
        "recorded_offline": True,
    }
    response = client.post(f"/visits/{visit_id}/completion", json=body, headers=OUTREACH)
    assert response.status_code == 201, response.text
    visit = client.get(f"/visits/{visit_id}").json()
    assert visit["needs_review"] is True
    # The made-up name is no second person: the visit also broke the two-person rule.
    assert visit["review_reasons"] == ["known_follow_up_worker", "two_person_address"]


def test_a_failed_visit_names_real_workers_too(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    body = {"worker_ids": [str(uuid.uuid4())], "reason": "cancelled"}
    response = client.post(f"/visits/{visit_id}/failure", json=body, headers=OUTREACH)
    assert_problem(response, 422, "worker_ids", "known_follow_up_worker")


def test_the_contact_worker_is_a_real_user_of_the_responsible_service(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    path = f"/tenants/{tenant_id}/responsibility"
    made_up = {"service": "tiltaksteamet", "contact_worker_id": str(uuid.uuid4())}
    assert_problem(
        client.post(path, json=made_up, headers=OUTREACH),
        422,
        "contact_worker_id",
        "active_user_of_service",
    )
    elsewhere = {"service": "omsorg", "contact_worker_id": str(client.colleague())}
    assert_problem(
        client.post(path, json=elsewhere, headers=OUTREACH),
        422,
        "contact_worker_id",
        "active_user_of_service",
    )
    care_worker = client.colleague(Service.CARE)
    post(client, path, {"service": "omsorg", "contact_worker_id": str(care_worker)})
    as_care = {"x-folgja-user": str(care_worker), "x-folgja-service": "omsorg"}
    tenant = client.get(f"/tenants/{tenant_id}", headers=as_care).json()
    assert tenant["contact_worker_id"] == str(care_worker)


def test_a_handover_is_accepted_with_a_contact_of_the_receiving_service(
    client: TestClient,
) -> None:
    handover_id = transfer_to_care(client, tenant_in_follow_up(client))
    care_lead = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
    path = f"/handovers/{handover_id}/acceptance"
    outreach_worker = {"contact_worker_id": str(WORKER)}
    assert_problem(
        client.post(path, json=outreach_worker, headers=care_lead),
        422,
        "contact_worker_id",
        "active_user_of_service",
    )
    care_worker = {"contact_worker_id": str(client.colleague(Service.CARE))}
    assert client.post(path, json=care_worker, headers=care_lead).status_code == 201


def test_the_individual_plan_coordinator_is_a_real_user_of_that_service(
    client: TestClient,
) -> None:
    tenant_id = tenant_in_follow_up(client)
    body = {
        "started_on": "2026-03-01",
        "coordinator_worker_id": str(uuid.uuid4()),
        "coordinator_service": "koordinerende_enhet",
    }
    path = f"/tenants/{tenant_id}/individual-plan"
    response = client.post(path, json=body, headers=OUTREACH)
    assert_problem(response, 422, "coordinator_worker_id", "active_user_of_service")
    coordinator = client.colleague(Service.COORDINATING_UNIT)
    post(client, path, {**body, "coordinator_worker_id": str(coordinator)})


# --- 3. a position the log has not reached ----------------------------------------------------


def test_a_position_beyond_the_head_is_refused_at_once(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    beyond = head_position(client) + 1_000_000
    response = client.get(f"/tenants/{tenant_id}/timeline", params={"min_position": beyond})
    assert_problem(response, 422, "min_position", "not_beyond_head")
    assert "retry-after" not in response.headers
    response = client.get("/concerns", params={"min_position": beyond})
    assert_problem(response, 422, "min_position", "not_beyond_head")


def test_a_position_at_the_head_is_answered(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    response = client.get(
        f"/tenants/{tenant_id}/timeline", params={"min_position": head_position(client)}
    )
    assert response.status_code == 200, response.text


# --- 4. references and dates ------------------------------------------------------------------


def _concern(**about: str) -> dict[str, Any]:
    return {"concern_id": str(uuid.uuid4()), "category": "damage", "description": "x", **about}


def test_a_concern_about_a_dwelling_that_does_not_exist_is_refused(client: TestClient) -> None:
    body = _concern(dwelling_id=str(uuid.uuid4()))
    assert_problem(
        client.post("/concerns", json=body, headers=FBE), 404, "dwelling_id", "must_exist"
    )


def test_a_concern_naming_a_tenant_and_another_home_is_refused(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    housed(client, tenant_id)
    other_tenant = tenant_in_follow_up(client)
    other_home, _ = housed(client, other_tenant)
    body = _concern(tenant_id=str(tenant_id), dwelling_id=str(other_home))
    response = client.post("/concerns", json=body, headers=FBE)
    assert_problem(response, 422, "dwelling_id", "dwelling_of_tenant")


def test_a_concern_naming_a_tenant_and_their_home_is_raised(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    home, _ = housed(client, tenant_id)
    body = _concern(tenant_id=str(tenant_id), dwelling_id=str(home))
    assert client.post("/concerns", json=body, headers=FBE).status_code == 201


def test_visit_dates_outside_their_range_are_refused(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    for planned_for in ("0001-01-01T00:00:00+00:00", "9999-12-31T10:00:00+01:00"):
        body = {
            "visit_id": str(uuid.uuid4()),
            "planned_for": planned_for,
            "worker_ids": [str(WORKER)],
        }
        response = client.post(f"/tenants/{tenant_id}/visits", json=body, headers=OUTREACH)
        assert_problem(response, 422, "planned_for", "date_range")


def test_other_dates_outside_their_range_are_refused(client: TestClient) -> None:
    tenant = {"tenant_id": str(uuid.uuid4()), "full_name": "Test", "birth_date": "1800-01-01"}
    assert_problem(
        client.post("/tenants", json=tenant, headers=OUTREACH), 422, "birth_date", "date_range"
    )
    tenant_id = tenant_in_follow_up(client)
    old = {"opted_out_on": "1000-01-01"}
    response = client.post(f"/tenants/{tenant_id}/nav-notice-objection", json=old, headers=OUTREACH)
    assert_problem(response, 422, "opted_out_on", "date_range")
    long_ago = {
        "tenant_id": str(uuid.uuid4()),
        "full_name": "T",
        "occurred_at": "1990-01-01T00:00:00Z",
    }
    assert_problem(
        client.post("/tenants", json=long_ago, headers=OUTREACH), 422, "occurred_at", "date_range"
    )


def test_times_leave_the_server_with_their_zone(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    visit_id = planned_visit(client, tenant_id)
    visit = client.get(f"/visits/{visit_id}").json()
    assert visit["planned_for"].endswith(("Z", "+00:00", "+01:00")), visit["planned_for"]
    response = client.get(f"/caseload/workers/{WORKER}", headers=OUTREACH)
    assert response.status_code == 200, response.text
    stamps = [v for row in response.json()["items"] for k, v in row.items() if k.endswith("_at")]
    stamps += [v for row in response.json()["items"] for k, v in row.items() if k.endswith("_for")]
    assert all(s is None or s.endswith(("Z", "+00:00")) or "+" in s[10:] for s in stamps), stamps


# --- 5. the landlord records the objection; concerns reach the responsible service ------------


def test_the_landlord_records_the_tenants_objection_to_nav_notice(client: TestClient) -> None:
    tenant_id = tenant_in_follow_up(client)
    body = {"opted_out_on": "2026-02-01"}
    response = client.post(f"/tenants/{tenant_id}/nav-notice-objection", json=body, headers=FBE)
    assert response.status_code == 201, response.text


def test_a_concern_about_a_followed_tenant_goes_to_their_service_by_itself(
    client: TestClient,
) -> None:
    tenant_id = tenant_in_follow_up(client)
    care_worker = client.colleague(Service.CARE)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "omsorg", "contact_worker_id": str(care_worker)},
    )
    concern_id = post(client, "/concerns", _concern(tenant_id=str(tenant_id)), FBE)["id"]
    concern = client.get(f"/concerns/{concern_id}", headers=FBE).json()
    assert concern["status"] == "routed"
    assert concern["routed_to"] == "omsorg"


def test_a_concern_about_a_tenant_nobody_follows_waits_to_be_routed(client: TestClient) -> None:
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test"})
    concern_id = post(client, "/concerns", _concern(tenant_id=str(tenant_id)), FBE)["id"]
    concern = client.get(f"/concerns/{concern_id}", headers=FBE).json()
    assert concern["status"] == "raised"
    assert concern["routed_to"] is None
