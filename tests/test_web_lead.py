"""The team lead's pages through the real app: the team's caseload (risk as colour and
word, overdue, flagged address), the handover board with the tenants no service is
responsible for on top, the devices with revoke; and the alerts inbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.alerts import AlertRule
from domain.municipal_services import Service
from tests.api import head_position, post, tenant_in_follow_up
from tests.auth_api import bearer, login, make_user
from tests.conftest import Clock
from tests.rent_api import FBE, housed
from tests.test_alerts_http import LATE, run_rules
from tests.web_helpers import access_rows, as_api, browser, form_token, post_form, sign_in


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    # The tests run the time rules themselves (as tests/test_alerts_http.py does).
    settings = Settings(database_url=database.url, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as test_client:
        yield test_client


def team_tenant(client: TestClient, worker: uuid.UUID) -> uuid.UUID:
    tenant_id = tenant_in_follow_up(client)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": str(worker)},
    )
    return tenant_id


def as_browser(client: TestClient, username: str) -> TestClient:
    browser(client)
    client.cookies.clear()
    assert sign_in(client, username).status_code == 303
    return client


def test_the_lead_sees_the_teams_caseload_with_risk_overdue_and_flag(
    client: TestClient, clock: Clock
) -> None:
    worker = make_user(client, "frida.felt", Role.FIELD_WORKER)
    make_user(client, "tone.lead", Role.TEAM_LEAD)
    tenant_id = team_tenant(client, worker)
    dwelling_id, _ = housed(client, tenant_id)
    flag = {"kind": "two_person", "reason": "weapons", "review_on": "2026-06-01"}
    post(client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
    clock.now = LATE
    as_browser(client, "tone.lead")
    response = client.get(f"/web/caseload?min_position={head_position(client)}")
    assert response.status_code == 200, response.text
    html = response.text
    assert "Test Beboer" in html and f'href="/web/tenants/{tenant_id}"' in html
    assert 'class="risk risk-' in html  # the colour ...
    assert any(w in html for w in ("Lav", "Moderat", "Høy", "Kritisk"))  # ... and the word
    assert "Forfalt" in html  # overdue
    assert "To personer" in html and "Strandgata 12" in html  # the flagged address
    [read] = access_rows(client, "GET /web/caseload")
    assert read["tenant_id"] == tenant_id and read["action"] == "read"


def test_the_caseload_is_for_leads_only(client: TestClient) -> None:
    make_user(client, "frida.felt", Role.FIELD_WORKER)
    make_user(client, "kari.fbe", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    for username in ("frida.felt", "kari.fbe"):
        as_browser(client, username)
        refused = client.get("/web/caseload")
        assert refused.status_code == 403, username
        assert "Test Beboer" not in refused.text
    assert access_rows(client, "GET /web/caseload") == []


def test_the_board_puts_the_tenants_nobody_follows_on_top(client: TestClient) -> None:
    make_user(client, "tone.lead", Role.TEAM_LEAD)
    tenant_in_follow_up(client)  # no responsible service
    as_browser(client, "tone.lead")
    html = client.get(f"/web/handover-board?min_position={head_position(client)}").text
    gap, board = html.index("Uten ansvarlig tjeneste"), html.index("Overføringer etter dato")
    assert gap < board
    assert "Test Beboer" in html[gap:board]
    # A field worker sees the board without the list (it is the leads' to assign).
    make_user(client, "frida.felt", Role.FIELD_WORKER)
    as_browser(client, "frida.felt")
    worker_view = client.get("/web/handover-board")
    assert worker_view.status_code == 200
    assert "Uten ansvarlig tjeneste" not in worker_view.text


def test_the_lead_revokes_a_teams_tablet(client: TestClient) -> None:
    make_user(client, "frida.felt", Role.FIELD_WORKER)
    make_user(client, "tone.lead", Role.TEAM_LEAD)
    make_user(client, "ola.omsorg", Role.TEAM_LEAD, service=Service.CARE)
    as_api(client)
    worker = bearer(login(client, "frida.felt")["access_token"])
    device = client.post("/devices", json={"label": "Nettbrett 7"}, headers=worker).json()
    # A lead of another service sees none of it and may not revoke it.
    as_browser(client, "ola.omsorg")
    assert "Nettbrett 7" not in client.get("/web/devices").text
    path = f"/web/devices/{device['device_id']}/revocation"
    assert post_form(client, path, {}, "/web/devices").status_code == 403
    as_browser(client, "tone.lead")
    listed = client.get("/web/devices").text
    assert "Nettbrett 7" in listed and "frida.felt" in listed and "I bruk" in listed
    revoked = post_form(client, path, {}, "/web/devices")
    assert revoked.status_code == 303, revoked.text
    assert "Tilbakekalt" in client.get(revoked.headers["location"]).text
    # Revoked as by the API: the device's credential is refused from now on.
    as_api(client)
    exchange = {"device_credential": device["device_credential"]}
    assert client.post("/auth/device-token", json=exchange).status_code == 401


def test_field_workers_have_no_devices_page(client: TestClient) -> None:
    make_user(client, "frida.felt", Role.FIELD_WORKER)
    as_browser(client, "frida.felt")
    assert client.get("/web/devices").status_code == 403


def test_a_worker_takes_an_alert_from_the_inbox(client: TestClient, clock: Clock) -> None:
    worker = make_user(client, "frida.felt", Role.FIELD_WORKER)
    tenant_id = team_tenant(client, worker)
    clock.now = LATE
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 1
    as_browser(client, "frida.felt")
    html = client.get(f"/web/alerts?min_position={head_position(client)}").text
    assert "Besøk forfalt" in html and f"/web/tenants/{tenant_id}" in html
    [read] = access_rows(client, "GET /web/alerts")
    assert read["tenant_id"] == tenant_id
    alert_id = read["record_id"]
    too_long = post_form(client, f"/web/alerts/{alert_id}/acknowledgement", {"note": "x" * 2001})
    assert too_long.status_code == 400
    assert f'id="note-{alert_id}-error"' in too_long.text
    taken = post_form(
        client, f"/web/alerts/{alert_id}/acknowledgement", {"note": "Ringer i morgen"}
    )
    assert taken.status_code == 303, taken.text
    shown = client.get(taken.headers["location"]).text
    assert "Varselet er tatt." in shown and "Tatt" in shown
    clock.now = LATE + timedelta(minutes=1)
    # An alert they were never told of is not found.
    missing = post_form(client, f"/web/alerts/{uuid.uuid4()}/acknowledgement", {"note": ""})
    assert missing.status_code == 404


def test_htmx_acknowledges_an_alert_in_place_answering_its_row_alone(
    client: TestClient, clock: Clock
) -> None:
    worker = make_user(client, "hedda.felt", Role.FIELD_WORKER)
    team_tenant(client, worker)
    clock.now = LATE
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 1
    as_browser(client, "hedda.felt")
    page = client.get(f"/web/alerts?min_position={head_position(client)}").text
    assert 'hx-post="/web/alerts/' in page and 'hx-target="closest tr"' in page
    [read] = access_rows(client, "GET /web/alerts")
    path = f"/web/alerts/{read['record_id']}/acknowledgement"
    token = form_token(client, "/web/alerts")
    htmx = {"hx-request": "true"}

    too_long = client.post(path, data={"note": "x" * 2001, "_csrf_token": token}, headers=htmx)
    assert too_long.status_code == 400
    assert too_long.text.lstrip().startswith("<tr>") and "<html" not in too_long.text
    assert f'id="note-{read["record_id"]}-error"' in too_long.text

    taken = client.post(path, data={"note": "Ringer", "_csrf_token": token}, headers=htmx)
    assert taken.status_code == 200, taken.text
    row = taken.text.strip()
    assert row.startswith("<tr>") and row.endswith("</tr>") and "<html" not in row
    assert "Tatt" in row and "<form" not in row  # acknowledged: no form left in the row
