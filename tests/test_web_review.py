"""The review inbox page through the real app: items recorded offline and kept for review,
of the lead's own service; resolved with a note, once; the access log."""

from __future__ import annotations

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.test_sync_review import alone_at_a_two_person_address
from tests.web_helpers import access_rows, post_form, signed_in_browser

PAGE = "/web/review-inbox"


def test_the_lead_reviews_an_item_recorded_alone_at_a_two_person_address(
    client: TestClient,
) -> None:
    _, tenant_id, item, _ = alone_at_a_two_person_address(client)
    signed_in_browser(client, "tone.lead", Role.TEAM_LEAD)
    html = client.get(PAGE).text
    assert "complete_visit" in html and "two_person_address" in html
    assert f"/web/tenants/{tenant_id}" in html
    [read] = access_rows(client, "GET /web/review-inbox")
    assert (read["tenant_id"], read["record_id"]) == (tenant_id, item["item_id"])
    path = f"/web/review-inbox/{item['item_id']}/resolution"
    empty = post_form(client, path, {"note": ""}, PAGE)
    assert empty.status_code == 400
    assert f'id="note-{item["item_id"]}-error"' in empty.text
    done = post_form(client, path, {"note": "Neste besøk med to"}, PAGE)
    assert done.status_code == 303, done.text
    shown = client.get(done.headers["location"]).text
    assert "Saken er gjennomgått." in shown and "complete_visit" not in shown
    [change] = access_rows(client, "POST /web/review-inbox/{item_id}/resolution")
    assert change["tenant_id"] == tenant_id and change["action"] == "change"
    assert post_form(client, path, {"note": "Igjen"}, PAGE).status_code == 409


def test_another_services_lead_and_field_workers_see_nothing_of_it(client: TestClient) -> None:
    _, _, item, _ = alone_at_a_two_person_address(client)
    signed_in_browser(client, "ola.omsorg", Role.TEAM_LEAD, service=Service.CARE)
    assert "complete_visit" not in client.get(PAGE).text
    path = f"/web/review-inbox/{item['item_id']}/resolution"
    assert post_form(client, path, {"note": "Sett"}, PAGE).status_code == 404
    client.cookies.clear()
    signed_in_browser(client, "frida.felt", Role.FIELD_WORKER)
    assert client.get(PAGE).status_code == 403
