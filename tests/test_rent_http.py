"""Rent arrears and the eviction chain over HTTP, with NAV notified (or not) in the same commit."""

from __future__ import annotations

import uuid

from domain.nav import NavTrigger, notification_id
from domain.rent import rent_case_id_for
from tests.api import assert_problem, head_position, post, timeline
from tests.rent_api import (
    FBE,
    consent_to_nav,
    get_case,
    get_notification,
    housed,
    object_to_nav_notice,
    registered_tenant,
    rent_case,
    step,
)


def types_after(entries: list[dict[str, object]], position: int) -> list[object]:
    return [e["event_type"] for e in entries if int(str(e["position"])) > position]


def test_arrears_with_consent_notify_nav_in_the_same_commit(client):
    tenant_id = registered_tenant(client)
    consent_id = uuid.uuid4()
    consent_to_nav(client, tenant_id, consent_id)
    case_id = rent_case(client, tenant_id)
    before = head_position(client)

    result = step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})

    assert result["id"] == str(case_id)
    assert result["position"] == before + 2  # the arrears and NAV's notification
    case = get_case(client, case_id)
    assert case["arrears"] == [{"month": "2026-02", "amount_nok": 8500}]
    assert case["total_owed_nok"] == 8500
    [notice] = case["nav_notices"]
    assert notice["trigger"] == "arrears_reported"
    assert notice["withheld_reason"] is None
    notification = get_notification(client, notice["notification_id"])
    assert notification["basis"] == "consent"
    assert notification["consent_id"] == str(consent_id)
    assert notification["tenant_id"] == str(tenant_id)
    assert notification["rent_case_id"] == str(case_id)
    assert notification["total_owed_nok"] == 8500
    entries = timeline(client, tenant_id, result["position"])
    assert types_after(entries, before) == ["ArrearsReported", "NavNotificationSent"]
    assert entries[-1]["summary"] == "NAV notified of arrears reported (basis: consent)"


def test_arrears_without_consent_are_withheld_and_the_log_says_why(client):
    tenant_id = registered_tenant(client)
    case_id = rent_case(client, tenant_id)

    result = step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})

    [notice] = get_case(client, case_id)["nav_notices"]
    assert notice["notification_id"] is None
    assert notice["withheld_reason"] == "no_consent_no_legal_basis"
    entries = timeline(client, tenant_id, result["position"])
    assert entries[-1]["event_type"] == "NavNotificationWithheld"
    assert entries[-1]["summary"] == (
        "NAV not notified of arrears reported: no consent no legal basis"
    )


def test_eviction_warning_without_consent_is_sent_under_9_11_with_14_days_to_pay(client):
    tenant_id = registered_tenant(client)
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})

    result = step(client, case_id, "eviction-warning", {"issued_on": "2026-03-02"})

    case = get_case(client, case_id)
    assert case["eviction_stage"] == "warned"
    assert (case["warning_issued_on"], case["pay_by"]) == ("2026-03-02", "2026-03-16")
    notice = case["nav_notices"][-1]
    assert notice["trigger"] == "eviction_warning"
    notification = get_notification(client, notice["notification_id"])
    assert (notification["basis"], notification["consent_id"]) == ("husleieloven_9_11", None)
    assert timeline(client, tenant_id, result["position"])[-1]["summary"] == (
        "NAV notified of eviction warning (basis: husleieloven § 9-11)"
    )


def test_after_the_tenants_objection_without_consent_nav_hears_nothing(client):
    tenant_id = registered_tenant(client)
    object_to_nav_notice(client, tenant_id)
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})

    result = step(client, case_id, "eviction-warning", {"issued_on": "2026-03-02"})

    notice = get_case(client, case_id)["nav_notices"][-1]
    assert (notice["trigger"], notice["notification_id"], notice["withheld_reason"]) == (
        "eviction_warning",
        None,
        "tenant_opted_out_no_consent",
    )
    entries = timeline(client, tenant_id, result["position"])
    assert [e["event_type"] for e in entries][-2:] == [
        "EvictionWarningIssued",
        "NavNotificationWithheld",
    ]
    assert entries[-1]["summary"] == (
        "NAV not notified of eviction warning: tenant opted out no consent"
    )
    # No notification exists under the id the step would have had.
    would_be = notification_id(case_id, NavTrigger.EVICTION_WARNING, 3)
    assert client.get(f"/nav-notifications/{would_be}").status_code == 404


def test_consent_given_after_the_objection_lets_nav_be_told(client):
    tenant_id = registered_tenant(client)
    object_to_nav_notice(client, tenant_id)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-02"})

    notices = get_case(client, case_id)["nav_notices"]
    assert [n["withheld_reason"] for n in notices] == [None, None]


