"""Helpers for the sync tests: a field worker with a registered tablet, over real HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from projections.registry import all_projections
from tests.api import head_position, post
from tests.auth_api import bearer, login, make_user


class Tablet:
    """A field worker's registered tablet: its user id, device id and bearer header."""

    def __init__(self, client: TestClient, username: str, service: Service) -> None:
        self.user_id = make_user(client, username, Role.FIELD_WORKER, service=service)
        on_web = bearer(login(client, username)["access_token"])
        registered = client.post(
            "/devices", json={"label": f"{username}s nettbrett"}, headers=on_web
        )
        assert registered.status_code == 201, registered.text
        self.device_id = uuid.UUID(registered.json()["device_id"])
        self.credential = registered.json()["device_credential"]
        self.client = client
        self.headers: dict[str, str] = {}
        self.sign_in()

    def sign_in(self) -> None:
        """A fresh access token from the device credential (they last 15 minutes)."""
        grant = self.client.post("/auth/device-token", json={"device_credential": self.credential})
        assert grant.status_code == 200, grant.text
        self.headers = bearer(grant.json()["access_token"])

    def push(self, items: list[dict[str, Any]]) -> Any:
        return self.client.post("/sync/v1/push", json={"items": items}, headers=self.headers)

    def pull(self, **body: Any) -> Any:
        settled(self.client)
        return self.client.post("/sync/v1/pull", json=body, headers=self.headers)


def settled(client: TestClient) -> None:
    """Every projection has applied the whole log (the pull reads the read models)."""
    head = head_position(client)
    read_models = client.app.state.runtime.read_models
    for projection in all_projections():
        client.blocking_portal.call(read_models.at, projection.name, head)


def followed_by(
    client: TestClient, tablet: Tablet, service: Service = Service.OUTREACH_TEAM
) -> uuid.UUID:
    """A tenant in follow-up whose contact worker is the tablet's user."""
    tenant_id = uuid.uuid4()
    post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"})
    post(
        client,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 14, "started_on": "2026-03-01"},
    )
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": service.value, "contact_worker_id": str(tablet.user_id)},
    )
    return tenant_id


def completion(visit_id: uuid.UUID, *workers: uuid.UUID, note: str = "Alt vel") -> dict[str, Any]:
    return {
        "type": "complete_visit",
        "visit_id": str(visit_id),
        "worker_ids": [str(w) for w in workers],
        "observations": {"wellbeing": "good", "note": note},
    }


def failure(visit_id: uuid.UUID, *workers: uuid.UUID) -> dict[str, Any]:
    return {
        "type": "fail_visit",
        "visit_id": str(visit_id),
        "worker_ids": [str(w) for w in workers],
        "reason": "not_at_home",
    }


def concern(tenant_id: uuid.UUID) -> dict[str, Any]:
    return {
        "type": "raise_concern",
        "concern_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "category": "wellbeing",
        "description": "Virket urolig",
    }


def complete_item(
    seq: int, visit_id: uuid.UUID, worker_ids: list[uuid.UUID], note: str = "Alt vel"
) -> dict[str, Any]:
    """A pushed item: the completion of a visit, recorded on the device."""
    return {
        "item_id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": "2026-03-06T12:00:00+01:00",
        "command": completion(visit_id, *worker_ids, note=note),
    }


def check_in(dwelling_id: uuid.UUID, minutes: int = 60, **more: Any) -> dict[str, Any]:
    """A lone-worker check-in at the address (docs/lone-work.md)."""
    return {
        "type": "check_in",
        "check_in_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling_id),
        "expected_minutes": minutes,
        **more,
    }


def check_out(check_in_id: str) -> dict[str, Any]:
    return {"type": "check_out", "check_in_id": check_in_id}


def item(seq: int, command: dict[str, Any], occurred_at: str) -> dict[str, Any]:
    """A pushed item carrying ``command``, recorded on the device at ``occurred_at``."""
    return {
        "item_id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": occurred_at,
        "command": command,
    }
