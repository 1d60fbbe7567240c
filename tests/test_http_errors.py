"""Bad input: every refusal is a problem+json naming field and rule, and writes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from domain.municipal_services import Service
from tests.api import (
    OUTREACH,
    PROBLEM_JSON,
    WORKER,
    assert_problem,
    head_position,
    planned_visit,
    post,
    tenant_in_follow_up,
)

JSON = {**OUTREACH, "content-type": "application/json"}


@contextmanager
def writes_nothing(client: TestClient) -> Iterator[None]:
    before = head_position(client)
    yield
    assert head_position(client) == before, "a refused request wrote an event"


@pytest.fixture
def tenant_id(client: TestClient) -> uuid.UUID:
    return tenant_in_follow_up(client)


def new_tenant(**fields: Any) -> dict[str, Any]:
    return {"tenant_id": str(uuid.uuid4()), "full_name": "Kari", **fields}


def visit_plan(**fields: Any) -> dict[str, Any]:
    return {
        "visit_id": str(uuid.uuid4()),
        "planned_for": "2026-03-07T10:00:00+01:00",
        "worker_ids": [str(WORKER)],
        **fields,
    }


# --- bodies that are not JSON ------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"tenant_id": "x",', b"\xff\xfe", b'{"full_name": "\\ud800"}'],
    ids=["garbage", "truncated", "not-utf8", "lone-surrogate"],
)
def test_malformed_json_is_400(client: TestClient, body: bytes) -> None:
    with writes_nothing(client):
        response = client.post("/tenants", content=body, headers=JSON)
    problem = assert_problem(response, 400, "body", "valid_json")
    assert problem["type"].startswith("https://")


@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_deeply_nested_json_is_400_not_a_crash(client: TestClient, opening: str) -> None:
    depth = 100_000
    closing = "]" if opening == "[" else "}"
    body = opening * depth + ("" if opening == "[" else "1") + closing * depth
    with writes_nothing(client):
        response = client.post("/tenants", content=body.encode(), headers=JSON)
    assert_problem(response, 400, "body", "max_depth")


def test_moderately_nested_json_is_an_ordinary_validation_error(client: TestClient) -> None:
    body = new_tenant(full_name=json.loads("[" * 300 + "]" * 300))
    with writes_nothing(client):
        response = client.post("/tenants", json=body, headers=OUTREACH)
    assert_problem(response, 422, "full_name", "type")


def test_a_body_over_one_mib_is_413(client: TestClient) -> None:
    body = json.dumps(new_tenant(full_name="x" * (1024 * 1024))).encode()
    with writes_nothing(client):
        response = client.post("/tenants", content=body, headers=JSON)
    assert_problem(response, 413, "body", "max_size")


@pytest.mark.parametrize(
    ("body", "rule"), [(b"", "required"), (b"null", "type"), (b"[]", "type"), (b'"x"', "type")]
)
def test_a_body_that_is_not_an_object_is_422(client: TestClient, body: bytes, rule: str) -> None:
    with writes_nothing(client):
        response = client.post("/tenants", content=body, headers=JSON)
    assert_problem(response, 422, "body", rule)


# --- bodies that are JSON but not the command ---------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (new_tenant(full_name=5), "full_name", "type"),
        (new_tenant(birth_date=19800517), "birth_date", "type"),
        ({"full_name": "Kari"}, "tenant_id", "required"),
        ({"tenant_id": str(uuid.uuid4())}, "full_name", "required"),
        (new_tenant(nickname="K"), "nickname", "unknown_field"),
        (new_tenant(tenant_id="not-a-uuid"), "tenant_id", "format"),
        (new_tenant(tenant_id=12), "tenant_id", "type"),
        (new_tenant(birth_date="17.05.1980"), "birth_date", "format"),
        (new_tenant(occurred_at="yesterday"), "occurred_at", "format"),
        (new_tenant(full_name=""), "full_name", "length"),
        (new_tenant(full_name="x" * 201), "full_name", "length"),
    ],
    ids=[
        "wrong-type",
        "date-as-number",
        "missing-id",
        "missing-name",
        "unknown-field",
        "invalid-uuid",
        "uuid-as-number",
        "date-format",
        "datetime-format",
        "empty-name",
        "long-name",
    ],
)
def test_register_body_is_validated(
    client: TestClient, body: dict[str, Any], field: str, rule: str
) -> None:
    with writes_nothing(client):
        response = client.post("/tenants", json=body, headers=OUTREACH)
    assert_problem(response, 422, field, rule)


@pytest.mark.parametrize("days", [0, 366, -7])
def test_visit_interval_outside_range_is_422(client: TestClient, days: int) -> None:
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Ola"})
    with writes_nothing(client):
        response = client.post(
            f"/tenants/{tenant_id}/follow-up",
            json={"visit_interval_days": days, "started_on": "2026-03-01"},
            headers=OUTREACH,
        )
    assert_problem(response, 422, "visit_interval_days", "range")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/tenants/{t}/responsibility",
            {"service": "barnevernet", "contact_worker_id": str(uuid.uuid4())},
            "service",
        ),
        (
            "/tenants/{t}/responsibility",
            {"service": "NAV", "contact_worker_id": str(uuid.uuid4())},
            "service",
        ),
        (
            "/visits/{v}/completion",
            {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "ok"}},
            "observations.wellbeing",
        ),
        ("/visits/{v}/failure", {"worker_ids": [str(WORKER)], "reason": "sick"}, "reason"),
    ],
    ids=["unknown-service", "service-wrong-case", "wellbeing", "failure-reason"],
)
def test_an_invalid_enum_value_is_422(
    client: TestClient, tenant_id: uuid.UUID, path: str, body: dict[str, Any], field: str
) -> None:
    visit_id = planned_visit(client, tenant_id)
    with writes_nothing(client):
        response = client.post(path.format(t=tenant_id, v=visit_id), json=body, headers=OUTREACH)
    assert_problem(response, 422, field, "allowed_values")


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        (visit_plan(worker_ids=["bob"]), "worker_ids[0]", "format"),
        (visit_plan(worker_ids=[]), "worker_ids", "length"),
        (visit_plan(worker_ids=[str(uuid.uuid4()) for _ in range(5)]), "worker_ids", "length"),
        (visit_plan(worker_ids=[str(WORKER), str(WORKER)]), "worker_ids", "unique"),
        (visit_plan(visit_id="42"), "visit_id", "format"),
        (visit_plan(planned_for="2026-03-07T10:00:00"), "planned_for", "timezone_required"),
        (visit_plan(planned_for="next tuesday"), "planned_for", "format"),
        (visit_plan(when="soon"), "when", "unknown_field"),
    ],
    ids=[
        "worker-not-uuid",
        "no-workers",
        "five-workers",
        "same-worker-twice",
        "visit-id-not-uuid",
        "naive-time",
        "time-format",
        "unknown-field",
    ],
)
def test_plan_visit_body_is_validated(
    client: TestClient, tenant_id: uuid.UUID, body: dict[str, Any], field: str, rule: str
) -> None:
    with writes_nothing(client):
        response = client.post(f"/tenants/{tenant_id}/visits", json=body, headers=OUTREACH)
    assert_problem(response, 422, field, rule)


@pytest.mark.parametrize(
    ("observations", "field", "rule"),
    [
        ({"wellbeing": "good", "note": "x" * 10_001}, "observations.note", "length"),
        ({"wellbeing": "good", "mood": "happy"}, "observations.mood", "unknown_field"),
        ({"note": "hei"}, "observations.wellbeing", "required"),
    ],
    ids=["note-too-long", "unknown-nested-field", "missing-nested-field"],
)
def test_observations_are_validated_by_their_full_path(
    client: TestClient,
    tenant_id: uuid.UUID,
    observations: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    visit_id = planned_visit(client, tenant_id)
    with writes_nothing(client):
        response = client.post(
            f"/visits/{visit_id}/completion",
            json={"worker_ids": [str(WORKER)], "observations": observations},
            headers=OUTREACH,
        )
    assert_problem(response, 422, field, rule)


def test_blank_name_is_refused_by_the_domain(client: TestClient) -> None:
    with writes_nothing(client):
        response = client.post("/tenants", json=new_tenant(full_name="   "), headers=OUTREACH)
    assert_problem(response, 422, "full_name", "not_blank")


def test_birth_date_in_the_future_is_422(client: TestClient) -> None:
    # The test clock says 2026-03-06.
    with writes_nothing(client):
        response = client.post(
            "/tenants", json=new_tenant(birth_date="2026-03-07"), headers=OUTREACH
        )
    assert_problem(response, 422, "birth_date", "not_in_future")


def test_ending_before_the_start_is_422(client: TestClient, tenant_id: uuid.UUID) -> None:
    with writes_nothing(client):
        response = client.post(
            f"/tenants/{tenant_id}/follow-up/end",
            json={"ended_on": "2026-02-28", "reason": "moved"},
            headers=OUTREACH,
        )
    assert_problem(response, 422, "ended_on", "not_before_start")


# --- ids that name nothing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tenants/not-a-uuid"),
        ("GET", "/tenants/12345/timeline"),
        ("POST", "/tenants/not-a-uuid/follow-up"),
        ("GET", "/visits/not-a-uuid"),
        ("POST", "/visits/not-a-uuid/completion"),
    ],
)
def test_a_path_id_that_is_not_a_uuid_is_a_404_problem(
    client: TestClient, method: str, path: str
) -> None:
    body = {"visit_interval_days": 7, "started_on": "2026-03-01"}
    with writes_nothing(client):
        response = client.request(method, path, json=body, headers=OUTREACH)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("GET", "/tenants/{id}", None, "tenant_id"),
        ("GET", "/tenants/{id}/timeline", None, "tenant_id"),
        (
            "POST",
            "/tenants/{id}/follow-up",
            {"visit_interval_days": 7, "started_on": "2026-03-01"},
            "tenant_id",
        ),
        (
            "POST",
            "/tenants/{id}/responsibility",
            {"service": "nav", "contact_worker_id": str(uuid.uuid4())},
            "tenant_id",
        ),
        (
            "POST",
            "/tenants/{id}/follow-up/end",
            {"ended_on": "2026-03-05", "reason": "x"},
            "tenant_id",
        ),
        ("POST", "/tenants/{id}/visits", visit_plan(), "tenant_id"),
        ("GET", "/visits/{id}", None, "visit_id"),
        (
            "POST",
            "/visits/{id}/completion",
            {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "good"}},
            "visit_id",
        ),
        (
            "POST",
            "/visits/{id}/failure",
            {"worker_ids": [str(WORKER)], "reason": "cancelled"},
            "visit_id",
        ),
    ],
)
def test_an_unknown_id_is_404(
    client: TestClient, method: str, path: str, body: dict[str, Any] | None, field: str
) -> None:
    tenant_in_follow_up(client)  # something exists, just not this
    with writes_nothing(client):
        response = client.request(method, path.format(id=uuid.uuid4()), json=body, headers=OUTREACH)
    assert_problem(response, 404, field, "must_exist")


# --- commands the current state does not allow --------------------------------------------------


def test_completing_a_visit_twice_is_409(client: TestClient, tenant_id: uuid.UUID) -> None:
    visit_id = planned_visit(client, tenant_id)
    body = {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "good"}}
    post(client, f"/visits/{visit_id}/completion", body)
    with writes_nothing(client):
        response = client.post(f"/visits/{visit_id}/completion", json=body, headers=OUTREACH)
    assert_problem(response, 409, "visit_id", "visit_planned")


def test_failing_a_completed_visit_is_409(client: TestClient, tenant_id: uuid.UUID) -> None:
    visit_id = planned_visit(client, tenant_id)
    post(
        client,
        f"/visits/{visit_id}/completion",
        {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "good"}},
    )
    with writes_nothing(client):
        response = client.post(
            f"/visits/{visit_id}/failure",
            json={"worker_ids": [str(WORKER)], "reason": "cancelled"},
            headers=OUTREACH,
        )
    assert_problem(response, 409, "visit_id", "visit_planned")


def test_planning_a_visit_after_follow_up_ended_is_409(
    client: TestClient, tenant_id: uuid.UUID
) -> None:
    post(
        client,
        f"/tenants/{tenant_id}/follow-up/end",
        {"ended_on": "2026-03-05", "reason": "moved away"},
    )
    with writes_nothing(client):
        response = client.post(f"/tenants/{tenant_id}/visits", json=visit_plan(), headers=OUTREACH)
    assert_problem(response, 409, "tenant_id", "follow_up_active")


def test_planning_a_visit_before_follow_up_started_is_409(client: TestClient) -> None:
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Kari"})
    with writes_nothing(client):
        response = client.post(f"/tenants/{tenant_id}/visits", json=visit_plan(), headers=OUTREACH)
    assert_problem(response, 409, "tenant_id", "follow_up_active")


def test_starting_follow_up_twice_is_409(client: TestClient, tenant_id: uuid.UUID) -> None:
    with writes_nothing(client):
        response = client.post(
            f"/tenants/{tenant_id}/follow-up",
            json={"visit_interval_days": 7, "started_on": "2026-03-02"},
            headers=OUTREACH,
        )
    assert_problem(response, 409, "tenant_id", "follow_up_not_active")


def test_ending_follow_up_twice_is_409(client: TestClient, tenant_id: uuid.UUID) -> None:
    body = {"ended_on": "2026-03-05", "reason": "moved away"}
    post(client, f"/tenants/{tenant_id}/follow-up/end", body)
    with writes_nothing(client):
        response = client.post(f"/tenants/{tenant_id}/follow-up/end", json=body, headers=OUTREACH)
    assert_problem(response, 409, "tenant_id", "follow_up_active")


# --- who is calling ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"x-folgja-service": "tiltaksteamet"},
        {**OUTREACH, "x-folgja-user": "bob"},
        {**OUTREACH, "x-folgja-user": ""},
        {"x-folgja-user": str(WORKER)},
        {**OUTREACH, "x-folgja-service": "politiet"},
        {},
    ],
    ids=["no-user", "user-not-uuid", "user-empty", "no-service", "unknown-service", "nothing"],
)
def test_an_unidentified_caller_is_401(client: TestClient, headers: dict[str, str]) -> None:
    # Identity headers are not read any more: without a bearer token there is no caller.
    with writes_nothing(client):
        response = client.post("/tenants", json=new_tenant(), headers=headers)
    assert_problem(response, 401, "authorization", "authentication_required")


def test_identity_headers_without_a_token_are_401(client: TestClient) -> None:
    # Well-formed x-folgja-user/-service headers name nobody: the server reads only tokens.
    client.anonymous = True  # type: ignore[attr-defined]
    with writes_nothing(client):
        response = client.post("/tenants", json=new_tenant(), headers=OUTREACH)
    assert_problem(response, 401, "authorization", "authentication_required")


def test_a_tampered_token_is_401(client: TestClient) -> None:
    token = client.token_for(WORKER, Service.OUTREACH_TEAM)  # type: ignore[attr-defined]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with writes_nothing(client):
        response = client.post(
            "/tenants", json=new_tenant(), headers={"authorization": f"Bearer {tampered}"}
        )
    assert_problem(response, 401, "authorization", "invalid_token")


def test_the_caller_is_checked_before_the_command_is_validated(client: TestClient) -> None:
    # An unidentified caller learns nothing about what a valid command looks like.
    with writes_nothing(client):
        response = client.post("/tenants", json={"full_name": 5}, headers={})
    assert_problem(response, 401, "authorization", "authentication_required")


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    ["2026-03-06T15:35:01Z", "2026-03-06T16:36:00+01:00", "2027-01-01T00:00:00Z"],
    ids=["just-over-five-minutes", "ahead-in-oslo-time", "next-year"],
)
def test_occurred_at_in_the_future_is_422(client: TestClient, occurred_at: str) -> None:
    # The test clock says 2026-03-06T15:30:00Z; five minutes of skew are tolerated.
    with writes_nothing(client):
        response = client.post(
            "/tenants", json=new_tenant(occurred_at=occurred_at), headers=OUTREACH
        )
    assert_problem(response, 422, "occurred_at", "not_in_future")


def test_occurred_at_within_the_tolerated_skew_is_accepted(client: TestClient) -> None:
    post(client, "/tenants", new_tenant(occurred_at="2026-03-06T15:35:00Z"))


def test_occurred_at_without_offset_is_422(client: TestClient) -> None:
    with writes_nothing(client):
        response = client.post(
            "/tenants", json=new_tenant(occurred_at="2026-03-06T15:00:00"), headers=OUTREACH
        )
    assert_problem(response, 422, "occurred_at", "timezone_required")


# --- query parameters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"min_position": -1}, "min_position", "range"),
        ({"min_position": "soon"}, "min_position", "type"),
        ({"limit": 0}, "limit", "range"),
        ({"limit": 501}, "limit", "range"),
        ({"after": -1}, "after", "range"),
    ],
)
def test_timeline_query_parameters_are_validated(
    client: TestClient, tenant_id: uuid.UUID, params: dict[str, Any], field: str, rule: str
) -> None:
    response = client.get(f"/tenants/{tenant_id}/timeline", params=params)
    assert_problem(response, 422, field, rule)


# --- anything at all ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return values | json_values


register_like = st.fixed_dictionaries(
    {},
    optional={
        "tenant_id": maybe(st.uuids().map(str)),
        "full_name": maybe(st.text(max_size=250)),
        "birth_date": maybe(st.dates().map(lambda d: d.isoformat())),
        "occurred_at": maybe(st.datetimes().map(lambda d: d.isoformat())),
        "nickname": json_values,
    },
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=json_values | register_like)
def test_no_json_body_makes_register_fail_on_our_side(client: TestClient, body: Any) -> None:
    response = client.post("/tenants", content=json.dumps(body).encode(), headers=JSON)

    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        error = response.json()["errors"][0]
        assert error["field"]
        assert error["rule"]
    else:
        assert response.status_code == 201
        assert response.json()["id"] == body["tenant_id"]


def test_responsibility_without_a_named_contact_is_422(
    client: TestClient, tenant_id: uuid.UUID
) -> None:
    # Every active tenant has one responsible service AND a named contact.
    with writes_nothing(client):
        response = client.post(
            f"/tenants/{tenant_id}/responsibility", json={"service": "nav"}, headers=OUTREACH
        )
    assert_problem(response, 422, "contact_worker_id", "required")
