"""Every kind of id in every id-taking route: an id of another kind is "no such record".

Before issue 10, a dwelling's id where a tenant's was expected was replayed into the
Tenant aggregate and crashed (500), which also told a caller with no need to know that the
id existed. Now the write model loads a record only if the id starts that kind of record
(``UseCases.load``), so every route answers as for an id that does not exist.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.auth.policy import POLICY
from domain.write_model import Records
from tests.api import (
    OUTREACH,
    WORKER,
    assert_problem,
    planned_visit,
    post,
    tenant_in_follow_up,
    transfer_to_care,
)
from tests.rent_api import FBE, NAV, consent_to_nav, get_case, housed, rent_case, step

# The records a path parameter names, by the parameter's name.
KIND_OF_PARAMETER = {
    "tenant_id": "tenant",
    "dwelling_id": "dwelling",
    "lease_id": "lease",
    "visit_id": "visit",
    "concern_id": "concern",
    "handover_id": "handover",
    "rent_case_id": "rent_case",
    "notification_id": "nav_notification",
    "check_in_id": "check_in",
}


@pytest.fixture
def records(client: TestClient) -> dict[str, uuid.UUID]:
    """One record of every kind, all about one tenant (so the callers may see them)."""
    tenant_id = tenant_in_follow_up(client)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    dwelling_id, lease_id = housed(client, tenant_id)
    case_id = rent_case(client, tenant_id, lease_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    notice = get_case(client, case_id)["nav_notices"][0]["notification_id"]
    concern = {
        "concern_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "category": "damage",
        "description": "x",
    }
    handover_id = transfer_to_care(client, tenant_id)
    check_in = {
        "check_in_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling_id),
        "expected_minutes": 30,
        "tenant_id": str(tenant_id),
    }
    return {
        "tenant": tenant_id,
        "dwelling": dwelling_id,
        "lease": lease_id,
        "visit": planned_visit(client, tenant_id),
        "concern": uuid.UUID(post(client, "/concerns", concern, FBE)["id"]),
        "handover": handover_id,
        "rent_case": case_id,
        "nav_notification": uuid.UUID(notice),
        "check_in": uuid.UUID(post(client, "/check-ins", check_in)["id"]),
    }


def _routes_with_record_ids() -> list[tuple[str, str, list[str]]]:
    routes = []
    for method, path in POLICY:
        names = [n for n in re.findall(r"\{(\w+):uuid\}", path) if n in KIND_OF_PARAMETER]
        if names:
            routes.append((method, path, names))
    return routes


def _filled(template: str, ids: dict[str, uuid.UUID]) -> str:
    """The path with these ids, and a new id for any other parameter (a consent's, say)."""
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(ids.get(m.group(1), uuid.uuid4())), template)


def _callers(client: TestClient) -> list[dict[str, str]]:
    """A follower of the tenant, the landlord, NAV: between them every route's roles."""
    return [OUTREACH, FBE, NAV]


def test_an_id_of_another_kind_is_no_record_on_every_route(
    client: TestClient, records: dict[str, uuid.UUID]
) -> None:
    checked = 0
    for method, template, names in _routes_with_record_ids():
        for name in names:
            for kind, wrong_id in records.items():
                if kind == KIND_OF_PARAMETER[name]:
                    continue
                ids = {n: records[KIND_OF_PARAMETER[n]] for n in names} | {name: wrong_id}
                path = _filled(template, ids)
                for headers in _callers(client):
                    if method == "GET":
                        response = client.get(path, headers=headers)
                    else:
                        response = client.post(path, json={}, headers=headers)
                    assert response.status_code < 500, (method, template, name, kind, response.text)
                    if method == "GET" and response.status_code != 403:
                        assert response.status_code == 404, (template, name, kind, response.text)
                    checked += 1
    assert checked > 500  # every route, parameter, kind and caller was tried


