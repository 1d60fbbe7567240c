"""Offline sync v1 over the real app: push, pull, purge, flags (docs/sync-protocol.md)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.auth import access_middleware
from domain.municipal_services import Service
from tests.api import assert_problem, planned_visit, post
from tests.auth_api import in_app
from tests.conftest import Clock
from tests.sync_api import Tablet, complete_item, followed_by


def test_a_visit_recorded_offline_is_applied_once_and_its_tenant_pulled(
    client: TestClient,
) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    visit_id = planned_visit(client, tenant_id, tablet.user_id)

    first = tablet.pull()
    assert first.status_code == 200, first.text
    page = first.json()
    assert [t["tenant_id"] for t in page["tenants"]] == [str(tenant_id)]
    assert page["tenants"][0]["planned_visits"][0]["visit_id"] == str(visit_id)
    item = complete_item(1, visit_id, [tablet.user_id])
    pushed = tablet.push([item])
    assert pushed.status_code == 200, pushed.text
    outcome = pushed.json()["outcomes"][0]
    # Alone at an unflagged address: applied.
    assert outcome["status"] == "applied", outcome["problem"]
    assert pushed.json()["decided_through"] == 1
    again = tablet.push([item])
    assert again.json()["outcomes"] == pushed.json()["outcomes"]

    second = tablet.pull(cursor=page["cursor"], flags_through=page["flags_through"]).json()
    assert second["decided_through"] == 1
    assert [t["tenant_id"] for t in second["tenants"]] == [str(tenant_id)]
    assert second["tenants"][0]["planned_visits"] == []


def test_an_item_after_a_gap_waits_for_it(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    first_visit = planned_visit(client, tenant_id, tablet.user_id)
    second_visit = planned_visit(client, tenant_id, tablet.user_id)
    later = complete_item(2, second_visit, [tablet.user_id])
    waiting = tablet.push([later]).json()
    assert waiting["outcomes"][0]["status"] == "waiting" and waiting["decided_through"] == 0
    filled = tablet.push([complete_item(1, first_visit, [tablet.user_id])]).json()
    assert filled["decided_through"] == 2
    assert tablet.push([later]).json()["outcomes"][0]["status"] == "applied"


def test_a_seq_sent_again_with_another_item_is_refused(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    visit_id = planned_visit(client, tenant_id, tablet.user_id)
    tablet.push([complete_item(1, visit_id, [tablet.user_id])])
    response = tablet.push([complete_item(1, visit_id, [tablet.user_id])])
    assert_problem(response, 422, "items[0].seq", "one_item_per_seq")


def test_an_unknown_protocol_version_is_told_so(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    response = client.post("/sync/v2/pull", json={}, headers=tablet.headers)
    assert_problem(response, 400, "version", "supported_version")


def test_a_pull_is_gzipped_for_a_tablet_that_accepts_it(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    for _ in range(3):
        followed_by(client, tablet)
    response = tablet.pull()
    assert response.status_code == 200
    assert response.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in response.headers.get("vary", "").lower()
    # igzip's bytes (backend/compression.py) are plain gzip: the client's zlib read them.
    assert int(response.headers["content-length"]) == response.num_bytes_downloaded
    page = response.json()
    assert len(page["tenants"]) == 3
    # An answer too small to be worth it goes as it is.
    held = tablet.pull(cursor=page["cursor"], flags_through=page["flags_through"])
    assert held.status_code == 200 and held.json()["tenants"] == []
    assert "content-encoding" not in held.headers
    # Other answers are left as they are.
    assert "content-encoding" not in client.get("/health").headers


def test_an_unknown_command_is_refused_naming_its_type(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    item = {
        "item_id": str(uuid.uuid4()),
        "seq": 1,
        "occurred_at": "2026-03-06T12:00:00+01:00",
        "command": {"type": "evict_tenant"},
    }
    assert_problem(tablet.push([item]), 422, "items[0].command.type", "allowed_values")


def test_a_run_of_items_sees_what_the_items_before_it_did(client: TestClient) -> None:
    """One push is stored in one transaction, in the device's order: a visit planned
    offline and completed offline later arrive together, and both apply."""
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    visit_id = uuid.uuid4()
    plan = {
        "item_id": str(uuid.uuid4()),
        "seq": 1,
        "occurred_at": "2026-03-06T09:00:00+01:00",
        "command": {
            "type": "plan_visit",
            "tenant_id": str(tenant_id),
            "visit_id": str(visit_id),
            "planned_for": "2026-03-06T11:00:00+01:00",
            "worker_ids": [str(tablet.user_id)],
        },
    }
    done = complete_item(2, visit_id, [tablet.user_id])
    outcomes = tablet.push([plan, done]).json()["outcomes"]
    assert [o["status"] for o in outcomes] == ["applied", "applied"], outcomes
    assert outcomes[0]["position"] < outcomes[1]["position"]
    visit = client.get(f"/visits/{visit_id}", headers=tablet.headers).json()
    assert visit["status"] == "completed"


def test_an_item_the_domain_refuses_is_kept_and_does_not_block_the_run(
    client: TestClient,
) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    first = planned_visit(client, tenant_id, tablet.user_id)
    second = planned_visit(client, tenant_id, tablet.user_id)
    items = [
        complete_item(1, first, [tablet.user_id]),
        complete_item(2, first, [tablet.user_id]),  # the same visit again: already completed
        complete_item(3, second, [tablet.user_id]),
    ]
    pushed = tablet.push(items).json()
    statuses = [o["status"] for o in pushed["outcomes"]]
    assert statuses == ["applied", "kept_for_review", "applied"], pushed
    kept = pushed["outcomes"][1]["problem"]
    assert (kept["status"], kept["field"], kept["rule"]) == (409, "visit_id", "visit_planned")
    assert pushed["decided_through"] == 3
    # Every item is stored, decided once: nothing lost, nothing twice.
    again = tablet.push(items).json()
    assert again["outcomes"] == pushed["outcomes"]


def test_every_sync_moves_the_offline_lease_on(client: TestClient, clock: Clock) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)

    def last_synced() -> object:
        return in_app(
            client,
            lambda c: c.fetchval(
                "SELECT last_synced_at FROM devices WHERE id = $1", tablet.device_id
            ),
        )

    clock.advance(days=3)
    tablet.sign_in()
    assert tablet.pull().status_code == 200
    assert last_synced() == clock.now
    clock.advance(days=3)
    tablet.sign_in()
    tenant_id = followed_by(client, tablet)
    visit_id = planned_visit(client, tenant_id, tablet.user_id)
    assert tablet.push([complete_item(1, visit_id, [tablet.user_id])]).status_code == 200
    assert last_synced() == clock.now


def test_a_tenant_new_on_the_device_comes_with_its_newest_history_only(
    client: TestClient,
) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    for _ in range(26):  # 3 + 26 x 2 = 55 timeline entries, all within 90 days
        visit_id = planned_visit(client, tenant_id, tablet.user_id)
        body = {"worker_ids": [str(tablet.user_id)], "observations": {"wellbeing": "good"}}
        post(client, f"/visits/{visit_id}/completion", body)
    first = tablet.pull().json()
    (record,) = first["tenants"]
    positions = [e["position"] for e in record["timeline"]]
    assert len(positions) == 50 and not record["timeline_complete"]
    assert positions == sorted(positions)
    assert record["planned_visits"] == [] and record["open_concerns"] == []
    # Held now: the next change comes alone, and the older entries are not sent again.
    last = planned_visit(client, tenant_id, tablet.user_id)
    second = tablet.pull(cursor=first["cursor"], flags_through=first["flags_through"]).json()
    (changed,) = second["tenants"]
    assert [e["event_type"] for e in changed["timeline"]] == ["VisitPlanned"]
    assert changed["timeline"][0]["position"] > positions[-1]
    assert changed["timeline_complete"]
    assert [v["visit_id"] for v in changed["planned_visits"]] == [str(last)]


def test_a_batch_sent_twice_at_once_is_decided_once(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    visits = [planned_visit(client, tenant_id, tablet.user_id) for _ in range(5)]
    items = [complete_item(n + 1, v, [tablet.user_id]) for n, v in enumerate(visits)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda _: tablet.push(items), range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    first, second = (a.json()["outcomes"] for a in answers)
    assert first == second and {o["status"] for o in first} == {"applied"}
    assert len({o["position"] for o in first}) == 5
    decided = in_app(
        client,
        lambda c: c.fetchval(
            "SELECT count(*) FROM sync_outcomes WHERE device_id = $1", tablet.device_id
        ),
    )
    assert decided == 5


def test_a_pull_is_not_answered_if_its_tenants_cannot_be_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The access-log write begins before the answer is gzipped (decision 71); the
    # gzipped answer still waits for it, and is never sent if it fails.
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    for _ in range(3):
        followed_by(client, tablet)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(access_middleware, "record_accesses", broken)
    response = tablet.pull()
    assert response.status_code == 500
    assert response.json()["type"].endswith("/access-log-unavailable")
    assert "tenant_id" not in response.text
    monkeypatch.undo()
    again = tablet.pull()
    assert again.status_code == 200
    assert again.headers.get("content-encoding") == "gzip"
    assert len(again.json()["tenants"]) == 3


def test_a_pull_logs_a_read_of_each_tenant_it_sends(client: TestClient) -> None:
    # The rows are begun as soon as the page is read (decision 74): the same rows the
    # access-log middleware writes for any list, with the device that pulled.
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    followed = {followed_by(client, tablet) for _ in range(3)}
    page = tablet.pull().json()
    assert {uuid.UUID(t["tenant_id"]) for t in page["tenants"]} == followed
    empty = tablet.pull(cursor=page["cursor"], flags_through=page["flags_through"])
    assert empty.json()["tenants"] == []  # nothing shown: nothing logged
    rows = in_app(
        client,
        lambda c: c.fetch(
            "SELECT tenant_id, action, status, device_id FROM access_log "
            "WHERE user_id = $1 AND endpoint LIKE 'POST /sync/%/pull'",
            tablet.user_id,
        ),
    )
    assert sorted((r["tenant_id"], r["action"], r["status"], r["device_id"]) for r in rows) == (
        sorted((t, "read", 200, tablet.device_id) for t in followed)
    )
