"""The property manager's (FBE's) pages through the real app: raise a concern and follow
it, the address safety register, arrears on a lease; the access log as the API's."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.api import OUTREACH
from tests.auth_api import make_user
from tests.rent_api import FBE, housed, registered_tenant
from tests.web_helpers import (
    access_rows,
    as_api,
    browser,
    form_token,
    post_form,
    sign_in,
    signed_in_browser,
)

FBE_USER = "kari.fbe"


def fbe_browser(client: TestClient) -> TestClient:
    return signed_in_browser(
        client, FBE_USER, Role.PROPERTY_MANAGER, service=Service.PROPERTY_MANAGER
    )


def raise_form(client: TestClient, **fields: str) -> object:
    token = form_token(client, "/web/concerns/new")
    page = client.get("/web/concerns/new").text
    concern_id = page.split('name="concern_id" value="')[1].split('"')[0]
    body = {"concern_id": concern_id, "_csrf_token": token, **fields}
    return client.post("/web/concerns", data=body, follow_redirects=False)


def test_fbe_raises_a_concern_and_sees_it_acknowledged(client: TestClient) -> None:
    tenant_id = registered_tenant(client)
    fbe_browser(client)
    response = raise_form(
        client,
        tenant_id=str(tenant_id),
        category="rent_arrears",
        description="Ulest post i en måned",
    )
    assert response.status_code == 303, response.text
    listed = client.get(response.headers["location"])
    assert listed.status_code == 200
    assert "Husleierestanse" in listed.text and "Meldt" in listed.text
    assert "Bekreftet mottatt" not in listed.text
    concern_id = access_rows(client, "POST /web/concerns")[0]["record_id"]

    # The outreach team gets it and acknowledges it through the API.
    as_api(client)
    routed = client.post(
        f"/concerns/{concern_id}/routing", json={"to_service": "tiltaksteamet"}, headers=FBE
    )
    assert routed.status_code == 201, routed.text
    acked = client.post(f"/concerns/{concern_id}/acknowledgement", json={}, headers=OUTREACH)
    assert acked.status_code == 201, acked.text
    position = acked.json()["position"]

    browser(client)
    again = client.get(f"/web/concerns?min_position={position}")
    assert "Bekreftet mottatt" in again.text
    assert "Tiltaksteamet" in again.text


def test_raising_and_listing_are_in_the_access_log_as_the_apis(client: TestClient) -> None:
    tenant_id = registered_tenant(client)
    fbe_browser(client)
    response = raise_form(
        client, tenant_id=str(tenant_id), category="damage", description="Vannlekkasje på badet"
    )
    assert response.status_code == 303
    client.get(response.headers["location"])
    [change] = access_rows(client, "POST /web/concerns")
    assert change["tenant_id"] == tenant_id and change["action"] == "change"
    assert change["status"] == 303 and change["record_id"]
    [read] = access_rows(client, "GET /web/concerns")
    assert read["tenant_id"] == tenant_id and read["action"] == "read"
    assert read["record_id"] == change["record_id"]


def test_the_concern_form_says_what_is_wrong_next_to_each_field(client: TestClient) -> None:
    fbe_browser(client)
    empty = raise_form(client, tenant_id="", dwelling_id="", category="", description="")
    assert empty.status_code == 400
    assert 'id="category-error"' in empty.text and 'id="description-error"' in empty.text
    bad_id = raise_form(client, tenant_id="not-an-id", category="damage", description="x")
    assert bad_id.status_code == 400
    assert "Ikke en gyldig ID." in bad_id.text
    assert 'value="not-an-id"' in bad_id.text  # what was typed is kept
    neither = raise_form(client, category="damage", description="Lukter røyk")
    assert neither.status_code == 400
    assert "Oppgi leietaker, adresse eller begge." in neither.text
    too_long = raise_form(
        client, tenant_id=str(uuid.uuid4()), category="damage", description="x" * 5001
    )
    assert too_long.status_code == 400
    assert "Høyst 5000 tegn." in too_long.text


def test_a_concern_about_an_unknown_tenant_is_refused_next_to_the_field(client: TestClient) -> None:
    fbe_browser(client)
    response = raise_form(
        client, tenant_id=str(uuid.uuid4()), category="damage", description="Knust vindu"
    )
    assert response.status_code == 422, response.text
    assert 'id="tenant_id-error"' in response.text


def flag_dwelling(client: TestClient) -> uuid.UUID:
    dwelling_id, _ = housed(client, registered_tenant(client))
    return dwelling_id


def test_fbe_sets_changes_reviews_and_lifts_a_flag(client: TestClient) -> None:
    dwelling_id = flag_dwelling(client)
    fbe_browser(client)
    page = "/web/safety-register"
    assert "Ingen adresser er flagget." in client.get(page).text
    set_it = post_form(
        client,
        "/web/safety-flag",
        {
            "dwelling_id": str(dwelling_id),
            "kind": "two_person",
            "reason": "weapons",
            "review_on": "2026-06-01",
        },
        page,
    )
    assert set_it.status_code == 303, set_it.text
    shown = client.get(set_it.headers["location"]).text
    assert "Strandgata 12" in shown and "To personer" in shown and "01.06.2026" in shown
    base = f"/web/dwellings/{dwelling_id}/safety-flag"
    changed = post_form(
        client,
        base + "/change",
        {"kind": "no_entry", "reason": "weapons", "review_on": "2026-07-01"},
        page,
    )
    assert changed.status_code == 303, changed.text
    assert "Ikke gå inn" in client.get(changed.headers["location"]).text
    reviewed = post_form(client, base + "/review", {"review_on": "2026-09-01"}, page)
    assert reviewed.status_code == 303, reviewed.text
    assert "01.09.2026" in client.get(reviewed.headers["location"]).text
    lifted = post_form(client, base + "/lift", {"reason": "Flyttet ut"}, page)
    assert lifted.status_code == 303, lifted.text
    assert "Ingen adresser er flagget." in client.get(lifted.headers["location"]).text


def test_the_flag_forms_show_their_messages(client: TestClient) -> None:
    dwelling_id = flag_dwelling(client)
    fbe_browser(client)
    page = "/web/safety-register"
    no_date = post_form(
        client,
        "/web/safety-flag",
        {"dwelling_id": str(dwelling_id), "kind": "two_person", "reason": "weapons"},
        page,
    )
    assert no_date.status_code == 400
    assert 'id="set-review_on-error"' in no_date.text
    no_id = post_form(client, "/web/safety-flag", {"dwelling_id": "x"}, page)
    assert no_id.status_code == 400 and "Ikke en gyldig ID." in no_id.text
    # Nothing to review on an address without a flag: the domain says so (422).
    review = post_form(
        client,
        f"/web/dwellings/{dwelling_id}/safety-flag/review",
        {"review_on": "2026-09-01"},
        page,
    )
    assert review.status_code in (409, 422), review.text
    assert "error-summary" in review.text


def test_who_may_not_flag_or_see_the_register_is_refused(client: TestClient) -> None:
    dwelling_id = flag_dwelling(client)
    make_user(client, "nina.nav", Role.NAV_OFFICER, service=Service.NAV)
    browser(client)
    assert sign_in(client, "nina.nav").status_code == 303
    assert client.get("/web/safety-register").status_code == 403
    assert "Ingen tilgang" in client.get("/web/safety-register").text
    client.cookies.clear()
    signed_in_browser(client, "frida.felt", Role.FIELD_WORKER)
    assert client.get("/web/safety-register").status_code == 200
    refused = post_form(
        client,
        "/web/safety-flag",
        {
            "dwelling_id": str(dwelling_id),
            "kind": "two_person",
            "reason": "weapons",
            "review_on": "2026-06-01",
        },
    )
    assert refused.status_code == 403


def test_fbe_reports_arrears_on_a_lease(client: TestClient) -> None:
    tenant_id = registered_tenant(client)
    _, lease_id = housed(client, tenant_id)
    fbe_browser(client)
    path = f"/web/leases/{lease_id}/arrears"
    assert client.get(path).status_code == 200
    reported = post_form(client, path, {"month": "2026-02", "amount_nok": "8500"}, path)
    assert reported.status_code == 303, reported.text
    assert "Restansen er meldt." in client.get(reported.headers["location"]).text
    # Again for the next month: the rent case is opened once and reused.
    again = post_form(client, path, {"month": "2026-03", "amount_nok": "8500"}, path)
    assert again.status_code == 303, again.text
    changes = access_rows(client, "POST /web/leases/{lease_id}/arrears")
    assert [r["tenant_id"] for r in changes] == [tenant_id, tenant_id]
    assert all(r["action"] == "change" for r in changes)
    reads = access_rows(client, "GET /web/leases/{lease_id}/arrears")
    assert reads and reads[0]["tenant_id"] == tenant_id


def test_the_arrears_form_says_what_is_wrong(client: TestClient) -> None:
    _, lease_id = housed(client, registered_tenant(client))
    fbe_browser(client)
    path = f"/web/leases/{lease_id}/arrears"
    bad = post_form(client, path, {"month": "februar", "amount_nok": "-3"}, path)
    assert bad.status_code == 400
    assert 'id="month-error"' in bad.text and 'id="amount_nok-error"' in bad.text
    future = post_form(client, path, {"month": "2031-01", "amount_nok": "100"}, path)
    assert future.status_code == 422, future.text
    assert 'id="month-error"' in future.text


def test_a_lease_that_does_not_exist_or_is_not_theirs_is_not_found(client: TestClient) -> None:
    _, lease_id = housed(client, registered_tenant(client))
    fbe_browser(client)
    assert client.get(f"/web/leases/{uuid.uuid4()}/arrears").status_code == 404
    client.cookies.clear()
    signed_in_browser(client, "tone.lead", Role.TEAM_LEAD)
    assert client.get(f"/web/leases/{lease_id}/arrears").status_code == 403


def test_fbe_finds_the_lease_by_its_id(client: TestClient) -> None:
    _, lease_id = housed(client, registered_tenant(client))
    fbe_browser(client)
    assert 'id="lease_id"' in client.get("/web/arrears").text
    found = client.get(f"/web/arrears?lease_id={lease_id}", follow_redirects=False)
    assert found.status_code == 303
    assert found.headers["location"] == f"/web/leases/{lease_id}/arrears"
    wrong = client.get("/web/arrears?lease_id=abc")
    assert wrong.status_code == 400 and 'id="lease_id-error"' in wrong.text