# Commands with a valid body, so the use case itself loads the record the path names.
def test_commands_naming_an_id_of_another_kind_answer_not_found(
    client: TestClient, records: dict[str, uuid.UUID]
) -> None:
    dwelling, tenant, visit = records["dwelling"], records["tenant"], records["visit"]
    follow_up = {"visit_interval_days": 14, "started_on": "2026-03-01"}
    response = client.post(f"/tenants/{dwelling}/follow-up", json=follow_up, headers=OUTREACH)
    assert_problem(response, 404, "tenant_id", "must_exist")
    completion = {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "good"}}
    response = client.post(f"/visits/{tenant}/completion", json=completion, headers=OUTREACH)
    assert_problem(response, 404, "visit_id", "must_exist")
    flag = {"kind": "two_person", "reason": "other", "review_on": "2026-06-01"}
    response = client.post(f"/dwellings/{tenant}/safety-flag", json=flag, headers=FBE)
    assert_problem(response, 404, "dwelling_id", "must_exist")
    response = client.post(f"/dwellings/{visit}/safety-flag/review", json=flag, headers=FBE)
    assert response.status_code == 422  # the body is checked first: review takes review_on only
    review = {"review_on": "2026-06-01"}
    response = client.post(f"/dwellings/{visit}/safety-flag/review", json=review, headers=FBE)
    assert_problem(response, 404, "dwelling_id", "must_exist")


def test_references_in_a_body_of_another_kind_answer_not_found(
    client: TestClient, records: dict[str, uuid.UUID]
) -> None:
    tenant, dwelling = records["tenant"], records["dwelling"]
    lease = {
        "lease_id": str(uuid.uuid4()),
        "dwelling_id": str(tenant),
        "tenant_id": str(tenant),
        "starts_on": "2026-01-01",
    }
    assert_problem(
        client.post("/leases", json=lease, headers=FBE), 404, "dwelling_id", "must_exist"
    )
    lease = {**lease, "dwelling_id": str(dwelling), "tenant_id": str(dwelling)}
    assert_problem(client.post("/leases", json=lease, headers=FBE), 404, "tenant_id", "must_exist")
    case = {"lease_id": str(tenant), "tenant_id": str(tenant)}
    assert_problem(
        client.post("/rent-cases", json=case, headers=FBE), 404, "lease_id", "must_exist"
    )
    concern = {
        "concern_id": str(uuid.uuid4()),
        "dwelling_id": str(records["visit"]),
        "category": "damage",
        "description": "x",
    }
    response = client.post("/concerns", json=concern, headers=FBE)
    assert_problem(response, 404, "dwelling_id", "must_exist")
    concern = {**concern, "dwelling_id": None, "tenant_id": str(dwelling)}
    response = client.post("/concerns", json=concern, headers=FBE)
    assert_problem(response, 404, "tenant_id", "must_exist")
    handover = {
        "handover_id": str(uuid.uuid4()),
        "tenant_id": str(records["lease"]),
        "from_service": "tiltaksteamet",
        "to_service": "omsorg",
        "kind": "internal_transfer",
        "effective_on": "2026-04-01",
    }
    response = client.post("/handovers", json=handover, headers=OUTREACH)
    assert_problem(response, 404, "tenant_id", "must_exist")


def test_every_loader_knows_only_its_own_kind(
    client: TestClient, records: dict[str, uuid.UUID]
) -> None:
    request: Records = client.app.state.runtime.write_model.records()
    loaders: dict[str, Any] = {
        "tenant": request.tenant,
        "dwelling": request.dwelling,
        "lease": request.lease,
        "visit": request.visit,
        "concern": request.concern,
        "handover": request.handover,
        "rent_case": request.rent_case,
        "nav_notification": request.nav_notification,
    }
    for kind, load in loaders.items():
        for other, record_id in records.items():
            state = load(record_id)
            if other == kind:
                assert state is not None and state.id == record_id, (kind, other)
            else:
                assert state is None, (kind, other)
