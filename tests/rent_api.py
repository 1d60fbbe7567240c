"""Helpers for the rent, NAV and consent HTTP tests."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from tests.api import post

FBE = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "fbe"}
NAV = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "nav"}


def registered_tenant(client: TestClient) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Ola Nordmann"})
    return tenant_id


def consent_to_nav(client: TestClient, tenant_id: uuid.UUID, consent_id: uuid.UUID) -> Any:
    return post(
        client,
        f"/tenants/{tenant_id}/consents",
        {
            "consent_id": str(consent_id),
            "recipients": ["nav"],
            "categories": ["rent_and_eviction"],
            "given_on": "2026-01-05",
        },
    )


def object_to_nav_notice(client: TestClient, tenant_id: uuid.UUID) -> Any:
    return post(
        client, f"/tenants/{tenant_id}/nav-notice-objection", {"opted_out_on": "2026-02-01"}
    )


def housed(
    client: TestClient, tenant_id: uuid.UUID, starts_on: str = "2026-01-01"
) -> tuple[uuid.UUID, uuid.UUID]:
    """A dwelling let to the tenant under a new lease: (dwelling_id, lease_id)."""
    dwelling_id, lease_id = uuid.uuid4(), uuid.uuid4()
    dwelling = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", dwelling, FBE)
    lease = {
        "lease_id": str(lease_id),
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(tenant_id),
        "starts_on": starts_on,
    }
    post(client, "/leases", lease, FBE)
    return dwelling_id, lease_id


def rent_case(
    client: TestClient, tenant_id: uuid.UUID, lease_id: uuid.UUID | None = None
) -> uuid.UUID:
    """The rent case of the tenant's lease (a new dwelling and lease unless one is given)."""
    if lease_id is None:
        _, lease_id = housed(client, tenant_id)
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    return uuid.UUID(post(client, "/rent-cases", body, FBE)["id"])


def step(client: TestClient, case_id: uuid.UUID, path: str, body: Any) -> Any:
    return post(client, f"/rent-cases/{case_id}/{path}", body, FBE)


def get_case(client: TestClient, case_id: uuid.UUID) -> Any:
    response = client.get(f"/rent-cases/{case_id}")
    assert response.status_code == 200, response.text
    return response.json()


def get_notification(client: TestClient, notification_id: str) -> Any:
    response = client.get(f"/nav-notifications/{notification_id}")
    assert response.status_code == 200, response.text
    return response.json()
