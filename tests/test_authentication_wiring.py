"""Authentication and the access log are wired once, for the whole application.

Every route but the public ones needs a bearer token; the event actor is the token's
caller, whatever the request claims; a revoked tablet is told to wipe on any route; and a
request about a tenant leaves one access-log row, or fails if it cannot.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from backend.auth import access_log, access_middleware
from backend.auth.access_log import AccessAction
from backend.auth.guards import PUBLIC_ROUTES, is_public
from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.api import assert_problem, head_position
from tests.auth_api import bearer, in_app, login, make_user, signed_in
from tests.web_helpers import csrf_header

SKIPPED_METHODS = {"OPTIONS", "HEAD"}


def _sample(kind: Any) -> str:
    if kind is uuid.UUID:
        return str(uuid.uuid4())
    if kind is int:
        return "1"
    return "x"


def _protected(client: TestClient[Any]) -> list[tuple[str, str, str]]:
    """(method, template, concrete path) of every route that needs a token."""
    found: list[tuple[str, str, str]] = []
    for route in client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        values = {p.name: _sample(p.type) for p in route.path_parameters.values()}
        path = route.path_format.format(**values)
        for method in sorted(route.methods - SKIPPED_METHODS):
            if not is_public(method, route.path_format):
                found.append((str(method), route.path_format, path))
    return found


def test_every_route_but_the_public_ones_needs_a_token(client: TestClient[Any]) -> None:
    client.anonymous = True  # type: ignore[attr-defined]
    routes = _protected(client)
    assert len(routes) > 40, routes  # the whole API, not an empty list
    for method, template, path in routes:
        # A web form carries its CSRF token (without it: 403 before the token is asked for).
        csrf = csrf_header(client) if template.startswith("/web") and method == "POST" else {}
        response = client.request(method, path, json={}, headers=csrf)
        assert response.status_code == 401, (method, template, response.text)
        assert response.json()["errors"][0]["rule"] == "authentication_required", template


def test_the_public_routes_answer_without_a_token(client: TestClient[Any]) -> None:
    client.anonymous = True  # type: ignore[attr-defined]
    templates = {(m, r.path_format) for r in client.app.routes for m in r.methods}
    assert templates >= PUBLIC_ROUTES  # the exclude list names real routes
    for path in ("/health", "/ready", "/metrics", "/schema/openapi.json"):
        assert client.get(path).status_code == 200, path
    for path in ("/auth/login", "/auth/refresh", "/auth/device-token"):
        # Refused for the body (422/400), not for a missing token.
        response = client.post(path, json={})
        assert response.status_code in (400, 422), (path, response.text)


def _timeline_actors(client: TestClient[Any], tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    response = client.get(
        f"/tenants/{tenant_id}/timeline", params={"min_position": head_position(client)}
    )
    assert response.status_code == 200, response.text
    return [(e["actor_user_id"], e["actor_service"]) for e in response.json()]


def test_the_actor_is_the_token_holder_whatever_is_claimed(client: TestClient[Any]) -> None:
    kari = make_user(client, "kari", Role.TEAM_LEAD, service=Service.OUTREACH_TEAM)
    token = bearer(login(client, "kari")["access_token"])
    someone_else = str(uuid.uuid4())
    claims = {"x-folgja-user": someone_else, "x-folgja-service": "admin", **token}
    tenant_id = uuid.uuid4()

    # Escalation through the body: fields that are not part of the command are refused.
    escalation = {
        "tenant_id": str(tenant_id),
        "full_name": "Test Beboer",
        "roles": ["admin"],
        "actor": {"user_id": someone_else, "service": "admin"},
    }
    refused = client.post("/tenants", json=escalation, headers=claims)
    assert refused.status_code in (400, 422), refused.text

    # Escalation through headers: ignored, the token decides.
    body = {"tenant_id": str(tenant_id), "full_name": "Test Beboer"}
    response = client.post("/tenants", json=body, headers=claims)
    assert response.status_code == 201, response.text
    assert _timeline_actors(client, tenant_id) == [(str(kari), "tiltaksteamet")]


def test_a_revoked_device_is_told_to_wipe_on_a_tenant_route(client: TestClient[Any]) -> None:
    make_user(client, "kari", Role.FIELD_WORKER)
    kari = bearer(login(client, "kari")["access_token"])
    registered = client.post("/devices", json={"label": "nettbrett"}, headers=kari)
    assert registered.status_code == 201, registered.text
    device = registered.json()
    grant = client.post(
        "/auth/device-token", json={"device_credential": device["device_credential"]}
    )
    assert grant.status_code == 200, grant.text
    on_device = bearer(grant.json()["access_token"])
    tenant_id = uuid.uuid4()

    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    revoked = client.post(f"/devices/{device['device_id']}/revocation", headers=admin)
    assert revoked.status_code == 201, revoked.text

    answer = client.get(f"/tenants/{tenant_id}", headers=on_device)
    body = assert_problem(answer, 401, "device", "device_revoked")
    assert body["errors"][0]["action"] == "wipe"
    assert answer.headers["folgja-device-action"] == "wipe"


def _entries(client: TestClient[Any], tenant_id: uuid.UUID) -> list[access_log.AccessLogEntry]:
    page = in_app(client, lambda conn: access_log.for_tenant(conn, tenant_id))
    return list(reversed(page.items))


def test_reads_and_changes_of_a_tenant_are_logged(client: TestClient[Any]) -> None:
    kari = make_user(client, "kari", Role.TEAM_LEAD)
    token = bearer(login(client, "kari")["access_token"])
    tenant_id = uuid.uuid4()
    body = {"tenant_id": str(tenant_id), "full_name": "Test Beboer"}
    assert client.post("/tenants", json=body, headers=token).status_code == 201
    follow_up = {"visit_interval_days": 14, "started_on": "2026-03-01"}
    response = client.post(f"/tenants/{tenant_id}/follow-up", json=follow_up, headers=token)
    assert response.status_code == 201, response.text
    assert client.get(f"/tenants/{tenant_id}", headers=token).status_code == 200

    entries = _entries(client, tenant_id)
    assert [(e.action, e.endpoint, e.status) for e in entries] == [
        (AccessAction.CHANGE, "POST /tenants", 201),
        (AccessAction.CHANGE, "POST /tenants/{tenant_id}/follow-up", 201),
        (AccessAction.READ, "GET /tenants/{tenant_id}", 200),
    ]
    assert {(e.user_id, e.tenant_id, e.service) for e in entries} == {
        (kari, tenant_id, "tiltaksteamet")
    }


def test_a_refused_read_is_logged_an_unauthenticated_one_not(client: TestClient[Any]) -> None:
    kari = make_user(client, "kari", Role.FIELD_WORKER)
    token = bearer(login(client, "kari")["access_token"])
    unknown = uuid.uuid4()
    assert client.get(f"/tenants/{unknown}", headers=token).status_code == 404
    client.anonymous = True  # type: ignore[attr-defined]
    assert client.get(f"/tenants/{unknown}").status_code == 401
    entries = _entries(client, unknown)
    assert [(e.user_id, e.action, e.status) for e in entries] == [(kari, AccessAction.READ, 404)]


def test_a_request_fails_if_its_access_log_row_cannot_be_written(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    token = signed_in(client, "kari", Role.TEAM_LEAD)
    tenant_id = uuid.uuid4()
    body = {"tenant_id": str(tenant_id), "full_name": "Test Beboer"}
    assert client.post("/tenants", json=body, headers=token).status_code == 201

    async def broken(*_: Any, **__: Any) -> int:
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(access_middleware, "record_access", broken)
    response = client.get(f"/tenants/{tenant_id}", headers=token)
    assert response.status_code == 500
    problem = response.json()
    assert problem["type"].endswith("/access-log-unavailable")
    assert "Test Beboer" not in response.text  # the tenant's data was not sent
