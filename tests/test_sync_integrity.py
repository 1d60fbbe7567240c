"""The integrity check and the clean resync (issue 13, item 2).

A tablet sends, with its cursor, a checksum of the tenants and versions it holds; the
server computes the same from what the tablet acknowledged. A tablet whose store was
damaged (a tenant dropped, a version changed, its cursor rolled back, an old copy of the
file put back) is told to resync, replaces its copy of the server's data and keeps every
item of its outbox: each ends on the server exactly once.
"""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from domain.municipal_services import Service
from sync.protocol import holdings_checksum
from tests.api import planned_visit, post
from tests.conftest import Clock
from tests.rent_api import FBE, housed
from tests.sync_api import concern, followed_by, settled
from tests.sync_tablets import Device, fetch, fetchval, lead_of

TENANTS = 5


def tablet_with_tenants(client: TestClient, tmp_path: Path, name: str = "kari") -> Device:
    device = Device(client, tmp_path, name, Service.OUTREACH_TEAM)
    device.app.page_size = 2  # several pages per cycle
    for _ in range(TENANTS):
        followed_by(client, device.tablet)
    device.sync()
    assert len(device.app.tenant_ids()) == TENANTS
    return device


def scope_of(client: TestClient, device: Device) -> set[uuid.UUID]:
    settled(client)
    rows = fetch(
        client,
        "SELECT tenant_id FROM caseload WHERE contact_worker_id = $1 "
        "AND (follow_up_active OR follow_up_ended_on IS NULL)",
        device.user_id,
    )
    return {r["tenant_id"] for r in rows}


def resync_asked(client: TestClient, device: Device) -> Any:
    return fetchval(
        client, "SELECT resync_asked_at FROM sync_devices WHERE device_id = $1", device.device_id
    )


def change_every_tenant(client: TestClient, device: Device) -> None:
    for tenant_id in device.app.tenant_ids():
        planned_visit(client, tenant_id, device.user_id, headers=lead_of(Service.OUTREACH_TEAM))


def assert_converged_and_nothing_lost(client: TestClient, device: Device) -> None:
    """The tablet holds its scope at the server's versions; every item it holds is on the
    server once, decided, with the outcome the tablet stored."""
    assert device.app.tenant_ids() == scope_of(client, device)
    for tenant_id in device.app.tenant_ids():
        held = device.app.tenant(tenant_id)
        assert held is not None
        version = client.get(f"/tenants/{tenant_id}").json()["version"]
        assert held.version == version
    assert not device.app.pending()
    stored = fetch(
        client,
        "SELECT i.item_id, i.seq, o.status FROM sync_items i "
        "JOIN sync_outcomes o USING (device_id, seq) WHERE i.device_id = $1",
        device.device_id,
    )
    by_id = {r["item_id"]: r for r in stored}
    assert len(by_id) == len(stored)
    for entry in device.app.outbox():
        assert by_id[entry.item_id]["seq"] == entry.seq
        assert by_id[entry.item_id]["status"] == entry.status == "applied"