def test_withdrawn_consent_stops_arrears_notices(client):
    tenant_id = registered_tenant(client)
    consent_id = uuid.uuid4()
    consent_to_nav(client, tenant_id, consent_id)
    post(
        client,
        f"/tenants/{tenant_id}/consents/{consent_id}/withdrawal",
        {"withdrawn_on": "2026-03-01"},
    )
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})

    [notice] = get_case(client, case_id)["nav_notices"]
    assert notice["withheld_reason"] == "no_consent_no_legal_basis"


def test_the_whole_eviction_chain_in_legal_order(client, clock):
    tenant_id = registered_tenant(client)
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-06"})

    # Before the pay-by date the petition is refused, and nothing is written.
    before = head_position(client)
    response = client.post(
        f"/rent-cases/{case_id}/eviction-petition",
        json={"petitioned_on": "2026-03-06"},
        headers=FBE,
    )
    assert_problem(response, 409, "petitioned_on", "not_before_pay_by")
    assert head_position(client) == before

    clock.advance(days=14)
    step(client, case_id, "eviction-petition", {"petitioned_on": "2026-03-20"})
    step(client, case_id, "eviction-date", {"eviction_on": "2026-04-20"})
    clock.advance(days=31)
    result = step(client, case_id, "eviction-carried-out", {"carried_out_on": "2026-04-20"})

    case = get_case(client, case_id)
    assert case["eviction_stage"] == "carried_out"
    assert (case["petitioned_on"], case["eviction_on"], case["carried_out_on"]) == (
        "2026-03-20",
        "2026-04-20",
        "2026-04-20",
    )
    assert [n["trigger"] for n in case["nav_notices"]] == [
        "arrears_reported",
        "eviction_warning",
        "eviction_petition",
        "eviction_date_set",
    ]
    types = [e["event_type"] for e in timeline(client, tenant_id, result["position"])]
    assert types[1:] == [
        "LeaseStarted",
        "TenantMovedIn",
        "RentCaseOpened",
        "ArrearsReported",
        "NavNotificationWithheld",
        "EvictionWarningIssued",
        "NavNotificationSent",
        "EvictionPetitioned",
        "NavNotificationSent",
        "EvictionDateSet",
        "NavNotificationSent",
        "EvictionCarriedOut",
        "LeaseEnded",
        "TenantMovedOut",
    ]


