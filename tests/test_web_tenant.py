"""The tenant page through the real app: the risk timeline as an SVG chart with a marker
per fact and its reasons (on hover and in a table), the timeline under it; who may read
it; the access log."""

from __future__ import annotations

import re
import uuid

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.api import head_position, post, tenant_in_follow_up
from tests.auth_api import make_user
from tests.rent_api import rent_case, step
from tests.web_helpers import access_rows, browser, sign_in


def lead_tenant(client: TestClient) -> uuid.UUID:
    worker = make_user(client, "frida.felt", Role.FIELD_WORKER)
    make_user(client, "tone.lead", Role.TEAM_LEAD)
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


def marker_levels(html: str) -> list[float]:
    """The markers' heights (SVG y; smaller is higher risk), in time order."""
    return [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', html)]


def test_the_chart_shows_the_risk_rising_after_arrears(client: TestClient) -> None:
    tenant_id = lead_tenant(client)
    case_id = rent_case(client, tenant_id)
    head = head_position(client)
    client.anonymous = True  # type: ignore[attr-defined]
    before = as_browser(client, "tone.lead").get(f"/web/tenants/{tenant_id}?min_position={head}")
    assert before.status_code == 200, before.text
    client.anonymous = False  # type: ignore[attr-defined]
    for month in ("2026-01", "2026-02"):
        done = step(client, case_id, "arrears", {"month": month, "amount_nok": 9000})
    client.anonymous = True  # type: ignore[attr-defined]
    after = client.get(f"/web/tenants/{tenant_id}?min_position={done['position']}")
    html = after.text
    assert "<svg" in html and 'role="img"' in html and "<title" in html
    heights = marker_levels(html)
    assert len(heights) > len(marker_levels(before.text))
    assert heights[-1] < heights[0]  # the last marker is higher: the risk rose
    # The reasons are in the markers' titles and in the table for screen readers.
    table = html[html.index("<table") : html.index("</table>")]
    assert "2 months of rent unpaid</title></circle>" in html
    assert "2 months of rent unpaid</td>" in table
    assert table.count("<tr>") == len(heights) + 1  # the header, and a row per marker
    assert "Test Beboer" in html and "Skriv ut" in html
    assert 'media="print"' in html
    reads = access_rows(client, "GET /web/tenants/{tenant_id}")
    assert [r["tenant_id"] for r in reads] == [tenant_id, tenant_id]


def test_those_without_a_need_to_know_are_not_shown_the_tenant(client: TestClient) -> None:
    tenant_id = lead_tenant(client)
    make_user(client, "kari.fbe", Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER)
    make_user(client, "ola.omsorg", Role.TEAM_LEAD, service=Service.CARE)
    make_user(client, "nina.nav", Role.NAV_OFFICER, service=Service.NAV)
    # FBE and NAV may not read a tenant page at all; another team is told it is not there.
    for username, status in (("kari.fbe", 403), ("nina.nav", 403), ("ola.omsorg", 404)):
        response = as_browser(client, username).get(f"/web/tenants/{tenant_id}")
        assert response.status_code == status, username
        assert "Test Beboer" not in response.text
    # A tenant that does not exist answers as one the caller may not see.
    as_browser(client, "tone.lead")
    assert client.get(f"/web/tenants/{uuid.uuid4()}").status_code == 404


def test_the_page_reads_in_english_too(client: TestClient) -> None:
    tenant_id = lead_tenant(client)
    html = as_browser(client, "tone.lead").get(f"/web/tenants/{tenant_id}?lang=en").text
    assert '<html lang="en">' in html and "Risk over time" in html
