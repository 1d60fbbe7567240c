"""Offline sync v1, issue 12 item 7: a handover while a tablet is offline, a new safety
flag reaching every tablet first (and the list of tablets lacking it emptying as they
confirm it), and every bad input refused without a trace.

Each scenario runs the reference client (sync/client.py) against the real app and
database, as a field tablet would.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import msgspec
from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from sync.protocol import MAX_ITEMS_PER_PUSH, PullResponse
from tests.api import OUTREACH, assert_problem, planned_visit, post
from tests.auth_api import signed_in
from tests.rent_api import FBE, housed
from tests.sync_api import completion, concern, failure, followed_by, settled
from tests.sync_tablets import Device, fetch, fetchval, lead_of

# --- a handover while the old worker's tablet is offline -----------------------------


def test_a_handover_while_offline_purges_the_old_tablet_and_keeps_its_visit_for_review(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    visit_id = planned_visit(client, tenant_id, kari.user_id)
    kari.sync()
    assert kari.app.tenant_ids() == {tenant_id}

    # Offline at the door: the visit is done and recorded on the tablet.
    item_id = kari.app.record(completion(visit_id, kari.user_id))
    # Meanwhile the tenant goes to omsorg, with one of its field workers as contact.
    nils = Device(client, tmp_path, "nils", Service.CARE)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": Service.CARE.value, "contact_worker_id": str(nils.user_id)},
        OUTREACH,
    )

    kari.sync()  # back online
    offline_item_kept_and_tenant_moved(client, kari, nils, tenant_id, item_id)


def test_a_handover_accepted_while_offline_purges_the_old_tablet_too(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    visit_id = planned_visit(client, tenant_id, kari.user_id)
    kari.sync()
    item_id = kari.app.record(failure(visit_id, kari.user_id))
    # An internal transfer to omsorg, effective today: accepting it completes it at once.
    nils = Device(client, tmp_path, "nils", Service.CARE)
    handover_id = uuid.uuid4()
    body = {
        "handover_id": str(handover_id),
        "tenant_id": str(tenant_id),
        "from_service": Service.OUTREACH_TEAM.value,
        "to_service": Service.CARE.value,
        "kind": "internal_transfer",
        "effective_on": "2026-03-06",
    }
    post(client, "/handovers", body, OUTREACH)
    acceptance = {"contact_worker_id": str(nils.user_id)}
    post(client, f"/handovers/{handover_id}/acceptance", acceptance, lead_of(Service.CARE))

    kari.sync()
    offline_item_kept_and_tenant_moved(client, kari, nils, tenant_id, item_id)


def offline_item_kept_and_tenant_moved(
    client: TestClient, kari: Device, nils: Device, tenant_id: uuid.UUID, item_id: uuid.UUID
) -> None:
    """After the old tablet's sync: its item kept for review, the tenant purged and the
    purge acknowledged; the new worker's tablet gets the tenant."""
    kari.sync()  # back online
    [entry] = kari.app.outbox()
    assert entry.item_id == item_id and entry.outcome is not None
    if entry.status == "applied_for_review":
        assert "outside_caseload" in entry.outcome["review_reasons"], entry.outcome
    else:
        assert entry.status == "kept_for_review", entry.outcome
    stored = fetch(
        client,
        "SELECT status FROM sync_outcomes WHERE device_id = $1 AND seq = 1",
        kari.device_id,
    )
    assert [r["status"] for r in stored] == [entry.status]
    # Purged on the tablet, and the purge acknowledged within the same sync.
    assert kari.app.tenant_ids() == set() and kari.app.purge_acks() == []
    held = fetch(
        client,
        "SELECT tenant_id FROM sync_device_tenants WHERE device_id = $1",
        kari.device_id,
    )
    assert held == []
    purges = fetch(
        client,
        "SELECT tenant_id, asked_at, purged_at FROM sync_purges WHERE device_id = $1",
        kari.device_id,
    )
    assert [(r["tenant_id"], r["purged_at"] is not None) for r in purges] == [(tenant_id, True)]
    # A later pull asks for nothing more.
    settled(client)
    page = kari.app.fetch_page()
    assert page.purge == [] and page.tenants == []

    nils.sync()
    assert nils.app.tenant_ids() == {tenant_id}


# --- a new two-person flag reaches every field tablet first --------------------------