def eviction_date_set(client, clock, tenant_id, lease_id) -> uuid.UUID:
    """The lease's rent case with the eviction set for 2026-04-20, and the clock past it."""
    case_id = rent_case(client, tenant_id, lease_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-06"})
    clock.advance(days=14)
    step(client, case_id, "eviction-petition", {"petitioned_on": "2026-03-20"})
    step(client, case_id, "eviction-date", {"eviction_on": "2026-04-20"})
    clock.advance(days=31)
    return case_id


def read(client, path: str) -> dict[str, object]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_carrying_out_the_eviction_ends_the_lease_vacates_the_flat_and_moves_the_tenant_out(
    client, clock
):
    tenant_id = registered_tenant(client)
    dwelling_id, lease_id = housed(client, tenant_id)
    case_id = eviction_date_set(client, clock, tenant_id, lease_id)
    before = head_position(client)

    result = step(client, case_id, "eviction-carried-out", {"carried_out_on": "2026-04-20"})

    # One commit: the eviction, the lease's end, the vacated flat, the tenant moving out.
    assert result == {"id": str(case_id), "position": before + 4}
    assert get_case(client, case_id)["eviction_stage"] == "carried_out"
    lease = read(client, f"/leases/{lease_id}")
    assert (lease["ended_on"], lease["end_reason"]) == ("2026-04-20", "eviction")
    tenant = read(client, f"/tenants/{tenant_id}")
    assert (tenant["dwelling_id"], tenant["lease_id"]) == (None, None)
    flat = read(client, f"/dwellings/{dwelling_id}")
    assert (flat["active_lease_id"], flat["tenant_id"]) == (None, None)
    entries = timeline(client, tenant_id, result["position"])
    assert [(e["event_type"], e["summary"]) for e in entries if e["position"] > before] == [
        ("EvictionCarriedOut", "Eviction carried out 2026-04-20"),
        ("LeaseEnded", "Lease ended 2026-04-20: eviction"),
        ("TenantMovedOut", "Moved out 2026-04-20"),
    ]

    # The lease is over: neither the eviction nor the lease's end can be recorded again.
    again = client.post(
        f"/rent-cases/{case_id}/eviction-carried-out",
        json={"carried_out_on": "2026-04-20"},
        headers=FBE,
    )
    assert_problem(again, 409, "eviction_stage", "eviction_date_before_carried_out")
    end = client.post(
        f"/leases/{lease_id}/end",
        json={"ended_on": "2026-04-20", "reason": "eviction"},
        headers=FBE,
    )
    assert_problem(end, 409, "lease_id", "lease_active")
    assert head_position(client) == result["position"]
    # The flat may be let again.
    post(
        client,
        "/leases",
        {
            "lease_id": str(uuid.uuid4()),
            "dwelling_id": str(dwelling_id),
            "tenant_id": str(registered_tenant(client)),
            "starts_on": "2026-05-01",
        },
        FBE,
    )


def test_an_eviction_after_the_tenant_has_left_records_only_the_eviction(client, clock):
    tenant_id = registered_tenant(client)
    dwelling_id, lease_id = housed(client, tenant_id)
    case_id = eviction_date_set(client, clock, tenant_id, lease_id)
    post(
        client,
        f"/leases/{lease_id}/end",
        {"ended_on": "2026-04-10", "reason": "terminated_by_tenant"},
        FBE,
    )
    before = head_position(client)

    result = step(client, case_id, "eviction-carried-out", {"carried_out_on": "2026-04-20"})

    assert result == {"id": str(case_id), "position": before + 1}
    assert get_case(client, case_id)["carried_out_on"] == "2026-04-20"
    lease = read(client, f"/leases/{lease_id}")
    assert (lease["ended_on"], lease["end_reason"]) == ("2026-04-10", "terminated_by_tenant")
    assert read(client, f"/dwellings/{dwelling_id}")["active_lease_id"] is None


def test_a_petition_without_a_warning_is_refused(client):
    case_id = rent_case(client, registered_tenant(client))
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    before = head_position(client)

    response = client.post(
        f"/rent-cases/{case_id}/eviction-petition",
        json={"petitioned_on": "2026-03-06"},
        headers=FBE,
    )

    assert_problem(response, 409, "eviction_stage", "warning_before_petition")
    assert head_position(client) == before


def test_an_eviction_date_before_a_petition_is_refused(client):
    case_id = rent_case(client, registered_tenant(client))
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-02"})

    response = client.post(
        f"/rent-cases/{case_id}/eviction-date", json={"eviction_on": "2026-04-20"}, headers=FBE
    )

    assert_problem(response, 409, "eviction_stage", "petition_before_eviction_date")


def test_repayment_deduction_clearing_and_cancelling(client):
    tenant_id = registered_tenant(client)
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-01", "amount_nok": 6000})
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 6000})
    step(client, case_id, "eviction-warning", {"issued_on": "2026-03-02"})
    step(
        client,
        case_id,
        "repayment-agreement",
        {"monthly_amount_nok": 1000, "first_due_on": "2026-04-01"},
    )
    step(client, case_id, "rent-deduction", {"monthly_amount_nok": 6000, "starts_on": "2026-04-01"})
    step(client, case_id, "eviction-cancelled", {"reason": "repayment_agreed"})
    result = step(client, case_id, "cleared", {"cleared_on": "2026-03-06"})

    case = get_case(client, case_id)
    assert case["repayment_agreement"] == {"monthly_amount_nok": 1000, "first_due_on": "2026-04-01"}
    assert case["rent_deduction"] == {"monthly_amount_nok": 6000, "starts_on": "2026-04-01"}
    assert (case["eviction_stage"], case["cancel_reason"]) == ("cancelled", "repayment_agreed")
    assert (case["arrears"], case["total_owed_nok"]) == ([], 0)
    summaries = [e["summary"] for e in timeline(client, tenant_id, result["position"])]
    assert "Repayment agreement: NOK 1 000 a month from 2026-04-01" in summaries
    assert "Eviction cancelled: repayment agreed" in summaries
    assert summaries[-1] == "Rent arrears cleared 2026-03-06"


def test_opening_a_rent_case_is_retry_safe_and_one_per_lease(client):
    tenant_id = registered_tenant(client)
    _, lease_id = housed(client, tenant_id)
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    first = post(client, "/rent-cases", body, FBE)
    again = post(client, "/rent-cases", body, FBE)
    assert first == again

    other = {**body, "tenant_id": str(registered_tenant(client))}
    response = client.post("/rent-cases", json=other, headers=FBE)
    assert_problem(response, 409, "lease_id", "unique_id")


def test_a_retry_is_answered_again_after_the_lease_has_ended(client):
    tenant_id = registered_tenant(client)
    _, lease_id = housed(client, tenant_id)
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    first = post(client, "/rent-cases", body, FBE)
    post(client, f"/leases/{lease_id}/end", {"ended_on": "2026-03-01", "reason": "expired"}, FBE)
    before = head_position(client)

    again = post(client, "/rent-cases", body, FBE)

    assert again == {"id": first["id"], "position": before}
    assert head_position(client) == before


