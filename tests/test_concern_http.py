"""Concerns over HTTP: FBE raises one; it is routed, acknowledged, resolved; FBE sees it all."""

from __future__ import annotations

import uuid

from tests.api import OUTREACH, assert_problem, head_position, post, timeline
from tests.rent_api import FBE, NAV, registered_tenant

SECRET = "Naboen sier han truer med kniv"


def raised(client, tenant_id: uuid.UUID | None, category: str = "neighbour_conflict") -> str:
    concern_id = str(uuid.uuid4())
    body: dict[str, object] = {
        "concern_id": concern_id,
        "category": category,
        "description": SECRET,
    }
    if tenant_id is not None:
        body["tenant_id"] = str(tenant_id)
    post(client, "/concerns", body, FBE)
    return concern_id


def get(client, concern_id: str, headers: dict[str, str] | None = None) -> dict[str, object]:
    response = client.get(f"/concerns/{concern_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_concern_from_raised_to_resolved_with_the_status_always_visible(client, clock):
    tenant_id = registered_tenant(client)
    concern_id = raised(client, tenant_id)
    concern = get(client, concern_id)
    assert (concern["status"], concern["raised_by"], concern["routed_to"]) == (
        "raised",
        "fbe",
        None,
    )

    post(client, f"/concerns/{concern_id}/routing", {"to_service": "tiltaksteamet"}, FBE)
    assert get(client, concern_id)["status"] == "routed"

    clock.advance(hours=3)
    post(client, f"/concerns/{concern_id}/acknowledgement", {}, OUTREACH)
    concern = get(client, concern_id)
    assert (concern["status"], concern["acknowledged_at"]) == (
        "acknowledged",
        "2026-03-06T18:30:00Z",
    )

    result = post(
        client,
        f"/concerns/{concern_id}/resolution",
        {"outcome": "action_taken", "outcome_text": "Mekling mellom naboene avtalt"},
        OUTREACH,
    )
    concern = get(client, concern_id)
    assert (concern["status"], concern["outcome"]) == ("resolved", "action_taken")
    assert concern["description"] == SECRET

    entries = timeline(client, tenant_id, result["position"])
    assert [e["summary"] for e in entries[1:]] == [
        "Concern raised by fbe: neighbour conflict",
        "Concern (neighbour conflict) routed to tiltaksteamet",
        "Concern (neighbour conflict) acknowledged by tiltaksteamet",
        "Concern (neighbour conflict) resolved: action taken",
    ]
    assert not any("kniv" in e["summary"] or "Mekling" in e["summary"] for e in entries)


def test_only_the_routed_service_acknowledges_and_nothing_is_written_otherwise(client):
    concern_id = raised(client, registered_tenant(client))
    url = f"/concerns/{concern_id}/acknowledgement"
    not_routed = client.post(url, json={}, headers=OUTREACH)
    assert_problem(not_routed, 409, "concern_id", "route_before_acknowledge")

    post(client, f"/concerns/{concern_id}/routing", {"to_service": "tiltaksteamet"}, FBE)
    before = head_position(client)
    # The raiser is a party to the concern, but it is not the one holding it.
    response = client.post(url, json={}, headers=FBE)
    assert_problem(response, 409, "service", "routed_service_only")
    # A service with no part in it is not told that it exists.
    response = client.post(url, json={}, headers=NAV)
    assert_problem(response, 404, "concern_id", "must_exist")
    assert head_position(client) == before
    assert get(client, concern_id)["status"] == "routed"


def test_escalation_sends_an_unacknowledged_concern_elsewhere(client):
    tenant_id = registered_tenant(client)
    concern_id = raised(client, tenant_id, "fire_safety")
    post(client, f"/concerns/{concern_id}/routing", {"to_service": "omsorg"}, FBE)
    result = post(
        client,
        f"/concerns/{concern_id}/escalation",
        {"reason": "not_acknowledged", "to_service": "tiltaksteamet"},
        FBE,
    )
    concern = get(client, concern_id)
    assert (concern["status"], concern["routed_to"], concern["escalations"]) == (
        "routed",
        "tiltaksteamet",
        1,
    )
    assert timeline(client, tenant_id, result["position"])[-1]["summary"] == (
        "Concern (fire safety) escalated: not acknowledged, routed to tiltaksteamet"
    )


def test_a_resolved_concern_is_neither_resolved_again_nor_escalated(client):
    concern_id = raised(client, registered_tenant(client))
    body = {"outcome": "withdrawn", "outcome_text": "Feil adresse"}
    post(client, f"/concerns/{concern_id}/resolution", body, FBE)

    again = client.post(f"/concerns/{concern_id}/resolution", json=body, headers=FBE)
    assert_problem(again, 409, "concern_id", "unresolved")
    escalate = client.post(
        f"/concerns/{concern_id}/escalation", json={"reason": "other"}, headers=FBE
    )
    assert_problem(escalate, 409, "concern_id", "unresolved")


def test_a_concern_about_an_address_only_is_kept_off_tenant_timelines(client):
    concern_id = str(uuid.uuid4())
    body = {
        "concern_id": concern_id,
        "dwelling_id": str(a_dwelling(client)),
        "category": "damage",
        "description": "Vannlekkasje i taket",
    }
    post(client, "/concerns", body, FBE)
    concern = get(client, concern_id, FBE)
    assert (concern["tenant_id"], concern["category"]) == (None, "damage")


def test_raising_is_retry_safe_and_an_id_is_not_reused(client):
    tenant_id = registered_tenant(client)
    body = {
        "concern_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "category": "hoarding",
        "description": "Full av søppel",
    }
    first = post(client, "/concerns", body, FBE)
    assert post(client, "/concerns", body, FBE) == first
    other = client.post("/concerns", json={**body, "category": "damage"}, headers=FBE)
    assert_problem(other, 409, "concern_id", "unique_id")


def a_dwelling(client) -> uuid.UUID:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    return dwelling_id


def test_bad_concerns_are_refused_with_field_and_rule(client):
    dwelling_id = str(a_dwelling(client))
    before = head_position(client)
    base = {"concern_id": str(uuid.uuid4()), "category": "damage", "description": "x"}

    nowhere = client.post("/concerns", json=base, headers=FBE)
    assert_problem(nowhere, 422, "tenant_id", "tenant_or_dwelling")
    unknown_tenant = client.post(
        "/concerns", json={**base, "tenant_id": str(uuid.uuid4())}, headers=FBE
    )
    assert_problem(unknown_tenant, 404, "tenant_id", "must_exist")
    category = client.post(
        "/concerns",
        json={**base, "dwelling_id": dwelling_id, "category": "smell"},
        headers=FBE,
    )
    assert_problem(category, 422, "category", "allowed_values")
    blank = client.post(
        "/concerns",
        json={**base, "dwelling_id": dwelling_id, "description": "  "},
        headers=FBE,
    )
    assert_problem(blank, 422, "description", "not_blank")
    unknown_dwelling = client.post(
        "/concerns", json={**base, "dwelling_id": str(uuid.uuid4())}, headers=FBE
    )
    assert_problem(unknown_dwelling, 404, "dwelling_id", "must_exist")
    assert head_position(client) == before


def test_an_unknown_concern_is_404(client):
    response = client.get(f"/concerns/{uuid.uuid4()}")
    assert_problem(response, 404, "concern_id", "must_exist")
