"""Risk timeline, caseloads and the tenants nobody is responsible for, through the real app.

Real PostgreSQL, the real projection runner in the app; reads wait for their own writes
with ``min_position``. The app's clock is the test's ``clock``: moving it moves "now" for
the current risk and the overdue flag. The scheduler is off; the handover tick is run by
the test itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.municipal_services import Service
from tests.api import (
    OUTREACH,
    SECOND_WORKER,
    WORKER,
    assert_problem,
    head_position,
    post,
    tenant_in_follow_up,
)
from tests.conftest import Clock
from tests.scenario_helpers import tick

FBE = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "fbe"}
PRISON = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "kriminalomsorgen"}


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, run_scheduler=False)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def get(client: TestClient, path: str, reader: dict[str, str] | None = None, **params: Any) -> Any:
    response = client.get(
        path, params={"min_position": head_position(client), **params}, headers=reader
    )
    assert response.status_code == 200, response.text
    return response.json()


def followed_by(
    client: TestClient,
    worker: uuid.UUID | None = None,
    service: str = "tiltaksteamet",
    **kw: Any,
) -> uuid.UUID:
    """A tenant in follow-up whom ``service`` is responsible for, with ``worker`` as contact
    (by default WORKER for the outreach team, a new colleague for any other service)."""
    tenant_id = tenant_in_follow_up(client, **kw)
    if worker is None:
        worker = WORKER if service == "tiltaksteamet" else client.colleague(Service(service))
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": service, "contact_worker_id": str(worker)},
    )
    return tenant_id


def dwelling(client: TestClient, flagged: bool = False) -> uuid.UUID:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    if flagged:
        flag = {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-01"}
        post(client, f"/dwellings/{dwelling_id}/safety-flag", flag, FBE)
    return dwelling_id


def lease(client: TestClient, tenant_id: uuid.UUID, dwelling_id: uuid.UUID) -> uuid.UUID:
    lease_id = uuid.uuid4()
    body = {
        "lease_id": str(lease_id),
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(tenant_id),
        "starts_on": "2026-03-02",
    }
    post(client, "/leases", body, FBE)
    return lease_id


def in_eviction_chain(client: TestClient, tenant_id: uuid.UUID) -> None:
    """Two months of arrears and a warning: high risk (3 + 3)."""
    lease_id = lease(client, tenant_id, dwelling(client))
    case = post(
        client, "/rent-cases", {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}, FBE
    )
    for month in ("2026-01", "2026-02"):
        post(client, f"/rent-cases/{case['id']}/arrears", {"month": month, "amount_nok": 6500}, FBE)
    post(client, f"/rent-cases/{case['id']}/eviction-warning", {"issued_on": "2026-03-06"}, FBE)


def visited(client: TestClient, tenant_id: uuid.UUID) -> None:
    visit_id = uuid.uuid4()
    plan = {
        "visit_id": str(visit_id),
        "planned_for": "2026-03-06T09:00:00+01:00",
        "worker_ids": [str(WORKER)],
    }
    post(client, f"/tenants/{tenant_id}/visits", plan)
    done = {"worker_ids": [str(WORKER)], "observations": {"wellbeing": "good"}}
    post(client, f"/visits/{visit_id}/completion", done)


def ids(page: dict[str, Any]) -> list[str]:
    return [row["tenant_id"] for row in page["items"]]


def every_page(client: TestClient, path: str, limit: int, key: str, **params: Any) -> list[Any]:
    pages: list[Any] = []
    cursor = None
    while True:
        extra = {} if cursor is None else {"cursor": cursor}
        body = get(client, path, limit=limit, **params, **extra)
        assert len(body[key]) <= limit
        pages.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


# --- risk timeline -------------------------------------------------------------------------


def test_the_risk_timeline_has_entries_a_series_and_the_risk_now(client: TestClient) -> None:
    tenant_id = followed_by(client)
    in_eviction_chain(client, tenant_id)

    body = get(client, f"/tenants/{tenant_id}/risk-timeline")

    entries = body["entries"]
    assert entries[0]["event_type"] == "TenantRegistered"
    levels = {e["event_type"]: (e["level"], e["score"]) for e in entries}
    assert levels["EvictionWarningIssued"] == ("high", 6)
    warning = next(e for e in entries if e["event_type"] == "EvictionWarningIssued")
    assert warning["reasons"] == [
        {"rule": "arrears_months", "weight": 3, "detail": "2 months of rent unpaid"},
        {"rule": "eviction_stage", "weight": 3, "detail": "eviction warning issued (§ 4-18)"},
    ]
    assert warning["model_version"] == 1
    assert body["series"] == [
        [e["position"], e["occurred_at"], e["score"], e["level"]] for e in entries
    ]
    assert body["next_cursor"] is None
    assert body["current"]["level"] == "high"
    assert body["current"]["score"] == 6


def test_the_risk_timeline_pages_with_a_cursor(client: TestClient) -> None:
    tenant_id = followed_by(client)
    in_eviction_chain(client, tenant_id)
    whole = get(client, f"/tenants/{tenant_id}/risk-timeline")["entries"]

    pages = every_page(client, f"/tenants/{tenant_id}/risk-timeline", 3, "entries")

    assert len(pages) == -(-len(whole) // 3)
    assert [e for page in pages for e in page] == whole


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"cursor": "not-a-cursor"}, "cursor", "valid_cursor"),
        ({"cursor": "WyJ4Il0"}, "cursor", "valid_cursor"),  # ["x"]
        ({"limit": 0}, "limit", "range"),
        ({"limit": 501}, "limit", "range"),
    ],
)
def test_bad_risk_timeline_parameters_are_refused(
    client: TestClient, params: dict[str, Any], field: str, rule: str
) -> None:
    tenant_id = followed_by(client)
    response = client.get(f"/tenants/{tenant_id}/risk-timeline", params=params)
    assert_problem(response, 422, field, rule)


def test_the_risk_timeline_of_an_unknown_tenant_is_404(client: TestClient) -> None:
    response = client.get(f"/tenants/{uuid.uuid4()}/risk-timeline")
    assert_problem(response, 404, "tenant_id", "must_exist")


# --- overdue as time passes -------------------------------------------------------------------


def test_overdue_flips_when_the_clock_passes_the_interval(client: TestClient, clock: Clock) -> None:
    tenant_id = followed_by(client, interval_days=7)
    visited(client, tenant_id)
    path = f"/caseload/workers/{WORKER}"

    (row,) = get(client, path)["items"]
    assert row["overdue"] is False
    assert row["risk"]["reasons"] == []
    assert get(client, path, overdue_only=True)["items"] == []
    timeline_before = get(client, f"/tenants/{tenant_id}/risk-timeline")

    clock.advance(days=7, minutes=1)  # no new event: only time passes

    (row,) = get(client, path)["items"]
    assert row["overdue"] is True
    assert [r["rule"] for r in row["risk"]["reasons"]] == ["visit_overdue"]
    assert ids(get(client, path, overdue_only=True)) == [str(tenant_id)]
    timeline_after = get(client, f"/tenants/{tenant_id}/risk-timeline")
    assert timeline_after["entries"] == timeline_before["entries"]
    assert [r["rule"] for r in timeline_after["current"]["reasons"]] == ["visit_overdue"]
    assert timeline_before["current"]["reasons"] == []


# --- caseloads ---------------------------------------------------------------------------------


@pytest.fixture
def caseloads(client: TestClient) -> dict[str, uuid.UUID]:
    high = followed_by(client)
    in_eviction_chain(client, high)
    flagged = followed_by(client)
    lease(client, flagged, dwelling(client, flagged=True))
    colleague = followed_by(client, worker=SECOND_WORKER)
    elsewhere = followed_by(client, service="nav")
    return {"high": high, "flagged": flagged, "colleague": colleague, "elsewhere": elsewhere}


def test_a_workers_caseload_highest_risk_first(
    client: TestClient, caseloads: dict[str, uuid.UUID]
) -> None:
    page = get(client, f"/caseload/workers/{WORKER}")
    assert ids(page) == [str(caseloads["high"]), str(caseloads["flagged"])]
    high, flagged = page["items"]
    assert (high["risk"]["level"], high["risk"]["score"]) == ("high", 6)
    assert high["responsible_service"] == "tiltaksteamet"
    assert high["contact_worker_id"] == str(WORKER)
    assert high["address"] == "Strandgata 12"
    assert high["safety_flag"] is None
    assert flagged["safety_flag"] == "two_person"
    assert flagged["risk"]["level"] == "low"
    assert flagged["visit_due_at"] is not None
    assert flagged["overdue"] is False
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"risk_level": "high"}, ["high"]),
        ({"risk_level": ["low", "moderate"]}, ["flagged"]),
        ({"risk_level": "critical"}, []),
        ({"flagged_only": True}, ["flagged"]),
        ({"overdue_only": True}, []),
        ({"flagged_only": True, "risk_level": "high"}, []),
    ],
)
def test_caseload_filters(
    client: TestClient,
    caseloads: dict[str, uuid.UUID],
    params: dict[str, Any],
    expected: list[str],
) -> None:
    page = get(client, f"/caseload/workers/{WORKER}", **params)
    assert ids(page) == [str(caseloads[name]) for name in expected]


def test_a_teams_caseload_is_the_responsible_services(
    client: TestClient, caseloads: dict[str, uuid.UUID]
) -> None:
    team = get(client, "/caseload/teams/tiltaksteamet")
    assert ids(team)[0] == str(caseloads["high"])
    assert set(ids(team)) == {str(caseloads[n]) for n in ("high", "flagged", "colleague")}
    nav_lead = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "nav"}
    nav_lead["x-folgja-role"] = "team_lead"
    care_staff = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
    assert ids(get(client, "/caseload/teams/nav", nav_lead)) == [str(caseloads["elsewhere"])]
    assert get(client, "/caseload/teams/omsorg", care_staff)["items"] == []
    # Each team sees its own caseload only.
    refused = client.get("/caseload/teams/nav", headers=OUTREACH)
    assert_problem(refused, 403, "authorization", "own_service")

    pages = every_page(client, "/caseload/teams/tiltaksteamet", 1, "items")
    assert [row["tenant_id"] for page in pages for row in page] == ids(team)


def test_a_tenant_whose_follow_up_ended_leaves_the_caseload(client: TestClient) -> None:
    tenant_id = followed_by(client)
    assert ids(get(client, f"/caseload/workers/{WORKER}")) == [str(tenant_id)]
    post(
        client,
        f"/tenants/{tenant_id}/follow-up/end",
        {"ended_on": "2026-03-06", "reason": "moved away"},
    )
    assert get(client, f"/caseload/workers/{WORKER}")["items"] == []


@pytest.mark.parametrize(
    ("path", "params", "field", "rule"),
    [
        (f"/caseload/workers/{WORKER}", {"cursor": "bad!"}, "cursor", "valid_cursor"),
        ("/caseload/teams/tiltaksteamet", {"cursor": "WzFd"}, "cursor", "valid_cursor"),  # [1]
        ("/caseload/teams/tiltaksteamet", {"risk_level": "severe"}, "risk_level", "allowed_values"),
        ("/caseload/teams/tiltaksteamet", {"limit": 0}, "limit", "range"),
        ("/caseload/teams/no-such-team", {}, "service", "allowed_values"),
        ("/tenants/without-responsible-service", {"cursor": "x"}, "cursor", "valid_cursor"),
    ],
)
def test_bad_caseload_parameters_are_refused(
    client: TestClient, path: str, params: dict[str, Any], field: str, rule: str
) -> None:
    assert_problem(client.get(path, params=params, headers=OUTREACH), 422, field, rule)


# --- nobody responsible ----------------------------------------------------------------------


def test_tenants_without_a_responsible_service(client: TestClient, clock: Clock) -> None:
    never = tenant_in_follow_up(client)
    followed_by(client)
    clock.advance(minutes=1)
    released = followed_by(client, service="kriminalomsorgen")
    handover = {
        "handover_id": str(uuid.uuid4()),
        "tenant_id": str(released),
        "from_service": "kriminalomsorgen",
        "to_service": "tiltaksteamet",
        "kind": "release_from_prison",
        "effective_on": "2026-03-06",
    }
    post(client, "/handovers", handover, PRISON)
    clock.advance(minutes=1)
    assert tick(client)  # nobody accepted: the release lapses into the gap

    page = get(client, "/tenants/without-responsible-service")
    assert ids(page) == [str(never), str(released)]
    first, second = page["items"]
    assert (first["lapsed"], second["lapsed"]) == (False, True)
    assert second["without_since"] == "2026-03-06T15:32:00Z"

    pages = every_page(client, "/tenants/without-responsible-service", 1, "items")
    assert [row["tenant_id"] for p in pages for row in p] == ids(page)

    # The gap and the release show in the released tenant's risk.
    current = get(client, f"/tenants/{released}/risk-timeline")["current"]
    assert {r["rule"] for r in current["reasons"]} == {"no_responsible_service", "recent_release"}
    assert current["level"] == "high"

    # The static path does not shadow the tenant's own resource, nor the other way round.
    assert client.get(f"/tenants/{never}").status_code == 200

    post(
        client,
        f"/tenants/{released}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": str(WORKER)},
        OUTREACH,
    )
    assert ids(get(client, "/tenants/without-responsible-service")) == [str(never)]
