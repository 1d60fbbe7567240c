"""Refusals Litestar makes before a handler runs name the field and the rule too."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tests.api import OUTREACH, assert_problem

JSON = {**OUTREACH, "content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/tenants/abc", "tenant_id"),
        ("/tenants/abc/timeline", "tenant_id"),
        ("/visits/12345", "visit_id"),
        ("/tenants/00000000-0000-4000-8000-00000000000a/consents/x/withdrawal", "consent_id"),
    ],
)
def test_a_path_id_that_is_no_uuid_is_a_404_naming_it(
    client: TestClient, path: str, field: str
) -> None:
    method = "POST" if path.endswith("withdrawal") else "GET"
    response = client.request(method, path, headers=JSON, json={} if method == "POST" else None)
    problem = assert_problem(response, 404, field, "format")
    assert problem["errors"][0]["detail"] == f"{field} must be a UUID"
    assert problem["detail"] == f"{field}: {field} must be a UUID"


def test_a_path_no_route_has_is_a_404_naming_the_path(client: TestClient) -> None:
    assert_problem(client.get("/no-such-thing", headers=OUTREACH), 404, "path", "must_exist")


def test_a_method_the_path_does_not_take_is_a_405(client: TestClient) -> None:
    assert_problem(client.delete("/tenants", headers=OUTREACH), 405, "method", "allowed_values")


@pytest.mark.parametrize("content", [b"", None], ids=["empty", "absent"])
def test_an_empty_body_is_required(client: TestClient, content: bytes | None) -> None:
    response = client.post("/tenants", content=content, headers=JSON)
    problem = assert_problem(response, 422, "body", "required")
    assert problem["errors"][0]["detail"] == "a JSON body is required"
    assert "'data'" not in response.text


def test_a_lone_surrogate_is_invalid_json_not_truncated(client: TestClient) -> None:
    response = client.post("/tenants", content=b'{"full_name": "\\ud800"}', headers=JSON)
    problem = assert_problem(response, 400, "body", "valid_json")
    assert "surrogate" in problem["errors"][0]["detail"]
    assert "truncated" not in response.text.lower()
    assert problem["title"] == "The body is not valid JSON"


def test_truncated_json_says_it_ends_too_early(client: TestClient) -> None:
    response = client.post("/tenants", content=b'{"full_name": "Kari"', headers=JSON)
    problem = assert_problem(response, 400, "body", "valid_json")
    assert problem["errors"][0]["detail"] == "the JSON is not valid: it ends before it is complete"
