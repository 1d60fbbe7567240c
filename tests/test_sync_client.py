"""The reference client (sync/client.py) against the real app and database.

It records offline into a SQLite outbox, pushes and pulls over HTTP, and survives being
killed between any two steps: a new client on the same file carries on.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from sync.client import DeviceWiped, TabletClient
from sync.protocol import MAX_ITEMS_PER_PUSH
from tests.api import planned_visit, post
from tests.auth_api import in_app, signed_in
from tests.sync_api import completion, concern, failure, followed_by, settled
from tests.sync_tablets import Device, fetchval


def test_an_item_recorded_offline_is_pushed_once_and_the_tenant_pulled(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    visit_id = planned_visit(client, tenant_id, kari.user_id)
    kari.sync()
    assert kari.app.tenant_ids() == {tenant_id}
    held = kari.app.tenant(tenant_id)
    assert held is not None and [v.visit_id for v in held.planned_visits] == [visit_id]

    item_id = kari.app.record(completion(visit_id, kari.user_id), held.version)
    [entry] = kari.app.outbox()
    assert (entry.item_id, entry.seq, entry.status) == (item_id, 1, None)
    [outcome] = kari.app.push()
    assert outcome["status"] == "applied", outcome["problem"]
    assert outcome["item_id"] == str(item_id)
    assert kari.app.outbox()[0].status == "applied"
    assert kari.app.push() == []  # nothing left to send

    kari.sync()
    held = kari.app.tenant(tenant_id)
    assert held is not None and held.planned_visits == []
    assert kari.app.decided_through == 1
    # Timeline entries only add up, by position, without duplicates.
    positions = [e.position for e in held.timeline]
    assert positions == sorted(set(positions)) and positions


def test_seq_is_gap_free_across_restarts(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    kari.app.record(concern(tenant_id))
    kari.restart()
    kari.app.record(concern(tenant_id))
    assert [e.seq for e in kari.app.outbox()] == [1, 2]
    outcomes = kari.app.push()
    assert [o["status"] for o in outcomes] == ["applied", "applied"]


def test_a_push_whose_response_was_lost_is_answered_again_and_applied_once(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    visit_id = planned_visit(client, tenant_id, kari.user_id)
    kari.app.record(completion(visit_id, kari.user_id))
    kari.app.send_push(kari.app.pending())  # the tablet dies before storing the answer
    app = kari.restart()
    assert app.outbox()[0].status is None
    [outcome] = app.push()
    assert outcome["status"] == "applied"
    events = fetchval(
        client,
        "SELECT count(*) FROM folgja_events WHERE topic LIKE '%VisitCompleted%'",
    )
    assert events == 1
    assert fetchval(client, "SELECT count(*) FROM sync_outcomes") == 1


def test_a_page_not_stored_is_sent_again(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenants = {followed_by(client, kari.tablet) for _ in range(3)}
    kari.app.page_size = 2
    settled(client)
    kari.app.fetch_page()  # killed before storing page and cursor
    kari.restart().page_size = 2
    assert kari.pull_page() is True
    assert len(kari.app.tenant_ids()) == 2
    kari.app.fetch_page()  # the second page lost too
    kari.restart().page_size = 2
    kari.sync()
    assert kari.app.tenant_ids() == tenants
    # The server counts the last page held once its cursor comes back, with the next pull.
    assert kari.pull_page() is False
    held = fetchval(
        client, "SELECT count(*) FROM sync_device_tenants WHERE device_id = $1", kari.device_id
    )
    assert held == 3


def test_more_items_than_one_push_takes_go_in_several(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    for _ in range(MAX_ITEMS_PER_PUSH + 1):
        kari.app.record(concern(tenant_id))
    outcomes = kari.app.push()
    assert len(outcomes) == MAX_ITEMS_PER_PUSH + 1
    assert {o["status"] for o in outcomes} == {"applied"}
    assert kari.app.pending() == []


def test_a_failed_visit_goes_too(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    visit_id = planned_visit(client, tenant_id, kari.user_id)
    kari.app.record(failure(visit_id, kari.user_id))
    assert [o["status"] for o in kari.app.push()] == ["applied"]


def test_a_command_the_protocol_does_not_know_is_not_recorded(
    client: TestClient, tmp_path: Path
) -> None:
    app = TabletClient(client, str(tmp_path / "t.sqlite"), {})
    with pytest.raises(msgspec.ValidationError):
        app.record({"type": "delete_tenant", "tenant_id": str(uuid.uuid4())})
    assert app.outbox() == []


def test_an_unknown_cursor_makes_a_clean_resync_keeping_the_outbox(
    client: TestClient, tmp_path: Path
) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    kari.sync()
    kari.app.record(concern(tenant_id))
    # The server forgot the cursor (say, restored from a backup).
    in_app(client, lambda c: c.execute("DELETE FROM sync_cursors"))
    kari.sync()
    assert kari.app.tenant_ids() == {tenant_id}
    assert [e.status for e in kari.app.outbox()] == ["applied"]
    kari.app.store.db.execute(f"UPDATE device SET cursor = 'v1.{uuid.uuid4().hex}'")
    kari.app.record(concern(tenant_id))
    settled(client)
    kari.app.pull_page()  # known_cursor refused: resynced, outbox untouched
    assert kari.app.tenant_ids() == {tenant_id}
    assert [e.status for e in kari.app.outbox()] == ["applied", None]


def test_a_revoked_tablet_wipes_everything(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    kari.sync()
    kari.app.record(concern(tenant_id))
    lead = signed_in(client, "lise", Role.TEAM_LEAD)
    revoked = client.post(f"/devices/{kari.device_id}/revocation", headers=lead)
    assert revoked.status_code == 201, revoked.text
    with pytest.raises(DeviceWiped):
        kari.sync()
    app = kari.restart()
    assert app.tenant_ids() == set() and app.outbox() == [] and app.flags() == {}
    assert app.cursor is None and app.flags_through == 0


def test_a_purge_acknowledgement_survives_a_restart(client: TestClient, tmp_path: Path) -> None:
    kari = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    per = Device(client, tmp_path, "per", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, kari.tablet)
    kari.sync()
    followed_by(client, kari.tablet)  # kari keeps one tenant; this one goes to per
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": Service.OUTREACH_TEAM.value, "contact_worker_id": str(per.user_id)},
    )
    assert kari.pull_page() is False
    assert tenant_id not in kari.app.tenant_ids()
    assert kari.app.purge_acks() == [str(tenant_id)]
    app = kari.restart()  # killed before telling the server
    assert app.purge_acks() == [str(tenant_id)]
    purged_at = "SELECT purged_at FROM sync_purges WHERE device_id = $1 AND tenant_id = $2"
    assert fetchval(client, purged_at, kari.device_id, tenant_id) is None
    kari.pull_page()
    assert app.purge_acks() == []
    assert fetchval(client, purged_at, kari.device_id, tenant_id) is not None
    assert len(app.tenant_ids()) == 1