def test_a_new_two_person_flag_reaches_every_tablet_first_in_its_next_pull(
    client: TestClient, tmp_path: Path
) -> None:
    tablets = [
        Device(client, tmp_path, "kari", Service.OUTREACH_TEAM),
        Device(client, tmp_path, "per", Service.OUTREACH_TEAM),
        Device(client, tmp_path, "nils", Service.CARE),
    ]
    for device in tablets:
        followed_by(client, device.tablet, device.service)
        device.sync()
        assert device.app.flags() == {}
    # A change to each tablet's tenant too, so the next page has tenant data behind the flag.
    for device in tablets:
        (tenant_id,) = device.app.tenant_ids()
        planned_visit(client, tenant_id, device.user_id, headers=lead_of(device.service))

    dwelling_id, _ = housed(client, followed_by(client, tablets[0].tablet))
    flag = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}
    post(client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
    settled(client)
    position = fetchval(
        client, "SELECT position FROM safety_flags WHERE dwelling_id = $1", dwelling_id
    )

    def lacking() -> set[uuid.UUID]:
        """The property manager's list of the tablets (every service's) lacking the flag."""
        response = client.get(
            f"/safety-register/{dwelling_id}/devices-lacking",
            params={"min_position": position},
            headers=FBE,
        )
        assert response.status_code == 200, response.text
        return {uuid.UUID(d["device_id"]) for d in response.json()["devices"]}

    assert lacking() == {d.device_id for d in tablets}
    for device in tablets:
        acknowledged = fetchval(
            client, "SELECT flags_through FROM sync_devices WHERE device_id = $1", device.device_id
        )
        assert acknowledged < position  # a tablet lacking the flag
        response = client.post(
            "/sync/v1/pull",
            json={"cursor": device.app.cursor, "flags_through": device.app.flags_through},
            headers=device.headers,
        )
        assert response.status_code == 200, response.text
        keys = list(response.json())
        # Ahead of any other data: the first key of the answer.
        assert keys[0] == "safety_flags", keys
        assert response.content.index(b'"safety_flags"') < response.content.index(b'"tenants"')
        flags = response.json()["safety_flags"]
        assert [(f["dwelling_id"], f["kind"]) for f in flags] == [(str(dwelling_id), "two_person")]
        assert response.json()["tenants"], "tenant data came too, behind the flag"
        page = msgspec.json.decode(response.content, type=PullResponse)
        device.app.store_page(page)
        assert set(device.app.flags()) == {dwelling_id}

    # Received, not yet confirmed: still lacking until a pull says the flags were stored.
    assert lacking() == {d.device_id for d in tablets}
    for n, device in enumerate(tablets):
        device.pull_page()  # says which flags it stored
        acknowledged = fetchval(
            client, "SELECT flags_through FROM sync_devices WHERE device_id = $1", device.device_id
        )
        assert acknowledged >= position
        assert lacking() == {d.device_id for d in tablets[n + 1 :]}
    lacking = fetchval(
        client, "SELECT count(*) FROM sync_devices WHERE flags_through < $1", position
    )
    assert lacking == 0


# --- every bad input answers a 4xx problem and changes nothing -----------------------

TABLES = (
    "sync_items",
    "sync_outcomes",
    "sync_cursors",
    "sync_device_tenants",
    "sync_purges",
    "folgja_events",
)


def snapshot(client: TestClient) -> dict[str, Any]:
    counts: dict[str, Any] = {
        table: fetchval(client, f"SELECT count(*) FROM {table}") for table in TABLES
    }
    counts["devices"] = [
        tuple(r)
        for r in fetch(
            client,
            "SELECT device_id, decided_through, flags_through FROM sync_devices ORDER BY 1",
        )
    ]
    return counts


def item(seq: int, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": "2026-03-06T12:00:00+01:00",
        "command": command,
    }


def test_every_bad_input_is_refused_with_a_problem_and_changes_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    per = Device(client, tmp_path, "per", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    followed_by(client, per.tablet)
    kari.app.record(concern(tenant_id))
    kari.sync()
    per.sync()
    # A page kari has received but not yet acknowledged: a refused pull must not count it.
    followed_by(client, kari.tablet)
    settled(client)
    page = kari.app.fetch_page()
    assert page.tenants
    web = signed_in(client, "lise", Role.FIELD_WORKER)
    head = kari.app.flags_through

    def push(items: list[Any], headers: dict[str, str] = kari.headers) -> Any:
        return client.post("/sync/v1/push", json={"items": items}, headers=headers)

    def pull(headers: dict[str, str] = kari.headers, **body: Any) -> Any:
        return client.post("/sync/v1/pull", json=body, headers=headers)

    before = snapshot(client)
    assert before["sync_items"] == 1
    refusals = [
        # The same seq as a stored item, with another item.
        (push([item(1, concern(tenant_id))]), 422, "items[0].seq", "one_item_per_seq"),
        # Two items of one batch with the same seq.
        (
            push([item(2, concern(tenant_id)), item(2, concern(tenant_id))]),
            422,
            "items[1].seq",
            "one_item_per_seq",
        ),
        # A stored item's id again, under another seq.
        (
            push([{**item(2, concern(tenant_id)), "item_id": str(kari.app.outbox()[0].item_id)}]),
            422,
            "items[0].item_id",
            "unique_id",
        ),
        # A web sign-in, not a device's token.
        (push([item(2, concern(tenant_id))], web), 403, "authorization", "device_token_required"),
        (pull(web), 403, "authorization", "device_token_required"),
        # Another user's device's cursor.
        (pull(cursor=per.app.cursor), 422, "cursor", "known_cursor"),
        (pull(cursor="v1.not-a-cursor"), 422, "cursor", "valid_cursor"),
        (pull(cursor="garbage"), 422, "cursor", "valid_cursor"),
        # A purge acknowledged that was never asked (with a real page's cursor, unheld).
        (pull(cursor=page.cursor, purged=[str(tenant_id)]), 422, "purged[0]", "asked_to_purge"),
        # Flags said stored beyond any this server has answered.
        (
            pull(cursor=page.cursor, flags_through=head + 1_000_000),
            422,
            "flags_through",
            "not_beyond_head",
        ),
    ]
    for response, status, field, rule in refusals:
        assert_problem(response, status, field, rule)
    # Refused by the body's validation.
    unknown = {"type": "delete_tenant", "tenant_id": str(tenant_id)}
    assert_problem(push([item(2, unknown)]), 422, "items[0].command.type", "allowed_values")
    oversized = [item(n + 2, concern(tenant_id)) for n in range(MAX_ITEMS_PER_PUSH + 1)]
    assert_problem(push(oversized), 422, "items", "length")
    assert_problem(push([]), 422, "items", "length")
    assert_problem(pull(limit=0), 422, "limit", "range")
    for response in (
        push([item(0, concern(tenant_id))]),
        push([{**item(2, concern(tenant_id)), "surprise": 1}]),
        pull(purged="all"),
        pull(cursor=page.cursor, purged=["not-a-uuid"]),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert snapshot(client) == before
    # The page whose acknowledgement was refused is still to come: nothing was lost.
    kari.app.store_page(page)
    kari.sync()
    assert len(kari.app.tenant_ids()) == 2
