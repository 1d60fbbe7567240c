"""Small helpers for driving the real HTTP app in tests."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECOND_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
OUTREACH = {"x-folgja-user": str(WORKER), "x-folgja-service": "tiltaksteamet"}


def post(client: TestClient, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    response = client.post(path, json=body, headers=headers or OUTREACH)
    assert response.status_code == 201, response.text
    return response.json()


def tenant_in_follow_up(client: TestClient, interval_days: int = 14) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"})
    post(
        client,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": interval_days, "started_on": "2026-03-01"},
    )
    return tenant_id


def planned_visit(
    client: TestClient,
    tenant_id: uuid.UUID,
    *workers: uuid.UUID,
    headers: dict[str, str] | None = None,
) -> uuid.UUID:
    """A visit planned for the tenant, with ``workers`` (the team's WORKER if none)."""
    visit_id = uuid.uuid4()
    post(
        client,
        f"/tenants/{tenant_id}/visits",
        {
            "visit_id": str(visit_id),
            "planned_for": "2026-03-07T10:00:00+01:00",
            "worker_ids": [str(w) for w in workers or (WORKER,)],
        },
        headers,
    )
    return visit_id


def transfer_to_care(
    client: TestClient, tenant_id: uuid.UUID, headers: dict[str, str] | None = None
) -> uuid.UUID:
    """An internal transfer of the tenant from the outreach team to omsorg, announced."""
    handover_id = uuid.uuid4()
    body = {
        "handover_id": str(handover_id),
        "tenant_id": str(tenant_id),
        "from_service": "tiltaksteamet",
        "to_service": "omsorg",
        "kind": "internal_transfer",
        "effective_on": "2026-04-01",
    }
    post(client, "/handovers", body, headers)
    return handover_id


PROBLEM_JSON = "application/problem+json"


def head_position(client: TestClient) -> int:
    """The event log's head, read from the store itself (not from a projection)."""
    response = client.get("/health")
    assert response.status_code == 200, response.text
    head: int = response.json()["head_position"]
    return head


def timeline(
    client: TestClient,
    tenant_id: uuid.UUID,
    min_position: int,
    headers: dict[str, str] | None = None,
) -> list[Any]:
    response = client.get(
        f"/tenants/{tenant_id}/timeline", params={"min_position": min_position}, headers=headers
    )
    assert response.status_code == 200, response.text
    entries: list[Any] = response.json()
    return entries


def assert_problem(response: Any, status: int, field: str, rule: str) -> dict[str, Any]:
    """An RFC 9457 problem naming the field and the rule that refused the request."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["errors"][0]["field"] == field, body
    assert body["errors"][0]["rule"] == rule, body
    return body
