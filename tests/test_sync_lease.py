"""The offline lease kept current (issue 13, item 4): every successful push and pull
renews it; a tablet past it must sign in again, and its outbox then goes unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from domain.municipal_services import Service
from sync.client import ReauthenticationNeeded
from tests.api import planned_visit
from tests.auth_api import bearer, login
from tests.conftest import Clock
from tests.sync_api import completion, concern, followed_by
from tests.sync_tablets import Device, fetch, fetchval

LEASE_DAYS = 14  # the default (FOLGJA_OFFLINE_LEASE_DAYS)


def last_synced(client: TestClient, device: Device) -> Any:
    return fetchval(client, "SELECT last_synced_at FROM devices WHERE id = $1", device.device_id)


def stored_items(client: TestClient, device: Device) -> list[tuple[Any, ...]]:
    rows = fetch(
        client,
        "SELECT item_id, seq, command, occurred_at FROM sync_items WHERE device_id = $1 "
        "ORDER BY seq",
        device.device_id,
    )
    return [(r["item_id"], r["seq"], r["command"], r["occurred_at"]) for r in rows]


def test_every_successful_push_and_pull_renews_the_lease(
    client: TestClient, clock: Clock, tmp_path: Path
) -> None:
    device = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, device.tablet)
    for _ in range(3):
        # Three syncs 10 days apart: each renews, so 30 days pass within a 14-day lease.
        clock.advance(days=10)
        device.tablet.sign_in()
        device.headers.update(device.tablet.headers)
        device.app.record(concern(tenant_id))
        device.app.push()
        assert last_synced(client, device) == clock.now
        clock.advance(minutes=5)
        device.pull_page()
        assert last_synced(client, device) == clock.now


def test_a_tablet_past_its_lease_signs_in_again_and_its_outbox_goes_unchanged(
    client: TestClient, clock: Clock, tmp_path: Path
) -> None:
    device = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, device.tablet)
    visit_id = planned_visit(client, tenant_id, device.user_id)
    device.sync()
    synced_at = last_synced(client, device)
    # Offline for longer than the lease, recording all the while.
    clock.advance(days=3)
    device.app.record(completion(visit_id, device.user_id, note="Stille dager"))
    clock.advance(days=5)
    device.app.record(concern(tenant_id))
    # An access token from just before the lease ran out: still the lease decides.
    clock.advance(days=LEASE_DAYS - 8, minutes=-1)
    device.tablet.sign_in()
    device.headers.update(device.tablet.headers)
    clock.advance(minutes=2)
    device.app.record(concern(tenant_id))
    outbox = device.app.outbox()

    with pytest.raises(ReauthenticationNeeded) as refused:
        device.app.sync()
    assert refused.value.status == 401
    assert refused.value.rule() == ("device", "offline_lease_expired")
    # Nothing changed on the tablet, nothing stored on the server, the lease not renewed.
    assert device.app.outbox() == outbox
    assert stored_items(client, device) == []
    assert last_synced(client, device) == synced_at
    # The device credential is refused too: only the password renews the lease.
    grant = client.post("/auth/device-token", json={"device_credential": device.tablet.credential})
    assert grant.status_code == 401
    assert grant.headers["folgja-device-action"] == "reauthenticate"

    tokens = login(client, "kari", device_id=device.device_id)
    device.headers.clear()
    device.headers.update(bearer(tokens["access_token"]))
    device.sync()
    assert last_synced(client, device) == clock.now
    # The outbox went as it was recorded: the same ids, order, commands and times.
    sent = stored_items(client, device)
    assert [(s[0], s[1]) for s in sent] == [(e.item_id, e.seq) for e in outbox]
    assert [s[3] for s in sent] == [e.occurred_at for e in outbox]
    for (_, _, command, _), entry in zip(sent, outbox, strict=True):
        stored = _json(command)
        assert {k: stored[k] for k in entry.command} == entry.command
    assert [e.status for e in device.app.outbox()] == ["applied"] * 3
    assert not device.app.pending()


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value
