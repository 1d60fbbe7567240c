"""Lone-worker check-ins recorded offline and pushed (docs/sync-protocol.md, docs/lone-work.md)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient

from domain.municipal_services import Service
from projections.lone_work import open_check_ins_past
from tests.api import post, timeline
from tests.conftest import Clock
from tests.rent_api import FBE
from tests.sync_api import Tablet, check_in, check_out, followed_by, item, settled

AT_DOOR = "2026-03-06T12:00:00+01:00"  # 11:00 UTC, on the device's clock
LEFT = "2026-03-06T12:40:00+01:00"


def dwelling(client: TestClient, flag: str | None = None) -> uuid.UUID:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    if flag is not None:
        rule = {"kind": flag, "reason": "weapons", "review_on": "2026-06-01"}
        post(client, f"/dwellings/{dwelling_id}/safety-flag", rule, FBE)
    return dwelling_id


def outcomes(tablet: Tablet, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = tablet.push(items)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["outcomes"]
    return result


def test_a_check_in_and_out_recorded_offline_are_applied_at_the_devices_times(
    client: TestClient,
) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    entered = check_in(dwelling(client), 30)
    items = [item(1, entered, AT_DOOR), item(2, check_out(entered["check_in_id"]), LEFT)]
    decided = outcomes(tablet, items)
    assert [o["status"] for o in decided] == ["applied", "applied"], decided
    state = client.get(f"/check-ins/{entered['check_in_id']}", headers=tablet.headers).json()
    assert state["worker_id"] == str(tablet.user_id)
    assert state["checked_in_at"].startswith("2026-03-06T11:00")
    assert state["expected_until"].startswith("2026-03-06T11:30")
    assert state["checked_out_at"].startswith("2026-03-06T11:40")
    # Sent again: decided once.
    assert outcomes(tablet, items) == decided
    settled(client)
    mine = client.get("/me/timeline", headers=tablet.headers).json()["items"]
    assert [e["event_type"] for e in mine] == ["CheckedOut", "CheckedIn"]


def test_an_offline_check_in_still_open_is_overdue(client: TestClient, clock: Clock) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    entered = check_in(dwelling(client), 30)
    assert outcomes(tablet, [item(1, entered, AT_DOOR)])[0]["status"] == "applied"
    settled(client)

    async def overdue() -> list[Any]:
        async with client.app.state.runtime.pool.acquire() as conn:
            return await open_check_ins_past(conn, clock(), timedelta(minutes=15))

    rows = client.blocking_portal.call(overdue)  # 11:30 + 15 min < 15:30 UTC
    assert [str(r.check_in_id) for r in rows] == [entered["check_in_id"]]


def test_a_two_person_breach_offline_is_applied_for_review_not_lost(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    entered = check_in(dwelling(client, "two_person"))
    decided = outcomes(tablet, [item(1, entered, AT_DOOR)])
    assert decided[0]["status"] == "applied_for_review", decided
    assert decided[0]["review_reasons"] == ["two_person_address"]
    state = client.get(f"/check-ins/{entered['check_in_id']}", headers=tablet.headers).json()
    assert state["review_reasons"] == ["two_person_address"]


def test_a_check_in_the_domain_refuses_is_kept_and_so_is_its_check_out(
    client: TestClient,
) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    nowhere = check_in(uuid.uuid4())
    here = check_in(dwelling(client))
    items = [
        item(1, nowhere, AT_DOOR),
        item(2, check_out(nowhere["check_in_id"]), LEFT),
        item(3, here, LEFT),
    ]
    decided = outcomes(tablet, items)
    assert [o["status"] for o in decided] == ["kept_for_review", "kept_for_review", "applied"]
    problems = [(o["problem"]["field"], o["problem"]["rule"]) for o in decided[:2]]
    assert problems == [("dwelling_id", "must_exist"), ("check_in_id", "must_exist")]


def test_a_tenant_not_followed_is_marked_and_the_tenant_sees_nothing(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    followed = followed_by(client, tablet)
    stranger = followed_by(client, Tablet(client, "ola", Service.OUTREACH_TEAM))
    address = dwelling(client)
    visiting = check_in(address, tenant_id=str(followed))
    elsewhere = check_in(address, tenant_id=str(stranger))
    nowhere = check_in(uuid.uuid4(), tenant_id=str(followed))  # kept: no such address
    items = [item(1, visiting, AT_DOOR), item(2, elsewhere, LEFT), item(3, nowhere, LEFT)]
    decided = outcomes(tablet, items)
    statuses = [o["status"] for o in decided]
    assert statuses == ["applied", "applied_for_review", "kept_for_review"], decided
    assert decided[1]["review_reasons"] == ["outside_caseload"]
    settled(client)
    for tenant_id in (followed, stranger):
        events = {e["event_type"] for e in timeline(client, tenant_id, 0)}
        assert not {"CheckedIn", "CheckedOut"} & events
        kept = client.get(f"/tenants/{tenant_id}/timeline/kept-for-review")
        assert kept.status_code == 200, kept.text
        assert kept.json()["items"] == []


def test_a_check_in_sent_over_http_first_is_applied_once(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    entered = check_in(dwelling(client))
    body = {k: v for k, v in entered.items() if k != "type"} | {"occurred_at": AT_DOOR}
    first = post(client, "/check-ins", body, tablet.headers)
    decided = outcomes(tablet, [item(1, entered, AT_DOOR)])
    assert decided[0]["status"] == "applied", decided
    assert decided[0]["position"] >= first["position"]
