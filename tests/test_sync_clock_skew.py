"""Tablets whose clocks are hours and days wrong, both ways (issue 13, item 3).

Order is the device's ``seq`` and the log's position, never the device's clock; the
server measures each device's clock offset at every push and pull (``device_time``),
keeps ``occurred_at`` as the device said it, refuses nothing for skew, marks the items of
a device further off than FOLGJA_MAX_CLOCK_SKEW_S (``device_clock_skew``) and shows the
offset to administrators (``GET /admin/devices``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from domain.municipal_services import Service
from sync.client import TabletClient
from tests.api import planned_visit
from tests.conftest import Clock
from tests.sync_api import completion, concern, followed_by
from tests.sync_tablets import Device, fetch

ADMIN = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": Service.ADMIN.value}
LEAD = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": Service.OUTREACH_TEAM.value}
MAX_SKEW_S = 300  # the default (FOLGJA_MAX_CLOCK_SKEW_S)
SKEW = "device_clock_skew"


def skewed_device(client: TestClient, tmp_path: Path, name: str, offset: timedelta) -> Device:
    """A tablet whose clock runs ``offset`` off the server's."""
    device = Device(client, tmp_path, name, Service.OUTREACH_TEAM)
    server_clock = device.clock
    device.app.close()
    device.app = TabletClient(
        client, device.db_path, device.headers, clock=lambda: server_clock() + offset
    )
    return device


def admin_view(client: TestClient) -> dict[uuid.UUID, dict[str, Any]]:
    answer = client.get("/admin/devices", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["max_clock_skew_seconds"] == MAX_SKEW_S
    return {uuid.UUID(d["device_id"]): d for d in answer.json()["devices"]}


OFFSETS = {
    "days_slow": timedelta(days=-3),
    "hours_slow": timedelta(hours=-5),
    "hours_fast": timedelta(hours=5),
    "days_fast": timedelta(days=2),
}


@pytest.mark.parametrize("name", list(OFFSETS))
def test_a_device_far_off_is_measured_marked_and_refused_nothing(
    client: TestClient, clock: Clock, tmp_path: Path, name: str
) -> None:
    offset = OFFSETS[name]
    device = skewed_device(client, tmp_path, name.replace("_", ""), offset)
    tenant_id = followed_by(client, device.tablet)
    visit_id = planned_visit(client, tenant_id, device.user_id)
    device.sync()  # a pull: measured already
    assert admin_view(client)[device.device_id]["clock_skew_seconds"] == offset.total_seconds()

    clock.advance(minutes=10)  # later, within the device's access token
    first = device.app.record(completion(visit_id, device.user_id, note="Ryddig"))
    second = device.app.record(concern(tenant_id))
    outcomes = {o["item_id"]: o for o in device.app.push()}

    # Refused for nothing; marked, with what the domain found besides.
    statuses = {o["status"] for o in outcomes.values()}
    assert "refused" not in statuses
    for outcome in outcomes.values():
        assert SKEW in outcome["review_reasons"], outcome
    if offset > timedelta(minutes=5):
        # A time in the server's future is not applied (the domain's rule), but kept, with
        # the problem and the mark, for a lead to record again.
        assert statuses == {"kept_for_review"}
        for outcome in outcomes.values():
            problem = outcome["problem"]
            assert (problem["field"], problem["rule"]) == ("occurred_at", "not_in_future")
    else:
        assert statuses == {"applied_for_review"}
        # Applied in the device's order (seq), whatever its clock said.
        assert outcomes[str(first)]["position"] < outcomes[str(second)]["position"]

    # occurred_at is kept as the device said it, and the offset with each item.
    stored = fetch(
        client,
        "SELECT item_id, occurred_at, clock_skew_seconds FROM sync_items WHERE device_id = $1",
        device.device_id,
    )
    by_id = {r["item_id"]: r for r in stored}
    for entry in device.app.outbox():
        assert by_id[entry.item_id]["occurred_at"] == entry.occurred_at
        assert by_id[entry.item_id]["occurred_at"] == clock.now + offset
        assert by_id[entry.item_id]["clock_skew_seconds"] == offset.total_seconds()

    # The lead's review inbox shows both items with the mark.
    inbox = client.get("/review-inbox", headers=LEAD)
    assert inbox.status_code == 200, inbox.text
    mine = [e for e in inbox.json()["items"] if e["device_id"] == str(device.device_id)]
    assert len(mine) == 2
    assert all(SKEW in e["review_reasons"] for e in mine)

    # The administrator sees the offset, when it was measured, and that it is too far.
    shown = admin_view(client)[device.device_id]
    assert shown["clock_skew_seconds"] == offset.total_seconds()
    assert shown["clock_skewed"] is True
    assert datetime.fromisoformat(shown["clock_measured_at"]) == clock.now


def test_a_clock_within_the_limit_marks_nothing_and_order_is_never_the_clock(
    client: TestClient, clock: Clock, tmp_path: Path
) -> None:
    device = skewed_device(client, tmp_path, "kari", timedelta(seconds=MAX_SKEW_S - 60))
    tenant_id = followed_by(client, device.tablet)
    device.sync()
    # Recorded in this order, though the second says it happened three days earlier.
    later = device.app.record(concern(tenant_id))
    earlier = device.app.record(concern(tenant_id), occurred_at=clock.now - timedelta(days=3))
    outcomes = {o["item_id"]: o for o in device.app.push()}
    assert [o["status"] for o in outcomes.values()] == ["applied", "applied"]
    assert all(o["review_reasons"] == [] for o in outcomes.values())
    assert outcomes[str(later)]["position"] < outcomes[str(earlier)]["position"]
    shown = admin_view(client)[device.device_id]
    assert (shown["clock_skew_seconds"], shown["clock_skewed"]) == (MAX_SKEW_S - 60, False)


def test_the_offset_measured_is_the_latest_and_a_push_without_device_time_uses_it(
    client: TestClient, clock: Clock, tmp_path: Path
) -> None:
    device = Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, device.tablet)
    # A pull with a clock a day slow, then the clock is put right: each request measures.
    slow = (clock.now - timedelta(days=1)).isoformat()
    assert device.tablet.pull(device_time=slow).status_code == 200
    assert admin_view(client)[device.device_id]["clock_skew_seconds"] == -86400
    # A push without device_time (an older app): its items carry the offset last measured.
    item = {
        "item_id": str(uuid.uuid4()),
        "seq": 1,
        "occurred_at": (clock.now - timedelta(days=1)).isoformat(),
        "command": concern(tenant_id),
    }
    pushed = device.tablet.push([item]).json()
    assert pushed["outcomes"][0]["review_reasons"] == [SKEW]
    # The clock put right: the next push measures it, and its item is not marked.
    item2 = {**item, "item_id": str(uuid.uuid4()), "seq": 2, "command": concern(tenant_id)}
    body = {"items": [item2], "device_time": clock.now.isoformat()}
    answer = client.post("/sync/v1/push", json=body, headers=device.tablet.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcomes"][0]["status"] == "applied"
    shown = admin_view(client)[device.device_id]
    assert (shown["clock_skew_seconds"], shown["clock_skewed"]) == (0, False)


def test_only_administrators_list_devices(client: TestClient, tmp_path: Path) -> None:
    Device(client, tmp_path, "kari", Service.OUTREACH_TEAM)
    assert client.get("/admin/devices", headers=LEAD).status_code == 403
