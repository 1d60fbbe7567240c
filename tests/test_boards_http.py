"""The services' boards over HTTP: safety register, concern tracker, NAV inbox, handover board.

Through the real app on real PostgreSQL, with the app's own projection runner. Every read
passes the last command's position as ``min_position`` (read-your-writes, no polling).
The scheduler is off: the handover tests decide when handovers settle.
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
from tests.api import OUTREACH, WORKER, assert_problem, post, tenant_in_follow_up
from tests.conftest import Clock
from tests.rent_api import FBE, NAV, consent_to_nav, registered_tenant, rent_case, step

SECRET = "Naboen sier han truer med kniv"
OUTCOME = "Mekling mellom naboene avtalt"
ANSWER = "Innvilget nødhjelp til husleie"
DECLINE = "ingen kapasitet denne måneden"
LIFT = "trusselen er ikke lenger aktuell"
PRISON = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "kriminalomsorgen"}
CARE = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
COORDINATOR = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "koordinerende_enhet"}


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, run_scheduler=False)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


class Board:
    """Reads a board at the position of the last command the test sent."""

    def __init__(self, client: TestClient, path: str, reader: dict[str, str] | None = None) -> None:
        self.client = client
        self.path = path
        self.reader = reader  # who reads the board (None: the test client's default reader)
        self.position = 0

    def did(self, result: Any) -> Any:
        self.position = max(self.position, int(result["position"]))
        return result

    def get(self, path: str = "", **params: Any) -> Any:
        response = self.client.get(
            self.path + path,
            params={"min_position": self.position, **params},
            headers=self.reader,
        )
        assert response.status_code == 200, response.text
        for text in (SECRET, OUTCOME, ANSWER, DECLINE, LIFT):
            assert text not in response.text
        return response.json()

    def items(self, **params: Any) -> list[Any]:
        body = self.get(**params)
        assert body["next_cursor"] is None, "expected a single page"
        items: list[Any] = body["items"]
        return items

    def every_page(self, limit: int, **params: Any) -> list[list[Any]]:
        """Walk the board page by page, following ``next_cursor`` until it is gone."""
        pages: list[list[Any]] = []
        cursor = None
        while True:
            extra = {"cursor": cursor} if cursor else {}
            body = self.get(limit=limit, **params, **extra)
            pages.append(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return pages
            assert len(pages) < 100


def ids(items: list[Any], key: str) -> list[str]:
    return [item[key] for item in items]


# --- address safety register ----------------------------------------------------------------


def dwelling(board: Board, address: str, unit: str | None = None) -> str:
    dwelling_id = str(uuid.uuid4())
    body: dict[str, Any] = {"dwelling_id": dwelling_id, "address": address, "owner": "municipal"}
    if unit:
        body["unit"] = unit
    board.did(post(board.client, "/dwellings", body))
    return dwelling_id


def flag(board: Board, dwelling_id: str, kind: str, reason: str, review_on: str) -> None:
    body = {"kind": kind, "reason": reason, "review_on": review_on}
    board.did(post(board.client, f"/dwellings/{dwelling_id}/safety-flag", body, FBE))


@pytest.fixture
def register(client: TestClient) -> Board:
    return Board(client, "/safety-register")


@pytest.fixture
def flagged(register: Board) -> dict[str, str]:
    """Three flagged addresses and one without a flag."""
    homes = {
        "Bakkegata 3": dwelling(register, "Bakkegata 3", "H0101"),
        "Aasveien 1": dwelling(register, "Aasveien 1"),
        "Centrum 5": dwelling(register, "Centrum 5"),
        "Dalen 7": dwelling(register, "Dalen 7"),
    }
    flag(register, homes["Bakkegata 3"], "two_person", "threats_violence", "2026-04-01")
    flag(register, homes["Aasveien 1"], "no_entry", "weapons", "2026-06-01")
    flag(register, homes["Centrum 5"], "two_person", "drug_environment", "2026-03-20")
    return homes


def test_the_register_lists_active_flags_by_address(
    register: Board, flagged: dict[str, str]
) -> None:
    items = register.items()

    assert ids(items, "address") == ["Aasveien 1", "Bakkegata 3", "Centrum 5"]
    first = items[1]
    assert first["dwelling_id"] == flagged["Bakkegata 3"]
    assert (first["unit"], first["kind"], first["reason"], first["review_on"]) == (
        "H0101",
        "two_person",
        "threats_violence",
        "2026-04-01",
    )
    assert (first["set_by_user"], first["set_by_service"]) == (FBE["x-folgja-user"], "fbe")
    assert first["set_at"] == "2026-03-06T15:30:00Z"
    assert (first["changed_at"], first["reviewed_at"], first["review_overdue"]) == (
        None,
        None,
        False,
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "two_person"}, ["Bakkegata 3", "Centrum 5"]),
        ({"reason": "weapons"}, ["Aasveien 1"]),
        ({"review_due_by": "2026-04-01"}, ["Bakkegata 3", "Centrum 5"]),
        ({"review_due_by": "2026-03-19"}, []),
        ({"kind": "two_person", "reason": "drug_environment"}, ["Centrum 5"]),
    ],
)
def test_the_register_filters(
    register: Board, flagged: dict[str, str], params: dict[str, str], expected: list[str]
) -> None:
    assert ids(register.items(**params), "address") == expected


def test_a_review_becomes_overdue_as_the_days_pass(
    register: Board, flagged: dict[str, str], clock: Clock
) -> None:
    assert not any(f["review_overdue"] for f in register.items())

    clock.advance(days=15)  # 21 March: the review of Centrum 5 was due on the 20th

    overdue = {f["address"]: f["review_overdue"] for f in register.items()}
    assert overdue == {"Aasveien 1": False, "Bakkegata 3": False, "Centrum 5": True}


def test_the_register_pages_with_a_cursor(register: Board, flagged: dict[str, str]) -> None:
    pages = register.every_page(2)

    assert [ids(p, "address") for p in pages] == [["Aasveien 1", "Bakkegata 3"], ["Centrum 5"]]
    assert [ids(p, "address") for p in register.every_page(1)] == [
        ["Aasveien 1"],
        ["Bakkegata 3"],
        ["Centrum 5"],
    ]
    assert [ids(p, "address") for p in register.every_page(3)] == [
        ["Aasveien 1", "Bakkegata 3", "Centrum 5"]
    ]


def test_a_lifted_flag_leaves_the_register_and_stays_in_the_history(
    register: Board, flagged: dict[str, str], clock: Clock
) -> None:
    home = flagged["Bakkegata 3"]
    url = f"/dwellings/{home}/safety-flag"
    clock.advance(hours=1)
    change = {"kind": "no_entry", "reason": "weapons", "review_on": "2026-05-01"}
    register.did(post(register.client, f"{url}/change", change, OUTREACH))
    clock.advance(hours=1)
    register.did(post(register.client, f"{url}/review", {"review_on": "2026-07-01"}, OUTREACH))
    clock.advance(hours=1)
    register.did(post(register.client, f"{url}/lift", {"reason": LIFT}, OUTREACH))

    assert ids(register.items(), "address") == ["Aasveien 1", "Centrum 5"]
    history = register.get(f"/{home}/history")
    assert (history["address"], history["unit"], history["active"]) == (
        "Bakkegata 3",
        "H0101",
        False,
    )
    entries = history["entries"]
    assert [(e["event_type"], e["kind"], e["reason"], e["review_on"]) for e in entries] == [
        ("SafetyFlagSet", "two_person", "threats_violence", "2026-04-01"),
        ("SafetyFlagChanged", "no_entry", "weapons", "2026-05-01"),
        ("SafetyFlagReviewed", "no_entry", "weapons", "2026-07-01"),
        ("SafetyFlagLifted", "no_entry", "weapons", None),
    ]
    assert [e["actor_service"] for e in entries] == [
        "fbe",
        "tiltaksteamet",
        "tiltaksteamet",
        "tiltaksteamet",
    ]
    assert [e["occurred_at"][11:16] for e in entries] == ["15:30", "16:30", "17:30", "18:30"]
    assert entries == sorted(entries, key=lambda e: e["position"])


def test_an_address_without_a_flag_has_an_empty_history(
    register: Board, flagged: dict[str, str]
) -> None:
    history = register.get(f"/{flagged['Dalen 7']}/history")
    assert (history["active"], history["entries"]) == (False, [])


def test_the_history_of_an_unknown_dwelling_is_404(register: Board) -> None:
    response = register.client.get(f"/safety-register/{uuid.uuid4()}/history")
    assert_problem(response, 404, "dwelling_id", "must_exist")


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"cursor": "not-a-cursor"}, "cursor", "valid_cursor"),
        ({"cursor": "WzFd"}, "cursor", "valid_cursor"),  # a cursor of another board
        ({"kind": "alone"}, "kind", "allowed_values"),
        ({"reason": "gut_feeling"}, "reason", "allowed_values"),
        ({"review_due_by": "next week"}, "review_due_by", "format"),
        ({"limit": 0}, "limit", "range"),
        ({"limit": 501}, "limit", "range"),
        ({"min_position": -1}, "min_position", "range"),
    ],
)
def test_the_register_refuses_bad_parameters(
    client: TestClient, params: dict[str, Any], field: str, rule: str
) -> None:
    response = client.get("/safety-register", params=params)
    assert_problem(response, 422, field, rule)


# --- concern tracker ------------------------------------------------------------------------


@pytest.fixture
def tracker(client: TestClient) -> Board:
    return Board(client, "/concerns", FBE)  # the property manager's tracker


def raise_concern(
    board: Board, category: str = "neighbour_conflict", headers: dict[str, str] | None = None
) -> str:
    concern_id = str(uuid.uuid4())
    body = {
        "concern_id": concern_id,
        "tenant_id": str(registered_tenant(board.client)),
        "category": category,
        "description": SECRET,
    }
    board.did(post(board.client, "/concerns", body, headers or FBE))
    return concern_id


def concern_step(
    board: Board, concern_id: str, step: str, body: Any, headers: dict[str, str]
) -> None:
    board.did(post(board.client, f"/concerns/{concern_id}/{step}", body, headers))


def waits(items: list[Any]) -> dict[str, int]:
    return {c["concern_id"]: c["waiting_unacknowledged_s"] for c in items}


def test_the_raiser_sees_where_its_concerns_are_and_how_long_they_wait(
    tracker: Board, clock: Clock
) -> None:
    first = raise_concern(tracker)
    concern_step(tracker, first, "routing", {"to_service": "tiltaksteamet"}, FBE)
    clock.advance(hours=1)
    second = raise_concern(tracker, "damage")
    concern_step(tracker, second, "routing", {"to_service": "nav"}, FBE)
    raise_concern(tracker, "wellbeing", OUTREACH)  # not FBE's

    items = tracker.items(raised_by="fbe")
    assert ids(items, "concern_id") == [first, second]  # the longest wait first
    assert [(c["status"], c["routed_to_service"]) for c in items] == [
        ("routed", "tiltaksteamet"),
        ("routed", "nav"),
    ]
    assert waits(items) == {first: 3600, second: 0}
    assert all(c["raised_by_service"] == "fbe" and c["waiting"] for c in items)

    clock.advance(hours=2)
    assert waits(tracker.items(raised_by="fbe")) == {first: 10800, second: 7200}

    concern_step(tracker, first, "acknowledgement", {}, OUTREACH)
    clock.advance(hours=1)
    items = tracker.items(raised_by="fbe")
    assert ids(items, "concern_id") == [second, first]  # still waiting first
    assert waits(items) == {first: 10800, second: 10800}  # the acknowledged one stopped
    assert (items[1]["status"], items[1]["waiting"]) == ("acknowledged", False)
    assert items[1]["acknowledged_at"] == "2026-03-06T18:30:00Z"


def test_the_tracker_filters_by_holder_status_category_and_openness(
    tracker: Board, clock: Clock
) -> None:
    hoarding = raise_concern(tracker, "hoarding")
    damage = raise_concern(tracker, "damage")
    fire = raise_concern(tracker, "fire_safety")
    unrouted = raise_concern(tracker, "other")
    concern_step(tracker, hoarding, "routing", {"to_service": "tiltaksteamet"}, FBE)
    concern_step(tracker, damage, "routing", {"to_service": "tiltaksteamet"}, FBE)
    concern_step(tracker, fire, "routing", {"to_service": "nav"}, FBE)
    concern_step(tracker, hoarding, "acknowledgement", {}, OUTREACH)
    resolution = {"outcome": "action_taken", "outcome_text": OUTCOME}
    concern_step(tracker, hoarding, "resolution", resolution, OUTREACH)
    escalation = {"reason": "not_acknowledged", "to_service": "omsorg"}
    concern_step(tracker, fire, "escalation", escalation, FBE)

    def found(**params: Any) -> set[str]:
        return set(ids(tracker.items(**params), "concern_id"))

    assert found() == {hoarding, damage, fire, unrouted}
    assert found(holder="tiltaksteamet") == {hoarding, damage}
    assert found(holder="omsorg") == {fire}
    assert found(status="escalated") == {fire}
    assert found(status=["raised", "routed"]) == {damage, unrouted}
    assert found(open_only=True) == {damage, fire, unrouted}
    assert found(category=["hoarding", "fire_safety"]) == {hoarding, fire}
    assert found(holder="tiltaksteamet", open_only=True) == {damage}
    resolved = tracker.items(status="resolved")[0]
    assert (resolved["outcome"], resolved["waiting"]) == ("action_taken", False)
    escalated = tracker.items(status="escalated")[0]
    assert (escalated["escalations"], escalated["routed_to_service"]) == (1, "omsorg")
    # The single concern is still there, with its description, for its readers.
    response = tracker.client.get(f"/concerns/{hoarding}")
    assert response.status_code == 200 and response.json()["description"] == SECRET


def test_the_tracker_pages_with_a_cursor(tracker: Board, clock: Clock) -> None:
    raised = []
    for _ in range(5):
        raised.append(raise_concern(tracker))
        clock.advance(minutes=10)
    concern_step(tracker, raised[0], "routing", {"to_service": "tiltaksteamet"}, FBE)
    concern_step(tracker, raised[0], "acknowledgement", {}, OUTREACH)
    expected = [*raised[1:], raised[0]]  # waiting first, oldest first; then the rest

    pages = tracker.every_page(2)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c for page in pages for c in ids(page, "concern_id")] == expected
    assert [c for page in tracker.every_page(5) for c in ids(page, "concern_id")] == expected


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"raised_by": "the_neighbours"}, "raised_by", "allowed_values"),
        ({"holder": "nobody"}, "holder", "allowed_values"),
        ({"status": "lost"}, "status", "allowed_values"),
        ({"category": "noise"}, "category", "allowed_values"),
        ({"open_only": "perhaps"}, "open_only", "type"),
        ({"tenant_id": "someone"}, "tenant_id", "format"),
        ({"cursor": "%%%"}, "cursor", "valid_cursor"),
        ({"limit": 501}, "limit", "range"),
    ],
)
def test_the_tracker_refuses_bad_parameters(
    client: TestClient, params: dict[str, Any], field: str, rule: str
) -> None:
    response = client.get("/concerns", params=params)
    assert_problem(response, 422, field, rule)


# --- NAV inbox ----------------------------------------------------------------------------


@pytest.fixture
def inbox(client: TestClient) -> Board:
    return Board(client, "/nav-inbox")


def arrears_with_consent(board: Board) -> uuid.UUID:
    tenant_id = registered_tenant(board.client)
    consent_to_nav(board.client, tenant_id, uuid.uuid4())
    case_id = rent_case(board.client, tenant_id)
    board.did(step(board.client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500}))
    return tenant_id


def warning_without_consent(board: Board) -> uuid.UUID:
    tenant_id = registered_tenant(board.client)
    case_id = rent_case(board.client, tenant_id)
    board.did(step(board.client, case_id, "arrears", {"month": "2026-02", "amount_nok": 9000}))
    board.did(step(board.client, case_id, "eviction-warning", {"issued_on": "2026-03-06"}))
    return tenant_id


def test_nav_sees_its_notifications_with_basis_and_a_growing_wait(
    inbox: Board, clock: Clock
) -> None:
    consented = arrears_with_consent(inbox)
    clock.advance(hours=1)
    statutory = warning_without_consent(inbox)

    items = inbox.items()
    assert [(n["tenant_id"], n["trigger"], n["basis"]) for n in items] == [
        (str(consented), "arrears_reported", "consent"),
        (str(statutory), "eviction_warning", "husleieloven_9_11"),
    ]
    assert items[0]["consent_id"] is not None and items[1]["consent_id"] is None
    assert [n["waiting_s"] for n in items] == [3600, 0]
    assert [n["total_owed_nok"] for n in items] == [8500, 9000]

    clock.advance(hours=20)
    assert [n["waiting_s"] for n in inbox.items()] == [75600, 72000]

    first = items[0]["notification_id"]
    url = f"/nav-notifications/{first}"
    inbox.did(post(inbox.client, f"{url}/acknowledgement", {}, NAV))
    clock.advance(days=1)
    answer = {"answer": "economic_assistance_granted", "text": ANSWER}
    inbox.did(post(inbox.client, f"{url}/answer", answer, NAV))

    items = inbox.items()
    assert ids(items, "tenant_id") == [str(statutory), str(consented)]  # unacknowledged first
    assert [n["waiting_s"] for n in items] == [72000 + 86400, 75600]
    assert (items[1]["answer"], items[1]["answered_at"]) == (
        "economic_assistance_granted",
        "2026-03-08T12:30:00Z",
    )


def test_the_inbox_filters_and_pages(inbox: Board, clock: Clock) -> None:
    consented = []
    for _ in range(2):
        consented.append(arrears_with_consent(inbox))
        clock.advance(minutes=1)
    statutory = warning_without_consent(inbox)
    acknowledged = inbox.items(trigger="arrears_reported")[0]["notification_id"]
    url = f"/nav-notifications/{acknowledged}/acknowledgement"
    inbox.did(post(inbox.client, url, {}, NAV))

    def tenants(**params: Any) -> list[str]:
        return ids(inbox.items(**params), "tenant_id")

    assert tenants(acknowledged=False) == [str(consented[1]), str(statutory)]
    assert tenants(acknowledged=True) == [str(consented[0])]
    assert tenants(basis="husleieloven_9_11") == [str(statutory)]
    assert tenants(trigger=["eviction_warning", "eviction_petition"]) == [str(statutory)]
    assert tenants(answered=True) == []
    assert tenants(tenant_id=str(statutory)) == [str(statutory)]
    pages = inbox.every_page(2)
    assert [ids(p, "tenant_id") for p in pages] == [
        [str(consented[1]), str(statutory)],
        [str(consented[0])],
    ]


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"acknowledged": "sometimes"}, "acknowledged", "type"),
        ({"trigger": "late_rent"}, "trigger", "allowed_values"),
        ({"basis": "a_hunch"}, "basis", "allowed_values"),
        ({"cursor": "bm90LWpzb24"}, "cursor", "valid_cursor"),
        ({"limit": 0}, "limit", "range"),
    ],
)
def test_the_inbox_refuses_bad_parameters(
    client: TestClient, params: dict[str, Any], field: str, rule: str
) -> None:
    response = client.get("/nav-inbox", params=params)
    assert_problem(response, 422, field, rule)


# --- handover board -------------------------------------------------------------------------


@pytest.fixture
def handover_board(client: TestClient) -> Board:
    # The coordinating unit sees every handover; a service only its own.
    return Board(client, "/handover-board", COORDINATOR)


def announce(board: Board, effective_on: str, to_service: str = "tiltaksteamet") -> str:
    tenant_id = tenant_in_follow_up(board.client)
    handover_id = str(uuid.uuid4())
    body = {
        "handover_id": handover_id,
        "tenant_id": str(tenant_id),
        "from_service": "kriminalomsorgen",
        "to_service": to_service,
        "kind": "release_from_prison",
        "effective_on": effective_on,
    }
    board.did(post(board.client, "/handovers", body, PRISON))
    return handover_id


def test_the_board_groups_handovers_and_finds_the_overdue_ones(
    handover_board: Board, clock: Clock
) -> None:
    accepted = announce(handover_board, "2026-03-09")
    declined = announce(handover_board, "2026-03-10")
    waiting = announce(handover_board, "2026-03-11", to_service="omsorg")
    handover_board.did(
        post(
            handover_board.client,
            f"/handovers/{accepted}/acceptance",
            {"contact_worker_id": str(WORKER)},
            OUTREACH,
        )
    )
    handover_board.did(
        post(
            handover_board.client,
            f"/handovers/{declined}/declination",
            {"reason": DECLINE},
            OUTREACH,
        )
    )

    board = handover_board.get()
    assert ids(board["items"], "handover_id") == [accepted, declined, waiting]
    assert [h["status"] for h in board["items"]] == ["accepted", "declined", "announced"]
    assert board["counts"] == {
        "announced": 1,
        "accepted": 1,
        "declined": 1,
        "completed": 0,
        "lapsed": 0,
        "overdue": 0,
    }
    first = board["items"][0]
    assert (first["contact_worker_id"], first["accepted_at"]) == (
        str(WORKER),
        "2026-03-06T15:30:00Z",
    )
    assert board["items"][1]["declined_at"] == "2026-03-06T15:30:00Z"
    assert not any(h["overdue"] for h in board["items"])
    # Their tenants are in follow-up and no service has taken them yet: the board says so.
    gap = board["without_responsible_service"]
    tenants = {h["tenant_id"] for h in board["items"]}
    assert {t["tenant_id"] for t in gap["items"]} == tenants
    assert {(t["full_name"], t["lapsed"]) for t in gap["items"]} == {("Test Beboer", False)}
    assert gap["next_cursor"] is None

    clock.advance(days=5)  # Wednesday 11 March: every date has come, nobody settled them

    board = handover_board.get()
    assert [h["overdue"] for h in board["items"]] == [False, True, True]
    assert board["counts"]["overdue"] == 2
    assert ids(handover_board.items(overdue=True), "handover_id") == [declined, waiting]
    assert ids(handover_board.items(overdue=False), "handover_id") == [accepted]
    assert ids(handover_board.items(status=["declined", "accepted"]), "handover_id") == [
        accepted,
        declined,
    ]
    assert ids(handover_board.items(to_service="omsorg"), "handover_id") == [waiting]
    assert ids(handover_board.items(from_service="nav"), "handover_id") == []
    only_care = handover_board.get(to_service="omsorg")["counts"]
    assert (only_care["announced"], only_care["accepted"], only_care["overdue"]) == (1, 0, 1)


def test_a_later_handover_of_the_tenant_supersedes_an_overdue_one(
    handover_board: Board, clock: Clock
) -> None:
    tenant_id = tenant_in_follow_up(handover_board.client)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for handover_id, effective_on in ((first, "2026-03-06"), (second, "2026-03-20")):
        body = {
            "handover_id": handover_id,
            "tenant_id": str(tenant_id),
            "from_service": "kriminalomsorgen",
            "to_service": "omsorg",
            "kind": "release_from_prison",
            "effective_on": effective_on,
        }
        handover_board.did(post(handover_board.client, "/handovers", body, PRISON))

    assert ids(handover_board.items(overdue=True), "handover_id") == []
    assert ids(handover_board.items(tenant_id=str(tenant_id)), "handover_id") == [first, second]


def test_the_board_pages_by_effective_date(handover_board: Board) -> None:
    dates = ["2026-03-12", "2026-03-09", "2026-03-10", "2026-03-09", "2026-03-11"]
    announced = {announce(handover_board, d): d for d in dates}

    pages = handover_board.every_page(2)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert handover_board.get()["without_responsible_service"]["items"]
    later = handover_board.get(limit=2, cursor=handover_board.get(limit=2)["next_cursor"])
    assert later["without_responsible_service"] is None  # only on the first page
    seen = [h["handover_id"] for page in pages for h in page]
    assert sorted(seen) == sorted(announced)
    assert [announced[h] for h in seen] == sorted(dates)
    for page in pages:
        assert all(h["handover_id"] in announced for h in page)


@pytest.mark.parametrize(
    ("params", "field", "rule"),
    [
        ({"status": "forgotten"}, "status", "allowed_values"),
        ({"overdue": "very"}, "overdue", "type"),
        ({"to_service": "police"}, "to_service", "allowed_values"),
        ({"cursor": "WyIyMDI2LTAzLTA5Il0"}, "cursor", "valid_cursor"),  # one value of two
        ({"limit": -5}, "limit", "range"),
    ],
)
def test_the_board_refuses_bad_parameters(
    client: TestClient, params: dict[str, Any], field: str, rule: str
) -> None:
    response = client.get("/handover-board", params=params)
    assert_problem(response, 422, field, rule)


# --- read-your-writes -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/safety-register", "/concerns", "/nav-inbox", "/handover-board"])
def test_a_position_not_reached_in_time_is_a_problem_naming_min_position(
    database: DatabaseUrl, clock: Clock, path: str
) -> None:
    settings = Settings(
        database_url=database.url,
        run_scheduler=False,
        run_projections=False,
        read_your_writes_timeout_s=0.05,
    )
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        result = post(client, "/tenants", {"tenant_id": str(uuid.uuid4()), "full_name": "Kari"})
        response = client.get(path, params={"min_position": result["position"]})
    assert_problem(response, 503, "min_position", "reached_in_time")