def test_the_checksum_is_the_one_the_server_computes(client: TestClient, tmp_path: Path) -> None:
    device = tablet_with_tenants(client, tmp_path)
    held = [(t, device.app.tenant(t).version) for t in device.app.tenant_ids()]  # type: ignore[union-attr]
    assert device.app.checksum() == holdings_checksum(held)
    assert holdings_checksum([]) == (
        "v1:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # Cycles with changes, a tenant handed over (a purge) and pages lost on the way: the
    # tablet's checksum matches every time, and it is never told to resync.
    per = Device(client, tmp_path, "per", Service.OUTREACH_TEAM)
    for round_ in range(3):
        change_every_tenant(client, device)
        if round_ == 1:
            gone = sorted(device.app.tenant_ids())[0]
            post(
                client,
                f"/tenants/{gone}/responsibility",
                {"service": Service.OUTREACH_TEAM.value, "contact_worker_id": str(per.user_id)},
            )
        settled(client)
        device.app.fetch_page()  # a page lost before the tablet stored it
        device.sync()
    assert device.app.resyncs == 0
    assert resync_asked(client, device) is None
    assert_converged_and_nothing_lost(client, device)


def test_a_dropped_tenant_makes_a_resync_that_keeps_the_outbox(
    client: TestClient, tmp_path: Path
) -> None:
    device = tablet_with_tenants(client, tmp_path)
    dropped = sorted(device.app.tenant_ids())[2]
    unsent = [device.app.record(concern(t)) for t in sorted(device.app.tenant_ids())]
    with device.app.store.transaction() as db:
        db.execute("DELETE FROM tenants WHERE tenant_id = ?", (str(dropped),))

    device.sync()
    assert device.app.resyncs == 1
    assert resync_asked(client, device) is not None
    assert dropped in device.app.tenant_ids()
    assert {e.item_id for e in device.app.outbox()} == set(unsent)
    assert_converged_and_nothing_lost(client, device)


def test_a_changed_version_makes_a_resync(client: TestClient, tmp_path: Path) -> None:
    device = tablet_with_tenants(client, tmp_path)
    with device.app.store.transaction() as db:
        db.execute(
            "UPDATE tenants SET record = json_set(record, '$.version', 0) WHERE tenant_id = ?",
            (str(sorted(device.app.tenant_ids())[0]),),
        )
    device.app.record(concern(sorted(device.app.tenant_ids())[0]))
    device.sync()
    assert device.app.resyncs == 1
    assert_converged_and_nothing_lost(client, device)


def test_a_cursor_rolled_back_converges(client: TestClient, clock: Clock, tmp_path: Path) -> None:
    device = tablet_with_tenants(client, tmp_path)
    old_cursor = device.app.cursor
    clock.advance(seconds=1)  # the cursors after it are issued later: it is dead then
    change_every_tenant(client, device)
    device.sync()
    assert device.app.cursor != old_cursor
    device.app.record(concern(sorted(device.app.tenant_ids())[0]))
    with device.app.store.transaction() as db:
        db.execute("UPDATE device SET cursor = ?", (old_cursor,))
    device.sync()
    assert device.app.resyncs == 1  # known_cursor: a clean resync
    assert_converged_and_nothing_lost(client, device)


def test_a_cursor_rolled_back_that_the_server_still_knows_only_costs_pages(
    client: TestClient, tmp_path: Path
) -> None:
    device = tablet_with_tenants(client, tmp_path)
    first = device.app.cursor
    change_every_tenant(client, device)
    device.sync()
    # Cursors issued at the same moment stay valid: presenting an older one says the
    # tablet holds what it does (the checksum matches); it gets the changes since again.
    with device.app.store.transaction() as db:
        db.execute("UPDATE device SET cursor = ?", (first,))
    device.sync()
    assert device.app.resyncs == 0
    assert_converged_and_nothing_lost(client, device)


def test_an_old_copy_of_the_store_put_back_converges_without_losing_an_unsent_item(
    client: TestClient, tmp_path: Path
) -> None:
    device = tablet_with_tenants(client, tmp_path)
    # A flag, so that the tablet has confirmed a flags_through the old copy is behind.
    dwelling_id, _ = housed(client, sorted(device.app.tenant_ids())[0])
    tenants = sorted(device.app.tenant_ids())
    unsent_in_copy = device.app.record(concern(tenants[0]))
    backup = tmp_path / "backup.sqlite"
    with sqlite3.connect(backup) as copy:
        device.app.store.db.backup(copy)
    copy.close()

    # Life goes on after the copy: the item in it is sent, more are recorded and sent,
    # tenants change, a flag arrives.
    device.sync()
    sent_after_copy = [device.app.record(concern(t)) for t in tenants[:3]]
    change_every_tenant(client, device)
    flag = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}
    post(client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
    device.sync()
    assert device.app.flags()
    flags_through_before = device.app.flags_through

    # The old copy put back, and an item recorded on it before the next sync: its seq is
    # one the server already has for another item.
    device.app.close()
    for suffix in ("", "-wal", "-shm"):
        Path(device.db_path + suffix).unlink(missing_ok=True)
    shutil.copy(backup, device.db_path)
    app = device.restart()
    assert app.flags() == {}
    assert app.flags_through < flags_through_before
    recorded_on_copy = app.record(concern(tenants[1]))
    device.sync()

    assert app.resyncs == 1
    # Given a new seq, as often as it took to pass the seqs the copy never handed out.
    assert app.renumbered >= 1
    stored = {
        r["item_id"]: r["seq"]
        for r in fetch(
            client, "SELECT item_id, seq FROM sync_items WHERE device_id = $1", device.device_id
        )
    }
    # Every item: the one unsent in the copy, those sent after it, the one recorded on it.
    assert set(stored) == {unsent_in_copy, *sent_after_copy, recorded_on_copy}
    assert sorted(stored.values()) == list(range(1, 6))
    assert app.flags().keys() == {uuid.UUID(str(dwelling_id))}
    assert app.flags_through >= flags_through_before
    assert_converged_and_nothing_lost(client, device)
    # The server's flags_through for the device is what the device now holds.
    device.pull_page()
    confirmed = fetchval(
        client, "SELECT flags_through FROM sync_devices WHERE device_id = $1", device.device_id
    )
    assert confirmed == app.flags_through
