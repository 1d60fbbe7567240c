"""Consent and the objection to NAV notice over HTTP, as recorded on the tenant."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api import OUTREACH, assert_problem, head_position, post, timeline
from tests.rent_api import consent_to_nav, object_to_nav_notice, registered_tenant


def tenant(client, tenant_id: uuid.UUID) -> dict[str, Any]:
    response = client.get(f"/tenants/{tenant_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_consent_is_given_and_withdrawn(client):
    tenant_id = registered_tenant(client)
    consent_id = uuid.uuid4()
    consent_to_nav(client, tenant_id, consent_id)
    result = post(
        client,
        f"/tenants/{tenant_id}/consents/{consent_id}/withdrawal",
        {"withdrawn_on": "2026-03-01"},
    )

    assert tenant(client, tenant_id)["consents"] == [
        {
            "consent_id": str(consent_id),
            "recipients": ["nav"],
            "categories": ["rent_and_eviction"],
            "given_on": "2026-01-05",
            "expires_on": None,
            "withdrawn_on": "2026-03-01",
        }
    ]
    summaries = [e["summary"] for e in timeline(client, tenant_id, result["position"])]
    assert summaries[-2:] == ["Consent given to share with nav", "Consent withdrawn"]

    again = client.post(
        f"/tenants/{tenant_id}/consents/{consent_id}/withdrawal",
        json={"withdrawn_on": "2026-03-02"},
        headers=OUTREACH,
    )
    assert_problem(again, 409, "consent_id", "not_withdrawn")


def test_giving_consent_is_retry_safe_and_its_id_is_not_reused(client):
    tenant_id = registered_tenant(client)
    consent_id = uuid.uuid4()
    first = consent_to_nav(client, tenant_id, consent_id)
    assert consent_to_nav(client, tenant_id, consent_id) == first

    other = {
        "consent_id": str(consent_id),
        "recipients": ["fbe"],
        "categories": ["rent_and_eviction"],
        "given_on": "2026-01-05",
    }
    response = client.post(f"/tenants/{tenant_id}/consents", json=other, headers=OUTREACH)
    assert_problem(response, 409, "consent_id", "unique_id")
    assert len(tenant(client, tenant_id)["consents"]) == 1


def test_a_consent_needs_recipients_and_categories(client):
    tenant_id = registered_tenant(client)
    before = head_position(client)
    body = {
        "consent_id": str(uuid.uuid4()),
        "recipients": [],
        "categories": ["rent_and_eviction"],
        "given_on": "2026-01-05",
    }
    response = client.post(f"/tenants/{tenant_id}/consents", json=body, headers=OUTREACH)
    assert_problem(response, 422, "recipients", "length")
    unknown = client.post(
        f"/tenants/{tenant_id}/consents", json={**body, "recipients": ["police"]}, headers=OUTREACH
    )
    assert_problem(unknown, 422, "recipients[0]", "allowed_values")
    assert head_position(client) == before


def test_the_objection_to_nav_notice_is_recorded_once(client):
    tenant_id = registered_tenant(client)
    result = object_to_nav_notice(client, tenant_id)

    assert tenant(client, tenant_id)["nav_notice_opted_out_on"] == "2026-02-01"
    assert timeline(client, tenant_id, result["position"])[-1]["event_type"] == "NavNoticeOptedOut"
    again = client.post(
        f"/tenants/{tenant_id}/nav-notice-objection",
        json={"opted_out_on": "2026-02-02"},
        headers=OUTREACH,
    )
    assert_problem(again, 409, "tenant_id", "not_opted_out")


def test_consent_for_an_unknown_tenant_is_404(client):
    response = client.post(
        f"/tenants/{uuid.uuid4()}/nav-notice-objection",
        json={"opted_out_on": "2026-02-02"},
        headers=OUTREACH,
    )
    assert_problem(response, 404, "tenant_id", "must_exist")
