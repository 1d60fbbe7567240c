"""Field data kept for review over the real app: the team lead's inbox, its resolution, the
tenant's timeline, and the devices that still lack a safety flag (issue 12, items 3 and 5;
docs/access.md, "The review inbox", "Devices lacking a flag")."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import TestClient

from domain.municipal_services import Service
from tests.api import assert_problem, planned_visit, post
from tests.rent_api import FBE, housed
from tests.sync_api import Tablet, complete_item, followed_by, settled

LEAD = {
    "x-folgja-user": str(uuid.uuid4()),
    "x-folgja-service": Service.OUTREACH_TEAM.value,
    "x-folgja-role": "team_lead",
}
# A lead of another service (omsorg: service staff).
OTHER_LEAD = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": Service.CARE.value}
TWO_PERSON = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}


def flag(client: TestClient, dwelling_id: uuid.UUID) -> int:
    position: int = post(client, f"/dwellings/{dwelling_id}/safety-flag", TWO_PERSON, FBE)[
        "position"
    ]
    return position


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    response = client.get("/review-inbox", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def plan_item(seq: int, tenant_id: uuid.UUID, worker_id: uuid.UUID) -> dict[str, Any]:
    return {
        "item_id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": "2026-03-06T13:00:00+01:00",
        "command": {
            "type": "plan_visit",
            "tenant_id": str(tenant_id),
            "visit_id": str(uuid.uuid4()),
            "planned_for": "2026-03-10T10:00:00+01:00",
            "worker_ids": [str(worker_id)],
        },
    }


def alone_at_a_two_person_address(client: TestClient) -> tuple[Tablet, uuid.UUID, Any, Any]:
    """Kari visits alone, offline, an address flagged two-person while she was away:
    (tablet, tenant, the item pushed, its outcome)."""
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    dwelling_id, _ = housed(client, tenant_id)
    visit_id = planned_visit(client, tenant_id, tablet.user_id)
    assert tablet.pull().status_code == 200
    flag(client, dwelling_id)
    item = complete_item(1, visit_id, [tablet.user_id], note="Gikk alene; rolig besøk")
    pushed = tablet.push([item])
    assert pushed.status_code == 200, pushed.text
    return tablet, tenant_id, item, pushed.json()["outcomes"][0]


def test_a_visit_alone_at_a_two_person_address_waits_in_the_leads_inbox(
    client: TestClient,
) -> None:
    tablet, tenant_id, item, outcome = alone_at_a_two_person_address(client)
    assert outcome["status"] == "applied_for_review", outcome
    assert "two_person_address" in outcome["review_reasons"]

    page = inbox(client, LEAD)
    assert page["next_cursor"] is None
    [entry] = page["items"]
    assert entry["item_id"] == item["item_id"]
    assert entry["device_id"] == str(tablet.device_id)
    assert entry["seq"] == 1
    assert entry["user_id"] == str(tablet.user_id)
    assert entry["command_type"] == "complete_visit"
    assert entry["command"]["observations"]["note"] == "Gikk alene; rolig besøk"
    assert entry["status"] == "applied_for_review"
    assert entry["review_reasons"] == outcome["review_reasons"]
    assert entry["position"] == outcome["position"]
    assert entry["tenant_id"] == str(tenant_id)
    assert entry["problem"] is None and entry["resolution"] is None
    assert entry["occurred_at"].startswith("2026-03-06T11:00:00")

    # Filters: by tenant, by status.
    assert len(inbox(client, LEAD, tenant_id=str(tenant_id))["items"]) == 1
    assert inbox(client, LEAD, tenant_id=str(uuid.uuid4()))["items"] == []
    assert inbox(client, LEAD, status="kept_for_review")["items"] == []
    both = inbox(client, LEAD, status=["kept_for_review", "applied_for_review"])
    assert len(both["items"]) == 1

    # Another service's lead sees nothing of it, and cannot resolve it.
    assert inbox(client, OTHER_LEAD)["items"] == []
    refused = client.post(
        f"/review-inbox/{item['item_id']}/resolution", json={"note": "Sett"}, headers=OTHER_LEAD
    )
    assert_problem(refused, 404, "item_id", "must_exist")


def test_an_item_is_resolved_once_and_leaves_the_open_inbox(client: TestClient) -> None:
    _, _, item, _ = alone_at_a_two_person_address(client)
    path = f"/review-inbox/{item['item_id']}/resolution"
    note = "Snakket med Kari: neste besøk med to"
    resolved = client.post(path, json={"note": note}, headers=LEAD)
    assert resolved.status_code == 201, resolved.text
    resolution = resolved.json()["resolution"]
    assert resolution["note"] == note
    assert resolution["resolved_by"] == LEAD["x-folgja-user"]

    again = client.post(path, json={"note": "En gang til"}, headers=LEAD)
    assert_problem(again, 409, "item_id", "not_resolved")
    assert inbox(client, LEAD)["items"] == []
    [done] = inbox(client, LEAD, resolved="true")["items"]
    assert done["resolution"] == resolution

    unknown = client.post(
        f"/review-inbox/{uuid.uuid4()}/resolution", json={"note": "x"}, headers=LEAD
    )
    assert_problem(unknown, 404, "item_id", "must_exist")
    empty = client.post(path, json={"note": ""}, headers=LEAD)
    assert_problem(empty, 422, "note", "length")


def test_an_item_applied_as_sent_is_not_in_review(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    visit_id = planned_visit(client, tenant_id, tablet.user_id)
    item = complete_item(1, visit_id, [tablet.user_id])
    assert tablet.push([item]).json()["outcomes"][0]["status"] == "applied"
    assert inbox(client, LEAD)["items"] == []
    response = client.post(
        f"/review-inbox/{item['item_id']}/resolution", json={"note": "?"}, headers=LEAD
    )
    assert_problem(response, 409, "item_id", "in_review")


def test_the_timeline_shows_the_items_review_state(client: TestClient) -> None:
    tablet, tenant_id, item, outcome = alone_at_a_two_person_address(client)
    settled(client)

    def timeline() -> list[Any]:
        response = client.get(f"/tenants/{tenant_id}/timeline", headers=LEAD)
        assert response.status_code == 200, response.text
        entries: list[Any] = response.json()
        return entries

    entries = timeline()
    reviewed = [e for e in entries if "review" in e]
    assert [e["position"] for e in reviewed] == [outcome["position"]]
    assert reviewed[0]["review"] == {
        "item_id": item["item_id"],
        "status": "applied_for_review",
        "review_reasons": outcome["review_reasons"],
        "resolved_at": None,
    }
    client.post(f"/review-inbox/{item['item_id']}/resolution", json={"note": "OK"}, headers=LEAD)
    [after] = [e for e in timeline() if "review" in e]
    assert after["review"]["resolved_at"] is not None

    # The tenant is given to another worker while the tablet is offline: what Kari then
    # records for the tenant is kept aside, not applied, and listed apart.
    other = client.colleague()
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": Service.OUTREACH_TEAM.value, "contact_worker_id": str(other)},
    )
    kept_item = plan_item(2, tenant_id, tablet.user_id)
    kept = tablet.push([kept_item]).json()["outcomes"][0]
    assert kept["status"] == "kept_for_review", kept
    response = client.get(f"/tenants/{tenant_id}/timeline/kept-for-review", headers=LEAD)
    assert response.status_code == 200, response.text
    [listed] = response.json()["items"]
    assert listed["item_id"] == kept_item["item_id"]
    assert listed["status"] == "kept_for_review" and listed["position"] is None
    assert listed["problem"]["rule"] == kept["problem"]["rule"]
    assert listed["resolution"] is None
    assert [e["item_id"] for e in inbox(client, LEAD)["items"]] == [kept_item["item_id"]]
    # Another service's lead has no view of the tenant.
    hidden = client.get(f"/tenants/{tenant_id}/timeline/kept-for-review", headers=OTHER_LEAD)
    assert hidden.status_code == 404, hidden.text


def test_the_devices_lacking_a_new_flag_empty_as_they_pull(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    dwelling_id, _ = housed(client, tenant_id)
    path = f"/safety-register/{dwelling_id}/devices-lacking"
    assert_problem(client.get(path, headers=LEAD), 404, "dwelling_id", "must_exist")
    first = tablet.pull().json()

    position = flag(client, dwelling_id)

    def lacking(headers: dict[str, str]) -> list[str]:
        response = client.get(path, params={"min_position": position}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["flag_position"] == position
        return [d["device_id"] for d in response.json()["devices"]]

    assert lacking(LEAD) == [str(tablet.device_id)]
    assert lacking(FBE) == [str(tablet.device_id)]  # the property manager: every service's
    assert lacking(OTHER_LEAD) == []  # omsorg's lead: omsorg's devices only

    # The next pull brings the flag first; the device holds it once a later pull says so.
    second = tablet.pull(cursor=first["cursor"], flags_through=first["flags_through"]).json()
    assert second["safety_flags"][0]["dwelling_id"] == str(dwelling_id)
    assert second["flags_through"] >= position
    assert lacking(LEAD) == [str(tablet.device_id)]
    third = tablet.pull(cursor=second["cursor"], flags_through=second["flags_through"])
    assert third.status_code == 200, third.text
    assert lacking(LEAD) == []


def test_a_tablet_that_never_pulled_lacks_every_flag(client: TestClient) -> None:
    tablet = Tablet(client, "kari", Service.OUTREACH_TEAM)
    tenant_id = followed_by(client, tablet)
    dwelling_id, _ = housed(client, tenant_id)
    position = flag(client, dwelling_id)
    response = client.get(
        f"/safety-register/{dwelling_id}/devices-lacking",
        params={"min_position": position},
        headers=LEAD,
    )
    assert response.status_code == 200, response.text
    [device] = response.json()["devices"]
    assert device == {
        "device_id": str(tablet.device_id),
        "label": "karis nettbrett",
        "user_id": str(tablet.user_id),
        "last_pull_at": None,
        "flags_through": 0,
    }
