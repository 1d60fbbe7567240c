"""The report's scenarios (NIBR 2013:29, ch. 4), played end to end through the HTTP API.

Each test walks one person's story in time order on the app's clock, as the services
involved would act, then reads the result back (GET endpoints) and checks the whole
history on the tenant's timeline. Names are fictional placeholders.

The app's own scheduler is off; the tests run its settle job at the times they choose.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.settings import Settings
from tests.conftest import Clock
from tests.scenario_helpers import (
    Worker,
    event_types,
    get,
    handovers,
    history,
    new_id,
    oslo,
    oslo_noon,
    post,
    refused,
    tick,
)

# Fictional workers, one or two per service.
PRISON_OFFICER = Worker("kriminalomsorgen", 1)
OUTREACH_WORKER = Worker("tiltaksteamet", 2)
OUTREACH_PARTNER = Worker("tiltaksteamet", 3)
# NAV's drug team: reads NAV's notices and follows tenants up.
NAV_CASEWORKER = Worker("nav", 4, "nav_officer", "team_lead")
FBE_OFFICER = Worker("fbe", 5)
CHILD_WELFARE_WORKER = Worker("barn_og_unge", 6)
PSYCHIATRY_WORKER = Worker("helse_psykiatri", 7)
COORDINATOR = Worker("koordinerende_enhet", 8)
CARE_WORKER = Worker("omsorg", 9)
REFUGEE_CENTRE_WORKER = Worker("innvandrersenteret", 10)

CAST = (
    PRISON_OFFICER,
    OUTREACH_WORKER,
    OUTREACH_PARTNER,
    NAV_CASEWORKER,
    FBE_OFFICER,
    CHILD_WELFARE_WORKER,
    PSYCHIATRY_WORKER,
    COORDINATOR,
    CARE_WORKER,
    REFUGEE_CENTRE_WORKER,
)

SYSTEM = "admin"  # the service time-based rules (the scheduler) act as


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, run_scheduler=False)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        for worker in CAST:  # users of the municipality: commands may name them
            test_client.enrol(worker.headers)
        yield test_client


def register_tenant(
    client: TestClient, who: Worker, full_name: str, birth_date: str | None = None
) -> uuid.UUID:
    tenant_id = new_id()
    body = {"tenant_id": str(tenant_id), "full_name": full_name}
    if birth_date is not None:
        body["birth_date"] = birth_date
    post(client, who, "/tenants", body)
    return tenant_id


def register_dwelling(client: TestClient, address: str, unit: str) -> uuid.UUID:
    dwelling_id = new_id()
    body = {
        "dwelling_id": str(dwelling_id),
        "address": address,
        "unit": unit,
        "postcode": "6900",
        "owner": "municipal",
    }
    post(client, FBE_OFFICER, "/dwellings", body)
    return dwelling_id


def start_lease(
    client: TestClient,
    dwelling_id: uuid.UUID,
    tenant_id: uuid.UUID,
    starts_on: str,
    term_months: int | None = None,
) -> uuid.UUID:
    lease_id = new_id()
    body: dict[str, object] = {
        "lease_id": str(lease_id),
        "dwelling_id": str(dwelling_id),
        "tenant_id": str(tenant_id),
        "starts_on": starts_on,
    }
    if term_months is not None:
        body["term_months"] = term_months
    post(client, FBE_OFFICER, "/leases", body)
    return lease_id


def open_rent_case(client: TestClient, lease_id: uuid.UUID, tenant_id: uuid.UUID) -> str:
    body = {"lease_id": str(lease_id), "tenant_id": str(tenant_id)}
    case_id: str = post(client, FBE_OFFICER, "/rent-cases", body)["id"]
    return case_id


def assign(client: TestClient, who: Worker, tenant_id: uuid.UUID, contact: Worker) -> None:
    body = {"service": contact.service, "contact_worker_id": str(contact.id)}
    post(client, who, f"/tenants/{tenant_id}/responsibility", body)


def announce(
    client: TestClient,
    who: Worker,
    tenant_id: uuid.UUID,
    to_service: str,
    kind: str,
    effective_on: str,
) -> uuid.UUID:
    handover_id = new_id()
    body = {
        "handover_id": str(handover_id),
        "tenant_id": str(tenant_id),
        "from_service": who.service,
        "to_service": to_service,
        "kind": kind,
        "effective_on": effective_on,
    }
    post(client, who, "/handovers", body)
    return handover_id


def summaries(client: TestClient, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    return [(e["event_type"], e["summary"]) for e in history(client, tenant_id)]


# --- Scenario 1 -------------------------------------------------------------------------


def test_scenario_1_released_on_a_friday_afternoon_without_notice(
    client: TestClient, clock: Clock
) -> None:
    """Man, 35, heroin user ("halv fire-person").

    He rented a municipal flat; arrears piled up (NAV was never told: no consent); the
    eviction chain ran its legal course and was carried out the day his four-month
    sentence started. He is released early, on a Friday afternoon, and the correctional
    service announces it the same day. Nobody has accepted him when the scheduler runs:
    he has no responsible service, and that is an explicit alarm. The outreach team takes
    him late the same afternoon; FBE gives him a six-month lease, the outreach team a
    follow-up agreement, and NAV records a repayment agreement for the old debt and an
    automatic rent deduction for the new rent.
    """
    # 2025: an ordinary tenancy, NAV's drug team (Rusteamet) responsible.
    clock.now = oslo(2025, 2, 3, 10, 0)
    tenant_id = register_tenant(client, NAV_CASEWORKER, "Scenario En", "1990-08-14")
    assign(client, NAV_CASEWORKER, tenant_id, NAV_CASEWORKER)
    old_flat = register_dwelling(client, "Fiktivgata 1", "H0101")
    old_lease = start_lease(client, old_flat, tenant_id, "2025-02-03")
    old_case = open_rent_case(client, old_lease, tenant_id)

    clock.now = oslo(2025, 9, 5)
    post(
        client,
        FBE_OFFICER,
        f"/rent-cases/{old_case}/arrears",
        {"month": "2025-08", "amount_nok": 7900},
    )
    clock.now = oslo(2025, 10, 3)
    post(
        client,
        FBE_OFFICER,
        f"/rent-cases/{old_case}/arrears",
        {"month": "2025-09", "amount_nok": 7900},
    )
    clock.now = oslo(2025, 10, 6)
    post(
        client, FBE_OFFICER, f"/rent-cases/{old_case}/eviction-warning", {"issued_on": "2025-10-06"}
    )
    clock.now = oslo(2025, 10, 21)
    post(
        client,
        FBE_OFFICER,
        f"/rent-cases/{old_case}/eviction-petition",
        {"petitioned_on": "2025-10-21"},
    )
    clock.now = oslo(2025, 10, 28)
    post(
        client, FBE_OFFICER, f"/rent-cases/{old_case}/eviction-date", {"eviction_on": "2025-11-10"}
    )

    # Monday 10 November 2025: the sentence starts, and the eviction is carried out.
    clock.now = oslo(2025, 11, 10, 8, 0)
    # NAV, responsible until now, hands him to the correctional service for the sentence.
    assign(client, NAV_CASEWORKER, tenant_id, PRISON_OFFICER)
    # Carrying it out ends his lease (reason: eviction) and moves him out, in one commit.
    clock.now = oslo(2025, 11, 10, 10, 0)
    post(
        client,
        FBE_OFFICER,
        f"/rent-cases/{old_case}/eviction-carried-out",
        {"carried_out_on": "2025-11-10"},
    )

    # Friday 6 March 2026, 15:30: released early; announced as he walks out.
    clock.now = oslo(2026, 3, 6, 15, 30)
    handover_id = announce(
        client, PRISON_OFFICER, tenant_id, "tiltaksteamet", "release_from_prison", "2026-03-06"
    )
    assert get(client, f"/tenants/{tenant_id}")["responsible_service"] == "kriminalomsorgen"

    # The scheduler's next tick: the date has come and nobody has accepted him.
    clock.now = oslo(2026, 3, 6, 15, 31)
    assert tick(client) == [handover_id]

    handover = get(client, f"/handovers/{handover_id}")
    assert (handover["status"], handover["lapse_reason"]) == ("lapsed", "not_accepted")
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] is None
    assert tenant["contact_worker_id"] is None
    assert tenant["responsibility_gap_since"] == "2026-03-06T14:31:00Z"
    assert tenant["dwelling_id"] is None  # homeless
    assert [(r["status"], r["kind"]) for r in handovers(client, tenant_id)] == [
        ("lapsed", "release_from_prison")
    ]
    gap = history(client, tenant_id)[-2:]
    assert [(e["event_type"], e["actor_service"], e["summary"]) for e in gap] == [
        ("HandoverLapsed", SYSTEM, "Handover lapsed on its date: nobody accepted it"),
        ("ResponsibilityLapsed", SYSTEM, "No responsible service: responsibility lapsed"),
    ]

    # 16:05: the outreach team sees the alarm and takes him (a late acceptance).
    clock.now = oslo(2026, 3, 6, 16, 5)
    post(
        client,
        OUTREACH_WORKER,
        f"/handovers/{handover_id}/acceptance",
        {"contact_worker_id": str(OUTREACH_WORKER.id)},
    )
    assert get(client, f"/handovers/{handover_id}")["status"] == "completed"
    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["responsible_service"], tenant["responsibility_gap_since"]) == (
        "tiltaksteamet",
        None,
    )

    # 16:20: a six-month lease, a follow-up agreement, repayment and rent deduction.
    clock.now = oslo(2026, 3, 6, 16, 20)
    new_flat = register_dwelling(client, "Fiktivgata 2", "H0102")
    new_lease = start_lease(client, new_flat, tenant_id, "2026-03-06", term_months=6)
    post(
        client,
        OUTREACH_WORKER,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 7, "started_on": "2026-03-06"},
    )
    new_case = open_rent_case(client, new_lease, tenant_id)
    # The debt belongs to the old lease's rent case: the repayment agreement is made there.
    post(
        client,
        NAV_CASEWORKER,
        f"/rent-cases/{old_case}/repayment-agreement",
        {"monthly_amount_nok": 500, "first_due_on": "2026-04-01"},
    )
    # The new rent is drawn from his benefits so that new arrears do not build up.
    post(
        client,
        NAV_CASEWORKER,
        f"/rent-cases/{new_case}/rent-deduction",
        {"monthly_amount_nok": 6900, "starts_on": "2026-04-01"},
    )

    # --- the state now
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["full_name"] == "Scenario En"
    assert tenant["responsible_service"] == "tiltaksteamet"
    assert tenant["contact_worker_id"] == str(OUTREACH_WORKER.id)
    assert tenant["responsibility_gap_since"] is None
    assert (tenant["dwelling_id"], tenant["lease_id"]) == (str(new_flat), str(new_lease))
    assert tenant["follow_up"] == {
        "visit_interval_days": 7,
        "started_on": "2026-03-06",
        "ended_on": None,
    }
    lease = get(client, f"/leases/{new_lease}")
    assert (lease["starts_on"], lease["term_months"], lease["ends_on"], lease["ended_on"]) == (
        "2026-03-06",
        6,
        "2026-09-05",
        None,
    )
    old = get(client, f"/leases/{old_lease}")
    assert (old["ended_on"], old["end_reason"]) == ("2025-11-10", "eviction")
    assert get(client, f"/dwellings/{old_flat}")["tenant_id"] is None
    assert get(client, f"/dwellings/{new_flat}")["tenant_id"] == str(tenant_id)

    debt = get(client, f"/rent-cases/{old_case}")
    assert (debt["eviction_stage"], debt["carried_out_on"]) == ("carried_out", "2025-11-10")
    assert debt["total_owed_nok"] == 15800
    assert debt["repayment_agreement"] == {"monthly_amount_nok": 500, "first_due_on": "2026-04-01"}
    assert [(n["trigger"], n["withheld_reason"]) for n in debt["nav_notices"]] == [
        ("arrears_reported", "no_consent_no_legal_basis"),
        ("arrears_reported", "no_consent_no_legal_basis"),
        ("eviction_warning", None),
        ("eviction_petition", None),
        ("eviction_date_set", None),
    ]
    rent = get(client, f"/rent-cases/{new_case}")
    assert rent["lease_id"] == str(new_lease)
    assert rent["rent_deduction"] == {"monthly_amount_nok": 6900, "starts_on": "2026-04-01"}
    assert (rent["total_owed_nok"], rent["eviction_stage"]) == (0, "none")

    # --- the history
    assert summaries(client, tenant_id) == [
        ("TenantRegistered", "Registered as tenant"),
        ("ResponsibilityAssigned", "Responsibility assigned to nav with a named contact"),
        ("LeaseStarted", "Lease started 2025-02-03, open-ended lease"),
        ("TenantMovedIn", "Moved in 2025-02-03"),
        ("RentCaseOpened", "Rent case opened for the lease"),
        ("ArrearsReported", "Rent arrears reported for 2025-08: NOK 7 900"),
        (
            "NavNotificationWithheld",
            "NAV not notified of arrears reported: no consent no legal basis",
        ),
        ("ArrearsReported", "Rent arrears reported for 2025-09: NOK 7 900"),
        (
            "NavNotificationWithheld",
            "NAV not notified of arrears reported: no consent no legal basis",
        ),
        ("EvictionWarningIssued", "Eviction warning issued 2025-10-06; pay by 2025-10-20 (§ 4-18)"),
        ("NavNotificationSent", "NAV notified of eviction warning (basis: husleieloven § 9-11)"),
        ("EvictionPetitioned", "Eviction petitioned 2025-10-21"),
        ("NavNotificationSent", "NAV notified of eviction petition (basis: husleieloven § 9-11)"),
        ("EvictionDateSet", "Eviction date set: 2025-11-10"),
        ("NavNotificationSent", "NAV notified of eviction date set (basis: husleieloven § 9-11)"),
        (
            "ResponsibilityAssigned",
            "Responsibility assigned to kriminalomsorgen with a named contact",
        ),
        ("EvictionCarriedOut", "Eviction carried out 2025-11-10"),
        ("LeaseEnded", "Lease ended 2025-11-10: eviction"),
        ("TenantMovedOut", "Moved out 2025-11-10"),
        (
            "HandoverAnnounced",
            "Handover announced (release from prison): kriminalomsorgen to tiltaksteamet "
            "from 2026-03-06",
        ),
        ("HandoverLapsed", "Handover lapsed on its date: nobody accepted it"),
        ("ResponsibilityLapsed", "No responsible service: responsibility lapsed"),
        ("HandoverAccepted", "Handover accepted by tiltaksteamet with a named contact"),
        ("HandoverCompleted", "Handover completed: tiltaksteamet is responsible"),
        ("ResponsibilityAssigned", "Responsibility assigned to tiltaksteamet with a named contact"),
        ("LeaseStarted", "Lease started 2026-03-06, 6-month lease until 2026-09-05"),
        ("TenantMovedIn", "Moved in 2026-03-06"),
        ("FollowUpStarted", "Follow-up started 2026-03-06, visit every 7 days"),
        ("RentCaseOpened", "Rent case opened for the lease"),
        ("RepaymentAgreed", "Repayment agreement: NOK 500 a month from 2026-04-01"),
        ("RentDeductionSetUp", "Automatic rent deduction from 2026-04-01"),
    ]
    assert tick(client) == []  # nothing left for the scheduler


# --- Scenario 3 -------------------------------------------------------------------------


def test_scenario_3_the_young_man_nobody_owns_gets_a_plan_and_a_responsible_service(
    client: TestClient, clock: Clock
) -> None:
    """Man, 27, undiagnosed psychiatric illness, threatening in bad periods.

    When he turned 18, child welfare handed him to adult psychiatry, which declined (no
    diagnosis): nobody has owned him since, and the system says so. Two short tenancies in
    municipal flats ended in eviction. He now lives with his mother; the outreach team
    flags the address two-person and only visits it in pairs. A coordinator from the
    coordinating unit starts an individual plan with a responsibility group, the care
    service takes responsibility (ending the gap), and a neighbour conflict reported by
    FBE is routed to the care service, which acknowledges it.

    Stand-in: the API links a person to an address only through a lease in that person's
    own name, so the flat he shares with his mother is let to him here.
    """
    # 2016: the 18th birthday handover that nobody took.
    clock.now = oslo(2016, 9, 1, 10, 0)
    tenant_id = register_tenant(client, CHILD_WELFARE_WORKER, "Scenario Tre", "1998-09-14")
    assign(client, CHILD_WELFARE_WORKER, tenant_id, CHILD_WELFARE_WORKER)
    handover_id = announce(
        client, CHILD_WELFARE_WORKER, tenant_id, "helse_psykiatri", "turning_18", "2016-09-14"
    )
    clock.now = oslo(2016, 9, 8, 14, 0)
    post(
        client,
        PSYCHIATRY_WORKER,
        f"/handovers/{handover_id}/declination",
        {"reason": "Ingen diagnose, ikke vår pasient"},
    )
    assert get(client, f"/handovers/{handover_id}", CHILD_WELFARE_WORKER)["status"] == "declined"
    tenant = get(client, f"/tenants/{tenant_id}", CHILD_WELFARE_WORKER)
    assert tenant["responsible_service"] == "barn_og_unge"

    clock.now = oslo(2016, 9, 13, 23, 59)
    assert tick(client) == []  # not yet his birthday in Norway
    clock.now = oslo(2016, 9, 14, 0, 1)
    assert tick(client) == [handover_id]
    handover = get(client, f"/handovers/{handover_id}")
    assert (handover["status"], handover["lapse_reason"]) == ("lapsed", "declined")
    tenant = get(client, f"/tenants/{tenant_id}")
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (None, None)
    assert tenant["responsibility_gap_since"] == "2016-09-13T22:01:00Z"

    # Two short tenancies in municipal flats, both ending in eviction.
    for address, starts_on, ended_on in (
        ("Fiktivgata 31", "2019-03-01", "2019-08-15"),
        ("Fiktivgata 32", "2022-01-10", "2022-05-20"),
    ):
        clock.now = oslo_noon(starts_on)
        flat = start_lease(
            client, register_dwelling(client, address, "H0101"), tenant_id, starts_on
        )
        clock.now = oslo_noon(ended_on)
        post(
            client, FBE_OFFICER, f"/leases/{flat}/end", {"ended_on": ended_on, "reason": "eviction"}
        )

    # Autumn 2025: back with his mother (see the stand-in above).
    clock.now = oslo(2025, 9, 1)
    home = register_dwelling(client, "Fiktivvegen 3", "H0201")
    start_lease(client, home, tenant_id, "2025-09-01")

    # March 2026: his mother asks for help; the outreach team starts mapping his needs.
    clock.now = oslo(2026, 3, 2, 9, 0)
    post(
        client,
        OUTREACH_WORKER,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 14, "started_on": "2026-03-02"},
    )
    post(
        client,
        OUTREACH_WORKER,
        f"/dwellings/{home}/safety-flag",
        {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-06-02"},
    )
    flag = get(client, f"/dwellings/{home}")["safety_flag"]
    assert (flag["kind"], flag["reason"], flag["review_on"]) == (
        "two_person",
        "threats_violence",
        "2026-06-02",
    )
    assert flag["set_by"] == {"user_id": str(OUTREACH_WORKER.id), "service": "tiltaksteamet"}

    # Nobody visits alone: a one-worker visit is refused and nothing is written.
    lone_visit = new_id()
    refused(
        client,
        OUTREACH_WORKER,
        f"/tenants/{tenant_id}/visits",
        {
            "visit_id": str(lone_visit),
            "planned_for": "2026-03-05T10:00:00+01:00",
            "worker_ids": [str(OUTREACH_WORKER.id)],
        },
        422,
        "worker_ids",
        "two_person_address",
    )
    assert client.get(f"/visits/{lone_visit}").status_code == 404

    pair = [str(OUTREACH_WORKER.id), str(OUTREACH_PARTNER.id)]
    visit_id = new_id()
    post(
        client,
        OUTREACH_WORKER,
        f"/tenants/{tenant_id}/visits",
        {"visit_id": str(visit_id), "planned_for": "2026-03-05T10:00:00+01:00", "worker_ids": pair},
    )
    clock.now = oslo(2026, 3, 5, 11, 30)
    post(
        client,
        OUTREACH_WORKER,
        f"/visits/{visit_id}/completion",
        {
            "worker_ids": pair,
            "observations": {"wellbeing": "poor", "note": "Urolig, truende mot mor i perioder"},
        },
    )
    visit = get(client, f"/visits/{visit_id}")
    assert (visit["status"], visit["worker_ids"], visit["needs_review"]) == (
        "completed",
        pair,
        False,
    )

    # The coordinating unit starts an individual plan; a plan alone owns nobody.
    clock.now = oslo(2026, 3, 6, 10, 0)
    post(
        client,
        COORDINATOR,
        f"/tenants/{tenant_id}/individual-plan",
        {
            "started_on": "2026-03-06",
            "coordinator_worker_id": str(COORDINATOR.id),
            "coordinator_service": "koordinerende_enhet",
            "group": ["omsorg", "helse_psykiatri", "nav", "tiltaksteamet"],
        },
    )
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] is None
    assert tenant["responsibility_gap_since"] == "2016-09-13T22:01:00Z"

    # The care service takes him, with a named contact: the gap ends.
    clock.now = oslo(2026, 3, 9, 9, 0)
    assign(client, CARE_WORKER, tenant_id, CARE_WORKER)

    # FBE reports a neighbour conflict; it goes by itself to the care service, which has
    # him now.
    clock.now = oslo(2026, 3, 11, 13, 0)
    concern_id = new_id()
    post(
        client,
        FBE_OFFICER,
        "/concerns",
        {
            "concern_id": str(concern_id),
            "tenant_id": str(tenant_id),
            "dwelling_id": str(home),
            "category": "neighbour_conflict",
            "description": "Naboen melder om roping og trusler om natta",
        },
    )
    clock.now = oslo(2026, 3, 12, 8, 30)
    post(client, CARE_WORKER, f"/concerns/{concern_id}/acknowledgement", {})

    # --- the state now
    tenant = get(client, f"/tenants/{tenant_id}")
    assert tenant["responsible_service"] == "omsorg"
    assert tenant["contact_worker_id"] == str(CARE_WORKER.id)
    assert tenant["responsibility_gap_since"] is None
    assert tenant["dwelling_id"] == str(home)
    assert tenant["follow_up"]["ended_on"] is None
    assert tenant["individual_plan"] == {
        "started_on": "2026-03-06",
        "coordinator_worker_id": str(COORDINATOR.id),
        "coordinator_service": "koordinerende_enhet",
        "group": ["koordinerende_enhet", "omsorg", "helse_psykiatri", "nav", "tiltaksteamet"],
        "ended_on": None,
    }
    concern = get(client, f"/concerns/{concern_id}")
    assert (concern["status"], concern["raised_by"], concern["routed_to"]) == (
        "acknowledged",
        "fbe",
        "omsorg",
    )
    assert concern["acknowledged_at"] == "2026-03-12T07:30:00Z"
    assert [(r["kind"], r["status"]) for r in handovers(client, tenant_id)] == [
        ("turning_18", "lapsed")
    ]

    # --- the history
    entries = history(client, tenant_id)
    assert [(e["event_type"], e["summary"]) for e in entries] == [
        ("TenantRegistered", "Registered as tenant"),
        ("ResponsibilityAssigned", "Responsibility assigned to barn_og_unge with a named contact"),
        (
            "HandoverAnnounced",
            "Handover announced (turning 18): barn_og_unge to helse_psykiatri from 2016-09-14",
        ),
        ("HandoverDeclined", "Handover declined by helse_psykiatri"),
        ("HandoverLapsed", "Handover lapsed on its date: it was declined"),
        ("ResponsibilityLapsed", "No responsible service: responsibility lapsed"),
        ("LeaseStarted", "Lease started 2019-03-01, open-ended lease"),
        ("TenantMovedIn", "Moved in 2019-03-01"),
        ("LeaseEnded", "Lease ended 2019-08-15: eviction"),
        ("TenantMovedOut", "Moved out 2019-08-15"),
        ("LeaseStarted", "Lease started 2022-01-10, open-ended lease"),
        ("TenantMovedIn", "Moved in 2022-01-10"),
        ("LeaseEnded", "Lease ended 2022-05-20: eviction"),
        ("TenantMovedOut", "Moved out 2022-05-20"),
        ("LeaseStarted", "Lease started 2025-09-01, open-ended lease"),
        ("TenantMovedIn", "Moved in 2025-09-01"),
        ("FollowUpStarted", "Follow-up started 2026-03-02, visit every 14 days"),
        # A fact about the address the tenant lives at is on the tenant's timeline.
        ("SafetyFlagSet", "Address flagged two-person (threats/violence)"),
        ("VisitPlanned", "Visit planned for 2026-03-05T10:00+01:00 (2 worker(s))"),
        ("VisitCompleted", "Visit completed; wellbeing poor"),
        ("IndividualPlanStarted", "Individual plan started; coordinator from koordinerende_enhet"),
        ("ResponsibilityAssigned", "Responsibility assigned to omsorg with a named contact"),
        ("ConcernRaised", "Concern raised by fbe: neighbour conflict"),
        ("ConcernRouted", "Concern (neighbour conflict) routed to omsorg"),
        ("ConcernAcknowledged", "Concern (neighbour conflict) acknowledged by omsorg"),
    ]
    # Free text (the decline's reason, the visit note, the concern) never reaches the board.
    text = " ".join(e["summary"] for e in entries)
    for secret in ("diagnose", "Urolig", "trusler"):
        assert secret not in text


# --- Scenario 7 -------------------------------------------------------------------------


def test_scenario_7_from_the_refugee_centre_to_nav_at_the_end_of_the_programme(
    client: TestClient, clock: Clock
) -> None:
    """Refugee woman with four children, at the end of the introduction programme.

    Who is responsible next — NAV, the refugee centre or FBE? The refugee centre announces
    the handover to NAV in good time; NAV accepts and names her contact. Until the date
    the refugee centre is responsible; from midnight (Norwegian time) NAV is. She has let
    NAV receive rent and eviction information, so when FBE reports arrears NAV is
    notified on that basis; NAV acknowledges and answers that economic assistance is
    granted, and FBE follows its report through to NAV's answer.

    (The household — her four children — is not modelled by the API.)
    """
    # 2024: settled in Flora, in a municipal flat the refugee centre disposes of.
    clock.now = oslo(2024, 5, 2, 10, 0)
    tenant_id = register_tenant(client, REFUGEE_CENTRE_WORKER, "Scenario Sju")
    assign(client, REFUGEE_CENTRE_WORKER, tenant_id, REFUGEE_CENTRE_WORKER)
    post(
        client,
        REFUGEE_CENTRE_WORKER,
        f"/tenants/{tenant_id}/follow-up",
        {"visit_interval_days": 30, "started_on": "2024-05-02"},
    )
    flat = register_dwelling(client, "Fiktivvegen 7", "H0301")
    lease_id = start_lease(client, flat, tenant_id, "2024-05-02")
    case_id = open_rent_case(client, lease_id, tenant_id)

    # March 2026: the handover is announced and accepted in good time.
    clock.now = oslo(2026, 3, 6, 10, 0)
    handover_id = announce(
        client,
        REFUGEE_CENTRE_WORKER,
        tenant_id,
        "nav",
        "end_of_introduction_programme",
        "2026-04-01",
    )
    clock.now = oslo(2026, 3, 10, 13, 0)
    post(
        client,
        NAV_CASEWORKER,
        f"/handovers/{handover_id}/acceptance",
        {"contact_worker_id": str(NAV_CASEWORKER.id)},
    )
    consent_id = new_id()
    post(
        client,
        REFUGEE_CENTRE_WORKER,
        f"/tenants/{tenant_id}/consents",
        {
            "consent_id": str(consent_id),
            "recipients": ["nav"],
            "categories": ["rent_and_eviction"],
            "given_on": "2026-03-10",
        },
    )

    # The last minutes of the programme: the refugee centre is still responsible.
    clock.now = oslo(2026, 3, 31, 23, 55)
    assert tick(client) == []
    assert get(client, f"/handovers/{handover_id}", REFUGEE_CENTRE_WORKER)["status"] == "accepted"
    tenant = get(client, f"/tenants/{tenant_id}", REFUGEE_CENTRE_WORKER)
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (
        "innvandrersenteret",
        str(REFUGEE_CENTRE_WORKER.id),
    )

    # Five minutes past midnight in Norway (still 31 March in UTC): NAV is responsible.
    clock.now = oslo(2026, 4, 1, 0, 5)
    assert tick(client) == [handover_id]
    handover = get(client, f"/handovers/{handover_id}", NAV_CASEWORKER)
    assert (handover["status"], handover["contact_worker_id"], handover["settled_at"]) == (
        "completed",
        str(NAV_CASEWORKER.id),
        "2026-03-31T22:05:00Z",
    )
    tenant = get(client, f"/tenants/{tenant_id}", NAV_CASEWORKER)
    assert (tenant["responsible_service"], tenant["contact_worker_id"]) == (
        "nav",
        str(NAV_CASEWORKER.id),
    )
    assert tenant["responsibility_gap_since"] is None
    assert [
        (e["event_type"], e["actor_service"])
        for e in history(client, tenant_id, NAV_CASEWORKER)[-2:]
    ] == [
        ("HandoverCompleted", SYSTEM),
        ("ResponsibilityAssigned", SYSTEM),
    ]

    # May: April's rent is unpaid. NAV is notified on the basis of her consent.
    clock.now = oslo(2026, 5, 5, 9, 0)
    post(
        client,
        FBE_OFFICER,
        f"/rent-cases/{case_id}/arrears",
        {"month": "2026-04", "amount_nok": 9200},
    )
    [notice] = get(client, f"/rent-cases/{case_id}", FBE_OFFICER)["nav_notices"]
    assert (notice["trigger"], notice["withheld_reason"]) == ("arrears_reported", None)
    notification_id = notice["notification_id"]
    notification = get(client, f"/nav-notifications/{notification_id}", NAV_CASEWORKER)
    assert (notification["basis"], notification["consent_id"]) == ("consent", str(consent_id))
    assert (notification["tenant_id"], notification["total_owed_nok"]) == (str(tenant_id), 9200)
    assert notification["acknowledged_at"] is None

    clock.now = oslo(2026, 5, 6, 10, 0)
    post(client, NAV_CASEWORKER, f"/nav-notifications/{notification_id}/acknowledgement", {})
    clock.now = oslo(2026, 5, 7, 14, 0)
    post(
        client,
        NAV_CASEWORKER,
        f"/nav-notifications/{notification_id}/answer",
        {"answer": "economic_assistance_granted", "text": "Vedtak om stønad til husleie"},
    )

    # FBE reads its rent case; NAV's caseworker the notice and its answer.
    case = get(client, f"/rent-cases/{case_id}", FBE_OFFICER)
    assert (case["total_owed_nok"], case["eviction_stage"]) == (9200, "none")
    assert [n["notification_id"] for n in case["nav_notices"]] == [notification_id]
    outcome = get(client, f"/nav-notifications/{notification_id}", NAV_CASEWORKER)
    assert outcome["sent_at"] == "2026-05-05T07:00:00Z"
    assert outcome["acknowledged_at"] == "2026-05-06T08:00:00Z"
    assert (outcome["answer"], outcome["answered_at"]) == (
        "economic_assistance_granted",
        "2026-05-07T12:00:00Z",
    )

    # --- the state now
    tenant = get(client, f"/tenants/{tenant_id}", NAV_CASEWORKER)
    assert tenant["responsible_service"] == "nav"
    assert (tenant["dwelling_id"], tenant["lease_id"]) == (str(flat), str(lease_id))
    [consent] = tenant["consents"]
    assert (consent["recipients"], consent["categories"], consent["withdrawn_on"]) == (
        ["nav"],
        ["rent_and_eviction"],
        None,
    )
    assert [
        (r["kind"], r["status"], r["to_service"])
        for r in handovers(client, tenant_id, NAV_CASEWORKER)
    ] == [("end_of_introduction_programme", "completed", "nav")]

    # --- the history
    entries = history(client, tenant_id, NAV_CASEWORKER)
    assert [(e["event_type"], e["summary"]) for e in entries] == [
        ("TenantRegistered", "Registered as tenant"),
        (
            "ResponsibilityAssigned",
            "Responsibility assigned to innvandrersenteret with a named contact",
        ),
        ("FollowUpStarted", "Follow-up started 2024-05-02, visit every 30 days"),
        ("LeaseStarted", "Lease started 2024-05-02, open-ended lease"),
        ("TenantMovedIn", "Moved in 2024-05-02"),
        ("RentCaseOpened", "Rent case opened for the lease"),
        (
            "HandoverAnnounced",
            "Handover announced (end of introduction programme): innvandrersenteret to nav "
            "from 2026-04-01",
        ),
        ("HandoverAccepted", "Handover accepted by nav with a named contact"),
        ("ConsentGiven", "Consent given to share with nav"),
        ("HandoverCompleted", "Handover completed: nav is responsible"),
        ("ResponsibilityAssigned", "Responsibility assigned to nav with a named contact"),
        ("ArrearsReported", "Rent arrears reported for 2026-04: NOK 9 200"),
        ("NavNotificationSent", "NAV notified of arrears reported (basis: consent)"),
        ("NavNotificationAcknowledged", "NAV acknowledged the notification"),
        ("NavNotificationAnswered", "NAV answered: economic assistance granted"),
    ]
    assert all("Vedtak" not in e["summary"] for e in entries)  # NAV's text stays private
    assert (
        event_types(client, tenant_id, NAV_CASEWORKER).count("ResponsibilityLapsed") == 0
    )  # never a gap
