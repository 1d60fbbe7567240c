"""NAV's pages through the real app: the inbox with the basis said plainly, acknowledge
and answer; only what NAV may see; the access log as the API's."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.api import head_position
from tests.rent_api import consent_to_nav, get_case, registered_tenant, rent_case, step
from tests.web_helpers import access_rows, post_form, signed_in_browser

INBOX = "/web/nav-inbox"


def notified(client: TestClient, *, consent: bool) -> tuple[uuid.UUID, str]:
    tenant_id = registered_tenant(client)
    if consent:
        consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    if not consent:  # plain arrears have no basis without consent; an eviction step has
        step(client, case_id, "eviction-warning", {"issued_on": "2026-03-06"})
    return tenant_id, get_case(client, case_id)["nav_notices"][0]["notification_id"]


def nav_browser(client: TestClient) -> TestClient:
    return signed_in_browser(client, "nina.nav", Role.NAV_OFFICER, service=Service.NAV)


def test_nav_sees_the_notification_its_basis_and_no_more(client: TestClient) -> None:
    tenant_id, notification_id = notified(client, consent=True)
    nav_browser(client)
    response = client.get(f"{INBOX}?min_position={head_position(client)}")
    assert response.status_code == 200
    html = response.text
    assert "Ola Nordmann" in html
    assert "Leietakerens samtykke" in html
    assert "Husleierestanse" in html and "8 500 kr" in html
    assert "Ikke bekreftet" in html
    # Nothing of the home, the lease or the rent case: NAV's view is name and birth date.
    assert "Strandgata" not in html
    [read] = access_rows(client, "GET /web/nav-inbox")
    assert read["tenant_id"] == tenant_id and read["record_id"] == notification_id


def test_the_law_is_named_when_there_is_no_consent(client: TestClient) -> None:
    notified(client, consent=False)
    nav_browser(client)
    html = client.get(f"{INBOX}?min_position={head_position(client)}").text
    assert "Husleieloven § 9-11" in html and "Varsel om utkastelse" in html
    assert "Tenancy Act § 9-11" in client.get(INBOX + "?lang=en").text


def test_nav_acknowledges_and_answers(client: TestClient) -> None:
    tenant_id, notification_id = notified(client, consent=True)
    nav_browser(client)
    base = f"/web/nav-notifications/{notification_id}"
    acked = post_form(client, base + "/acknowledgement", {}, INBOX)
    assert acked.status_code == 303, acked.text
    shown = client.get(acked.headers["location"]).text
    assert "Varselet er bekreftet mottatt." in shown and "Ikke bekreftet" not in shown
    answered = post_form(client, base + "/answer", {"answer": "no_action", "text": ""}, INBOX)
    assert answered.status_code == 303, answered.text
    shown = client.get(answered.headers["location"]).text
    assert "Besvart" in shown and "Ingen tiltak" in shown
    changes = access_rows(client, "POST /web/nav-notifications/{notification_id}/acknowledgement")
    assert [(r["tenant_id"], r["record_id"]) for r in changes] == [(tenant_id, notification_id)]


def test_the_answer_form_says_what_is_wrong(client: TestClient) -> None:
    _, notification_id = notified(client, consent=True)
    nav_browser(client)
    path = f"/web/nav-notifications/{notification_id}/answer"
    client.get(f"{INBOX}?min_position={head_position(client)}")  # the inbox has it
    empty = post_form(client, path, {"answer": "", "text": ""}, INBOX)
    assert empty.status_code == 400
    assert f'id="answer-{notification_id}-answer-error"' in empty.text
    other = post_form(client, path, {"answer": "other", "text": ""}, INBOX)
    assert other.status_code == 422, other.text
    assert "error-summary" in other.text


def test_others_may_not_open_the_inbox_and_unknown_notifications_are_not_found(
    client: TestClient,
) -> None:
    nav_browser(client)
    missing = post_form(client, f"/web/nav-notifications/{uuid.uuid4()}/acknowledgement", {}, INBOX)
    assert missing.status_code == 404
    client.cookies.clear()
    signed_in_browser(client, "kari.fbe", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    refused = client.get(INBOX)
    assert refused.status_code == 403
    assert "Ingen tilgang" in refused.text


def test_acknowledging_twice_answers_a_page_saying_so(client: TestClient) -> None:
    _, notification_id = notified(client, consent=True)
    nav_browser(client)
    path = f"/web/nav-notifications/{notification_id}/acknowledgement"
    assert post_form(client, path, {}, INBOX).status_code == 303
    again = post_form(client, path, {}, INBOX)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert "Noe gikk galt" in again.text and "prøv igjen" in again.text
