"""'Today' is the municipality's date (Europe/Oslo), not the server's UTC date.

Half past midnight in Norway on 1 February is still 31 January in UTC; every date rule
must already see 1 February.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.api import OUTREACH
from tests.rent_api import FBE, consent_to_nav, get_case, registered_tenant, rent_case, step

HALF_PAST_MIDNIGHT_OSLO = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 2026-02-01 00:30 CET


def test_rules_use_the_oslo_date_just_after_midnight(client, clock):
    clock.now = HALF_PAST_MIDNIGHT_OSLO
    tenant_id = registered_tenant(client)
    consent = client.post(
        f"/tenants/{tenant_id}/consents",
        json={
            "consent_id": str(uuid.uuid4()),
            "recipients": ["nav"],
            "categories": ["rent_and_eviction"],
            "given_on": "2026-02-01",
        },
        headers=OUTREACH,
    )
    assert consent.status_code == 201, consent.text
    case_id = rent_case(client, tenant_id)

    # February's rent is due "today" in Oslo, so February may already be in arrears.
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 5000})
    # The consent given "today" already covers the notice.
    notices = get_case(client, case_id)["nav_notices"]
    assert notices[-1]["notification_id"] is not None
    assert notices[-1]["withheld_reason"] is None
    # A warning issued "today" is not in the future.
    warning = step(client, case_id, "eviction-warning", {"issued_on": "2026-02-01"})
    assert warning["position"] > 0


def test_the_day_before_is_still_the_day_before_in_oslo(client, clock):
    clock.now = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)  # 23:30 on 31 January in Oslo
    tenant_id = registered_tenant(client)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-01", "amount_nok": 5000})
    early = client.post(
        f"/rent-cases/{case_id}/eviction-warning", json={"issued_on": "2026-02-01"}, headers=FBE
    )
    assert early.status_code == 422, early.text
    assert early.json()["errors"][0]["rule"] == "not_in_future"
