"""Need to know, as a user would attack it: other workers' tenants, other roles' fields,
NAV without a notification, consent withdrawn between two requests.

Each refusal is the right status, and nothing is written.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from backend.auth import access_log
from tests.api import assert_problem, head_position, post, transfer_to_care
from tests.auth_api import in_app
from tests.rent_api import FBE, NAV, consent_to_nav, get_case, housed, rent_case, step

LEAD = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "tiltaksteamet"}


def field_worker(service: str = "tiltaksteamet") -> dict[str, str]:
    return {
        "x-folgja-user": str(uuid.uuid4()),
        "x-folgja-service": service,
        "x-folgja-role": "field_worker",
    }


ANNE, BJORN = field_worker(), field_worker()
CARE_STAFF = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
ADMIN = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "admin"}


def tenant_of(client: TestClient, worker: dict[str, str]) -> uuid.UUID:
    """A tenant the outreach team follows, with ``worker`` as contact."""
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"}, LEAD)
    post(
        client,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 14, "started_on": "2026-03-01"},
        LEAD,
    )
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": client.enrol(worker)},
        LEAD,
    )
    return tenant_id


def visit_of(client: TestClient, tenant_id: uuid.UUID, worker: dict[str, str]) -> uuid.UUID:
    visit_id = uuid.uuid4()
    body = {
        "visit_id": str(visit_id),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [worker["x-folgja-user"]],
    }
    post(client, f"/tenants/{tenant_id}/visits", body, worker)
    return visit_id


def as_(client: TestClient, who: dict[str, str], path: str) -> Any:
    return client.get(path, headers=who)


# --- a field worker sees only their own caseload ----------------------------------------------


def test_a_field_worker_reads_their_own_tenant_and_not_a_colleagues(client: TestClient) -> None:
    mine, theirs = tenant_of(client, ANNE), tenant_of(client, BJORN)
    their_visit = visit_of(client, theirs, BJORN)

    assert as_(client, ANNE, f"/tenants/{mine}").status_code == 200
    assert as_(client, ANNE, f"/tenants/{mine}/timeline").status_code == 200

    # The colleague's tenant answers exactly like a tenant that does not exist (no probing).
    unknown = uuid.uuid4()
    hidden = assert_problem(as_(client, ANNE, f"/tenants/{theirs}"), 404, "tenant_id", "must_exist")
    missing = assert_problem(
        as_(client, ANNE, f"/tenants/{unknown}"), 404, "tenant_id", "must_exist"
    )
    assert hidden["title"].replace(str(theirs), "ID") == missing["title"].replace(
        str(unknown), "ID"
    )
    for path in (
        f"/tenants/{theirs}/timeline",
        f"/tenants/{theirs}/risk-timeline",
        f"/tenants/{theirs}/handovers",
    ):
        assert_problem(as_(client, ANNE, path), 404, "tenant_id", "must_exist")
    assert_problem(as_(client, ANNE, f"/visits/{their_visit}"), 404, "visit_id", "must_exist")


def test_nothing_is_written_to_another_workers_tenant(client: TestClient) -> None:
    theirs = tenant_of(client, BJORN)
    their_visit = visit_of(client, theirs, BJORN)
    before = head_position(client)

    completion = {"worker_ids": [ANNE["x-folgja-user"]], "observations": {"wellbeing": "good"}}
    response = client.post(f"/visits/{their_visit}/completion", json=completion, headers=ANNE)
    assert_problem(response, 404, "visit_id", "must_exist")
    plan = {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-08T10:00:00+01:00",
        "worker_ids": [ANNE["x-folgja-user"]],
    }
    response = client.post(f"/tenants/{theirs}/visits", json=plan, headers=ANNE)
    assert_problem(response, 404, "tenant_id", "must_exist")
    consent = {
        "consent_id": str(uuid.uuid4()),
        "recipients": ["nav"],
        "categories": ["health"],
        "given_on": "2026-03-01",
    }
    response = client.post(f"/tenants/{theirs}/consents", json=consent, headers=ANNE)
    assert_problem(response, 404, "tenant_id", "must_exist")
    assert head_position(client) == before


def test_reads_through_a_record_are_logged_against_its_tenant(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)
    visit_id = visit_of(client, tenant_id, ANNE)
    assert as_(client, ANNE, f"/visits/{visit_id}").status_code == 200
    assert as_(client, BJORN, f"/visits/{visit_id}").status_code == 404  # the attempt too

    page = in_app(client, lambda conn: access_log.for_tenant(conn, tenant_id))
    reads = {
        (str(e.user_id), e.status, e.record_id)
        for e in page.items
        if e.endpoint == "GET /visits/{visit_id}"
    }
    assert reads == {
        (ANNE["x-folgja-user"], 200, str(visit_id)),
        (BJORN["x-folgja-user"], 404, str(visit_id)),
    }


def test_caseloads_are_the_workers_own_and_the_teams_own(client: TestClient) -> None:
    tenant_of(client, ANNE)
    assert as_(client, ANNE, f"/caseload/workers/{ANNE['x-folgja-user']}").status_code == 200
    refused = as_(client, ANNE, f"/caseload/workers/{BJORN['x-folgja-user']}")
    assert_problem(refused, 403, "authorization", "own_caseload")
    # The team lead sees every worker of the team (users the server knows in that service).
    assert as_(client, LEAD, f"/caseload/workers/{ANNE['x-folgja-user']}").status_code == 200
    assert as_(client, LEAD, "/caseload/teams/tiltaksteamet").status_code == 200
    refused = as_(client, CARE_STAFF, "/caseload/teams/tiltaksteamet")
    assert_problem(refused, 403, "authorization", "own_service")
    refused = as_(client, CARE_STAFF, f"/caseload/workers/{ANNE['x-folgja-user']}")
    assert_problem(refused, 403, "authorization", "own_caseload")


def test_another_services_staff_do_not_see_the_tenant(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)
    assert_problem(as_(client, CARE_STAFF, f"/tenants/{tenant_id}"), 404, "tenant_id", "must_exist")


# --- the same tenant, read by different roles, answers different fields --------------------


def test_the_property_manager_gets_the_tenant_without_follow_up_or_health(
    client: TestClient,
) -> None:
    tenant_id = tenant_of(client, ANNE)
    visit_id = visit_of(client, tenant_id, ANNE)
    post(
        client,
        f"/visits/{visit_id}/completion",
        {
            "worker_ids": [ANNE["x-folgja-user"]],
            "observations": {"wellbeing": "crisis", "note": "Fortrolig"},
        },
        ANNE,
    )

    full = as_(client, ANNE, f"/tenants/{tenant_id}").json()
    fbe = as_(client, FBE, f"/tenants/{tenant_id}").json()

    assert {"follow_up", "consents", "individual_plan"} <= set(full)
    assert set(fbe) == {
        "id",
        "version",
        "full_name",
        "birth_date",
        "responsible_service",
        "contact_worker_id",
        "dwelling_id",
        "lease_id",
        "lease_ids",
    }
    assert fbe["contact_worker_id"] == ANNE["x-folgja-user"]  # whom to call
    # Visit notes, the timeline and the risk are the follow-up's, never FBE's.
    for path in (f"/visits/{visit_id}", f"/tenants/{tenant_id}/timeline"):
        assert_problem(as_(client, FBE, path), 403, "authorization", "role_required")
    risk = as_(client, FBE, f"/tenants/{tenant_id}/risk-timeline")
    assert_problem(risk, 403, "authorization", "role_required")


def test_an_admin_sees_no_tenant_data(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)
    for path in (f"/tenants/{tenant_id}", f"/tenants/{tenant_id}/timeline", "/concerns"):
        assert_problem(as_(client, ADMIN, path), 403, "authorization", "role_required")


# --- NAV: the minimum identity, and only while a notification's basis holds -----------------


def notified_on_consent(client: TestClient) -> tuple[uuid.UUID, uuid.UUID, str]:
    tenant_id = tenant_of(client, ANNE)
    consent_id = uuid.uuid4()
    consent_to_nav(client, tenant_id, consent_id)
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    notice = get_case(client, case_id)["nav_notices"][0]["notification_id"]
    return tenant_id, consent_id, notice


def test_nav_without_a_notification_is_not_told_the_tenant_exists(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)
    assert_problem(as_(client, NAV, f"/tenants/{tenant_id}"), 404, "tenant_id", "must_exist")


def test_nav_with_a_notification_gets_the_minimum_identity(client: TestClient) -> None:
    tenant_id, _, notice = notified_on_consent(client)
    tenant = as_(client, NAV, f"/tenants/{tenant_id}")
    assert tenant.status_code == 200, tenant.text
    assert set(tenant.json()) == {"id", "full_name", "birth_date"}
    assert as_(client, NAV, f"/nav-notifications/{notice}").status_code == 200
    assert [n["notification_id"] for n in as_(client, NAV, "/nav-inbox").json()["items"]] == [
        notice
    ]


def test_withdrawn_consent_ends_navs_access_on_the_next_request(client: TestClient) -> None:
    tenant_id, consent_id, notice = notified_on_consent(client)
    assert as_(client, NAV, f"/tenants/{tenant_id}").status_code == 200

    post(
        client,
        f"/tenants/{tenant_id}/consents/{consent_id}/withdrawal",
        {"withdrawn_on": "2026-03-06"},
        ANNE,
    )

    # No min_position, no waiting: the very next requests already see the withdrawal.
    assert_problem(as_(client, NAV, f"/tenants/{tenant_id}"), 404, "tenant_id", "must_exist")
    assert_problem(
        as_(client, NAV, f"/nav-notifications/{notice}"), 404, "notification_id", "must_exist"
    )
    assert as_(client, NAV, "/nav-inbox").json()["items"] == []
    before = head_position(client)
    response = client.post(f"/nav-notifications/{notice}/acknowledgement", json={}, headers=NAV)
    assert_problem(response, 404, "notification_id", "must_exist")
    assert head_position(client) == before
    # The follow-up still sees the notice (it is the tenant's history).
    assert as_(client, ANNE, f"/nav-notifications/{notice}").status_code == 200


def test_a_legal_basis_does_not_depend_on_consent(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)  # no consent: the warning goes on husleieloven § 9-11
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-01", "amount_nok": 8500})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-06"})
    notices = [n for n in get_case(client, case_id)["nav_notices"] if n["notification_id"]]
    assert [n["trigger"] for n in notices] == ["eviction_warning"]
    assert as_(client, NAV, f"/tenants/{tenant_id}").status_code == 200


# --- a service named in a handover sees what it needs to answer ------------------------------


def test_the_receiving_service_sees_the_tenant_to_decide_and_no_more(client: TestClient) -> None:
    tenant_id = tenant_of(client, ANNE)
    handover_id = transfer_to_care(client, tenant_id, LEAD)
    # Who is named in a handover is read from the handover schedule: wait until it shows it.
    settled = {"min_position": head_position(client)}
    assert client.get(f"/tenants/{tenant_id}/handovers", params=settled, headers=LEAD).is_success
    tenant = client.get(f"/tenants/{tenant_id}", headers=CARE_STAFF)
    assert tenant.status_code == 200, tenant.text
    assert "follow_up" in tenant.json() and "consents" not in tenant.json()
    assert as_(client, CARE_STAFF, f"/handovers/{handover_id}").status_code == 200
    timeline = as_(client, CARE_STAFF, f"/tenants/{tenant_id}/timeline")
    assert_problem(timeline, 404, "tenant_id", "must_exist")

    post(client, f"/handovers/{handover_id}/declination", {"reason": "ikke vår"}, CARE_STAFF)
    settled = {"min_position": head_position(client)}
    assert client.get(f"/tenants/{tenant_id}/handovers", params=settled, headers=LEAD).is_success
    after = client.get(f"/tenants/{tenant_id}", headers=CARE_STAFF)
    assert_problem(after, 404, "tenant_id", "must_exist")


# --- who lives at a dwelling: only for those with a view of the resident ---------------------


def test_who_lives_at_a_dwelling_is_shown_only_to_those_who_may_see_the_tenant(
    client: TestClient,
) -> None:
    tenant_id = tenant_of(client, ANNE)
    dwelling_id, lease_id = housed(client, tenant_id)
    path = f"/dwellings/{dwelling_id}"
    resident = {"tenant_id": str(tenant_id), "active_lease_id": str(lease_id)}

    for who in (ANNE, FBE):  # the contact worker; the property manager
        answer = as_(client, who, path).json()
        assert {k: answer[k] for k in resident} == resident
    # Another service's staff: the address and the flag, not who lives there.
    other = as_(client, CARE_STAFF, path)
    assert other.status_code == 200
    assert other.json()["address"] == "Strandgata 12"
    assert "safety_flag" in other.json()
    assert not set(resident) & set(other.json())

    page = in_app(client, lambda conn: access_log.for_tenant(conn, tenant_id))
    readers = {str(e.user_id) for e in page.items if e.endpoint == "GET /dwellings/{dwelling_id}"}
    assert readers == {ANNE["x-folgja-user"], FBE["x-folgja-user"]}


def test_a_vacant_dwelling_says_so_to_everyone(client: TestClient) -> None:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Tomgata 1", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    answer = as_(client, CARE_STAFF, f"/dwellings/{dwelling_id}").json()
    assert (answer["tenant_id"], answer["active_lease_id"]) == (None, None)