def test_a_rent_case_for_an_unknown_tenant_is_refused(client):
    body = {"lease_id": str(uuid.uuid4()), "tenant_id": str(uuid.uuid4())}
    assert_problem(
        client.post("/rent-cases", json=body, headers=FBE), 404, "tenant_id", "must_exist"
    )


def test_a_rent_case_for_an_unknown_lease_is_refused_and_nothing_is_written(client):
    tenant_id = registered_tenant(client)
    lease_id = uuid.uuid4()
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    before = head_position(client)

    response = client.post("/rent-cases", json=body, headers=FBE)

    assert_problem(response, 404, "lease_id", "must_exist")
    assert head_position(client) == before
    assert client.get(f"/rent-cases/{rent_case_id_for(lease_id)}").status_code == 404


def test_a_rent_case_for_another_tenant_s_lease_is_refused_and_nothing_is_written(client):
    tenant_id = registered_tenant(client)
    _, neighbours_lease = housed(client, registered_tenant(client))
    body = {"lease_id": str(neighbours_lease), "tenant_id": str(tenant_id)}
    before = head_position(client)

    response = client.post("/rent-cases", json=body, headers=FBE)

    assert_problem(response, 422, "lease_id", "lease_of_tenant")
    assert head_position(client) == before
    assert client.get(f"/rent-cases/{rent_case_id_for(neighbours_lease)}").status_code == 404


def test_a_rent_case_for_an_ended_lease_is_refused_and_nothing_is_written(client):
    tenant_id = registered_tenant(client)
    _, lease_id = housed(client, tenant_id)
    post(client, f"/leases/{lease_id}/end", {"ended_on": "2026-03-01", "reason": "expired"}, FBE)
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    before = head_position(client)

    response = client.post("/rent-cases", json=body, headers=FBE)

    assert_problem(response, 409, "lease_id", "lease_active")
    assert head_position(client) == before
    assert client.get(f"/rent-cases/{rent_case_id_for(lease_id)}").status_code == 404


def test_bad_arrears_are_refused_with_field_and_rule(client):
    case_id = rent_case(client, registered_tenant(client))
    url = f"/rent-cases/{case_id}/arrears"
    before = head_position(client)

    bad_month = client.post(url, json={"month": "2026-13", "amount_nok": 100}, headers=FBE)
    assert_problem(bad_month, 422, "month", "pattern")
    zero = client.post(url, json={"month": "2026-02", "amount_nok": 0}, headers=FBE)
    assert_problem(zero, 422, "amount_nok", "range")
    future = client.post(url, json={"month": "2026-04", "amount_nok": 100}, headers=FBE)
    assert_problem(future, 422, "month", "not_in_future")
    assert head_position(client) == before

    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 100})
    twice = client.post(url, json={"month": "2026-02", "amount_nok": 100}, headers=FBE)
    assert_problem(twice, 409, "month", "month_not_in_arrears")


def test_an_unknown_rent_case_is_404(client):
    missing = uuid.uuid4()
    assert_problem(client.get(f"/rent-cases/{missing}"), 404, "rent_case_id", "must_exist")
    response = client.post(
        f"/rent-cases/{missing}/arrears", json={"month": "2026-02", "amount_nok": 1}, headers=FBE
    )
    assert_problem(response, 404, "rent_case_id", "must_exist")


def test_a_tenants_rent_cases_are_listed_one_per_lease_the_newest_lease_first(client):
    tenant_id = registered_tenant(client)
    assert client.get(f"/tenants/{tenant_id}/rent-cases", headers=FBE).json() == []

    _, first_lease = housed(client, tenant_id, starts_on="2025-01-01")
    first = rent_case(client, tenant_id, first_lease)
    step(client, first, "arrears", {"month": "2026-02", "amount_nok": 8000})
    ended = {"ended_on": "2025-12-31", "reason": "transferred"}
    post(client, f"/leases/{first_lease}/end", ended, FBE)
    _, second_lease = housed(client, tenant_id, starts_on="2026-01-01")
    second = rent_case(client, tenant_id, second_lease)
    rent_case(client, registered_tenant(client))  # another tenant's: not listed

    listed = client.get(f"/tenants/{tenant_id}/rent-cases", headers=FBE)

    assert listed.status_code == 200
    cases = listed.json()
    assert [(c["id"], c["lease_id"]) for c in cases] == [
        (str(second), str(second_lease)),
        (str(first), str(first_lease)),
    ]
    assert cases[1] == get_case(client, first)  # the same answer as the case itself


def test_the_rent_cases_of_an_unknown_tenant_are_not_found(client):
    response = client.get(f"/tenants/{uuid.uuid4()}/rent-cases", headers=FBE)
    assert_problem(response, 404, "tenant_id", "must_exist")
