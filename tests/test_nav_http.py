"""NAV's side over HTTP: read a notification, acknowledge it, answer it."""

from __future__ import annotations

import uuid

from tests.api import assert_problem, head_position, post, timeline
from tests.rent_api import (
    FBE,
    NAV,
    consent_to_nav,
    get_case,
    get_notification,
    registered_tenant,
    rent_case,
    step,
)


def notified(client) -> tuple[uuid.UUID, str]:
    tenant_id = registered_tenant(client)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    return tenant_id, get_case(client, case_id)["nav_notices"][0]["notification_id"]


def test_nav_acknowledges_and_answers_and_the_raiser_sees_it(client, clock):
    tenant_id, notification_id = notified(client)
    url = f"/nav-notifications/{notification_id}"

    clock.advance(hours=20)
    post(client, f"{url}/acknowledgement", {}, NAV)
    clock.advance(days=2)
    result = post(
        client,
        f"{url}/answer",
        {"answer": "economic_assistance_granted", "text": "Innvilget nødhjelp"},
        NAV,
    )

    notification = get_notification(client, notification_id)
    assert notification["acknowledged_at"] == "2026-03-07T11:30:00Z"
    assert notification["answered_at"] == "2026-03-09T11:30:00Z"
    assert (notification["answer"], notification["answer_text"]) == (
        "economic_assistance_granted",
        "Innvilget nødhjelp",
    )
    summaries = [e["summary"] for e in timeline(client, tenant_id, result["position"])]
    assert summaries[-2:] == [
        "NAV acknowledged the notification",
        "NAV answered: economic assistance granted",
    ]
    assert not any("nødhjelp" in s for s in summaries)


def test_only_nav_acknowledges_and_nothing_is_written_otherwise(client):
    _, notification_id = notified(client)
    before = head_position(client)

    response = client.post(
        f"/nav-notifications/{notification_id}/acknowledgement", json={}, headers=FBE
    )

    # Refused by the policy table before the domain's own rule (409 service/nav_only).
    assert_problem(response, 403, "authorization", "role_required")
    assert head_position(client) == before
    assert get_notification(client, notification_id)["acknowledged_at"] is None


def test_nav_acknowledges_before_answering_and_only_once(client):
    _, notification_id = notified(client)
    url = f"/nav-notifications/{notification_id}"

    early = client.post(f"{url}/answer", json={"answer": "no_action"}, headers=NAV)
    assert_problem(early, 409, "notification_id", "acknowledge_before_answer")
    post(client, f"{url}/acknowledgement", {}, NAV)
    again = client.post(f"{url}/acknowledgement", json={}, headers=NAV)
    assert_problem(again, 409, "notification_id", "not_acknowledged")
    post(client, f"{url}/answer", {"answer": "repayment_agreement_set_up"}, NAV)
    twice = client.post(f"{url}/answer", json={"answer": "no_action"}, headers=NAV)
    assert_problem(twice, 409, "notification_id", "not_answered")


def test_an_answer_outside_the_list_is_refused(client):
    _, notification_id = notified(client)
    url = f"/nav-notifications/{notification_id}"
    post(client, f"{url}/acknowledgement", {}, NAV)

    response = client.post(f"{url}/answer", json={"answer": "maybe"}, headers=NAV)
    assert_problem(response, 422, "answer", "allowed_values")
    other = client.post(f"{url}/answer", json={"answer": "other"}, headers=NAV)
    assert_problem(other, 422, "text", "required_for_other")


def test_an_unknown_notification_is_404(client):
    missing = uuid.uuid4()
    response = client.get(f"/nav-notifications/{missing}")
    assert_problem(response, 404, "notification_id", "must_exist")
    response = client.post(f"/nav-notifications/{missing}/acknowledgement", json={}, headers=NAV)
    assert_problem(response, 404, "notification_id", "must_exist")
