"""Helpers for the report's scenarios, played end to end through the HTTP API.

Every act is an HTTP request made as a named service; state is read back through the
GET endpoints and the tenant's timeline. The one exception is the scheduler's settle job,
which the tests run themselves (as tests/test_handovers_http.py does) at the time they
set on the app's clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar.testing import TestClient

from backend.runtime import Runtime
from backend.scheduler import settle_due_handovers
from projections.handovers import HandoverScheduleProjection
from tests.api import assert_problem, head_position
from tests.api import post as post_as

OSLO = ZoneInfo("Europe/Oslo")


class Worker:
    """A named (fictional) worker acting for a service, in roles (default: by service)."""

    def __init__(self, service: str, number: int, *roles: str) -> None:
        self.id = uuid.UUID(f"00000000-0000-4000-9000-{number:012d}")
        self.service = service
        self.roles = roles

    @property
    def headers(self) -> dict[str, str]:
        headers = {"x-folgja-user": str(self.id), "x-folgja-service": self.service}
        if self.roles:
            headers["x-folgja-role"] = ",".join(self.roles)
        return headers


def oslo(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock time in Norway, as the UTC instant a server clock would show."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO).astimezone(UTC)


def oslo_noon(day: str) -> datetime:
    """Noon in Norway on an ISO date (YYYY-MM-DD)."""
    on = date.fromisoformat(day)
    return oslo(on.year, on.month, on.day)


def post(client: TestClient, who: Worker, path: str, body: Any) -> Any:
    """A command that must be accepted (201)."""
    return post_as(client, path, body, who.headers)


def get(client: TestClient, path: str, who: Worker | None = None, **params: Any) -> Any:
    """A read that must succeed, as ``who`` (None: the test client's default reader)."""
    response = client.get(path, params=params, headers=who.headers if who else None)
    assert response.status_code == 200, response.text
    return response.json()


def refused(
    client: TestClient, who: Worker, path: str, body: Any, status: int, field: str, rule: str
) -> None:
    """A command that must be refused with a problem naming field and rule, writing nothing."""
    before = head_position(client)
    response = client.post(path, json=body, headers=who.headers)
    assert_problem(response, status, field, rule)
    assert head_position(client) == before, "a refused command wrote to the log"


def history(
    client: TestClient, tenant_id: uuid.UUID, who: Worker | None = None
) -> list[dict[str, Any]]:
    """The tenant's whole timeline, once it shows every event stored so far."""
    entries: list[dict[str, Any]] = get(
        client,
        f"/tenants/{tenant_id}/timeline",
        who,
        min_position=head_position(client),
        limit=500,
    )
    return entries


def event_types(client: TestClient, tenant_id: uuid.UUID, who: Worker | None = None) -> list[str]:
    return [e["event_type"] for e in history(client, tenant_id, who)]


def tick(client: TestClient) -> list[uuid.UUID]:
    """One run of the scheduler's settle job, once the schedule has seen every event."""
    runtime: Runtime = client.app.state.runtime
    head = head_position(client)

    async def run() -> list[uuid.UUID]:
        await runtime.read_models.at(HandoverScheduleProjection.name, head)
        return await settle_due_handovers(runtime)

    settled: list[uuid.UUID] = client.blocking_portal.call(run)
    return settled


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def handovers(
    client: TestClient, tenant_id: uuid.UUID, who: Worker | None = None
) -> list[dict[str, Any]]:
    """The tenant's handover history, once it shows every event stored so far."""
    rows: list[dict[str, Any]] = get(
        client, f"/tenants/{tenant_id}/handovers", who, min_position=head_position(client)
    )
    return rows
