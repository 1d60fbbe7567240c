"""The access log: appended per read or change, queried per tenant and per user, never altered."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from litestar.testing import TestClient

from backend.auth import access_log, access_middleware
from backend.auth.access_log import AccessAction
from backend.auth.roles import Principal, Role
from backend.database import DatabaseUrl
from domain.municipal_services import Service
from tests.api import assert_problem, head_position, post, tenant_in_follow_up
from tests.auth_api import in_app, signed_in
from tests.rent_api import (
    FBE,
    NAV,
    consent_to_nav,
    get_case,
    housed,
    registered_tenant,
    rent_case,
    step,
)

TENANT_A = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
TENANT_B = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
KARI = Principal(
    user_id=uuid.UUID("00000000-0000-4000-8000-00000000000a"),
    username="kari",
    service=Service.OUTREACH_TEAM,
    roles=(Role.FIELD_WORKER,),
    device_id=uuid.UUID("00000000-0000-4000-8000-0000000000d1"),
)
OLA = Principal(
    user_id=uuid.UUID("00000000-0000-4000-8000-00000000000b"),
    username="ola",
    service=Service.PROPERTY_MANAGER,
    roles=(Role.PROPERTY_MANAGER,),
)


def record(
    client: TestClient,
    who: Principal,
    tenant: uuid.UUID | None,
    action: AccessAction,
    endpoint: str,
    record_id: str | None = None,
    status: int = 200,
) -> int:
    at = client.app.state.runtime.clock()
    return in_app(
        client,
        lambda c: access_log.record_access(
            c, who, tenant, action, endpoint, record_id, status, at=at
        ),
    )


def seed(client: TestClient) -> None:
    record(client, KARI, TENANT_A, AccessAction.READ, "GET /tenants/{tenant_id}")
    record(
        client,
        KARI,
        TENANT_A,
        AccessAction.CHANGE,
        "POST /tenants/{tenant_id}/visits",
        str(uuid.uuid4()),
        201,
    )
    record(client, OLA, TENANT_A, AccessAction.READ, "GET /tenants/{tenant_id}", status=403)
    record(client, KARI, TENANT_B, AccessAction.READ, "GET /tenants/{tenant_id}/timeline")
    record(client, OLA, None, AccessAction.READ, "GET /safety-register")


def test_an_entry_keeps_who_what_when_and_from_which_device(client: TestClient) -> None:
    visit = str(uuid.uuid4())
    record(
        client,
        KARI,
        TENANT_A,
        AccessAction.CHANGE,
        "POST /visits/{visit_id}/completion",
        visit,
        201,
    )
    page = in_app(client, lambda c: access_log.for_tenant(c, TENANT_A))
    [entry] = page.items
    assert entry.user_id == KARI.user_id and entry.service == "tiltaksteamet"
    assert entry.roles == ["field_worker"] and entry.device_id == KARI.device_id
    assert entry.action is AccessAction.CHANGE and entry.record_id == visit
    assert entry.endpoint == "POST /visits/{visit_id}/completion" and entry.status == 201
    assert entry.at == client.app.state.runtime.clock()


def test_queries_per_tenant_and_per_user_newest_first_in_pages(client: TestClient) -> None:
    seed(client)
    about_a = in_app(client, lambda c: access_log.for_tenant(c, TENANT_A))
    assert [(e.user_id, e.action) for e in about_a.items] == [
        (OLA.user_id, AccessAction.READ),
        (KARI.user_id, AccessAction.CHANGE),
        (KARI.user_id, AccessAction.READ),
    ]
    by_kari = in_app(client, lambda c: access_log.for_user(c, KARI.user_id, limit=2))
    assert [e.tenant_id for e in by_kari.items] == [TENANT_B, TENANT_A]
    assert by_kari.next_cursor is not None
    rest = in_app(
        client, lambda c: access_log.for_user(c, KARI.user_id, cursor=by_kari.next_cursor, limit=2)
    )
    assert [e.tenant_id for e in rest.items] == [TENANT_A] and rest.next_cursor is None


def test_admins_query_the_log_over_http_and_that_read_is_logged(client: TestClient) -> None:
    seed(client)
    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    first = client.get(
        "/admin/access-log", params={"tenant_id": str(TENANT_A), "limit": 2}, headers=admin
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert [e["user_id"] for e in page["items"]] == [str(OLA.user_id), str(KARI.user_id)]
    second = client.get(
        "/admin/access-log",
        params={"tenant_id": str(TENANT_A), "limit": 2, "cursor": page["next_cursor"]},
        headers=admin,
    ).json()
    assert [e["action"] for e in second["items"]] == ["read"] and second["next_cursor"] is None

    both = client.get(
        "/admin/access-log",
        params={"tenant_id": str(TENANT_A), "user_id": str(OLA.user_id)},
        headers=admin,
    ).json()
    assert [e["status"] for e in both["items"]] == [403]
    by_user = client.get(
        "/admin/access-log", params={"user_id": str(OLA.user_id)}, headers=admin
    ).json()
    assert [e["tenant_id"] for e in by_user["items"]] == [None, str(TENANT_A)]

    # Reading a tenant's log is itself a read about that tenant.
    newest = client.get(
        "/admin/access-log", params={"tenant_id": str(TENANT_A), "limit": 1}, headers=admin
    ).json()["items"][0]
    assert newest["endpoint"] == "GET /admin/access-log" and newest["roles"] == ["admin"]

    bad = client.get("/admin/access-log", params={"cursor": "not-a-cursor"}, headers=admin)
    assert_problem(bad, 422, "cursor", "valid_cursor")


def test_only_admins_read_the_log_and_nobody_alters_it_over_http(client: TestClient) -> None:
    seed(client)
    lead = signed_in(client, "lise", Role.TEAM_LEAD, Role.FIELD_WORKER)
    assert_problem(
        client.get("/admin/access-log", headers=lead), 403, "authorization", "role_required"
    )
    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)("/admin/access-log", headers=admin)
        assert response.status_code == 405, (method, response.text)
    count = in_app(client, lambda c: c.fetchval("SELECT count(*) FROM access_log"))
    assert count == 5


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET status = 200",
        "UPDATE access_log SET user_id = gen_random_uuid() WHERE false",
        "DELETE FROM access_log",
        "DELETE FROM access_log WHERE false",
        "TRUNCATE access_log",
    ],
)
def test_the_log_cannot_be_changed_even_with_direct_sql(
    client: TestClient, database: DatabaseUrl, statement: str
) -> None:
    seed(client)
    with psycopg.connect(database.url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        count = conn.execute("SELECT count(*) FROM access_log").fetchone()
    assert count == (5,)


def test_an_unknown_action_is_refused_by_the_table(database: DatabaseUrl) -> None:
    with (
        psycopg.connect(database.url, autocommit=True) as conn,
        pytest.raises(psycopg.errors.CheckViolation),
    ):
        conn.execute(
            "INSERT INTO access_log (at, user_id, service, roles, action, endpoint, status) "
            "VALUES (now(), gen_random_uuid(), 'nav', '{}', 'delete', 'x', 200)"
        )


# --- lists: one row per tenant shown on the page ---------------------------------------------

LEAD = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "tiltaksteamet"}
CARE_STAFF = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
COORDINATOR = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "koordinerende_enhet"}
FIELD_WORKER = {
    "x-folgja-user": str(uuid.uuid4()),
    "x-folgja-service": "tiltaksteamet",
    "x-folgja-role": "field_worker",
}


def followed_by(client: TestClient, worker: dict[str, str]) -> uuid.UUID:
    """A tenant the outreach team is responsible for, with ``worker`` as contact."""
    tenant_id = tenant_in_follow_up(client)
    body = {"service": "tiltaksteamet", "contact_worker_id": client.enrol(worker)}
    post(client, f"/tenants/{tenant_id}/responsibility", body, LEAD)
    return tenant_id


def read_list(
    client: TestClient, path: str, who: dict[str, str], **params: Any
) -> list[dict[str, Any]]:
    """Reads a list at the log's head; its items (``items`` of a page)."""
    response = client.get(
        path, params={"min_position": head_position(client), **params}, headers=who
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def list_reads(
    client: TestClient, who: dict[str, str], endpoint: str
) -> list[tuple[uuid.UUID | None, str | None, str, int]]:
    """(tenant, record id, action, status) of every entry by ``who`` at ``endpoint``."""
    rows = in_app(
        client,
        lambda c: c.fetch(
            "SELECT tenant_id, record_id, action, status FROM access_log "
            "WHERE user_id = $1 AND endpoint = $2 ORDER BY id",
            uuid.UUID(who["x-folgja-user"]),
            endpoint,
        ),
    )
    return [(r["tenant_id"], r["record_id"], r["action"], r["status"]) for r in rows]


def reads_of(tenants: set[uuid.UUID] | list[uuid.UUID]) -> list[tuple[uuid.UUID, None, str, int]]:
    return sorted(((t, None, "read", 200) for t in tenants), key=str)


TEAM = "GET /caseload/teams/{service}"
WORKER_CASELOAD = "GET /caseload/workers/{worker_id}"


def test_a_team_caseload_logs_each_tenant_on_the_page_and_no_other(client: TestClient) -> None:
    first, second = followed_by(client, FIELD_WORKER), followed_by(client, FIELD_WORKER)
    page = read_list(client, "/caseload/teams/tiltaksteamet", LEAD, limit=1)
    [shown] = [uuid.UUID(e["tenant_id"]) for e in page]
    assert shown in {first, second}
    assert list_reads(client, LEAD, TEAM) == reads_of([shown])

    everyone = read_list(client, "/caseload/teams/tiltaksteamet", LEAD)
    assert {uuid.UUID(e["tenant_id"]) for e in everyone} == {first, second}
    assert sorted(list_reads(client, LEAD, TEAM), key=str) == sorted(
        reads_of([shown]) + reads_of([first, second]), key=str
    )


def test_a_workers_caseload_logs_the_workers_tenants_shown(client: TestClient) -> None:
    mine = {followed_by(client, FIELD_WORKER), followed_by(client, FIELD_WORKER)}
    followed_by(client, LEAD)  # another contact's tenant: not on this caseload
    path = f"/caseload/workers/{FIELD_WORKER['x-folgja-user']}"
    page = read_list(client, path, FIELD_WORKER, limit=1)
    shown = {uuid.UUID(e["tenant_id"]) for e in page}
    assert len(shown) == 1 and shown < mine
    assert list_reads(client, FIELD_WORKER, WORKER_CASELOAD) == reads_of(shown)

    # The next page: only the other tenant is added.
    cursor_page = client.get(
        path, params={"limit": 1, "min_position": head_position(client)}, headers=FIELD_WORKER
    ).json()
    rest = read_list(client, path, FIELD_WORKER, limit=1, cursor=cursor_page["next_cursor"])
    assert {uuid.UUID(e["tenant_id"]) for e in rest} == mine - shown
    logged = [t for t, *_ in list_reads(client, FIELD_WORKER, WORKER_CASELOAD)]
    assert sorted(logged, key=str) == sorted([*shown, *shown, *(mine - shown)], key=str)


def test_an_empty_caseload_and_a_refused_one_write_no_tenant_rows(client: TestClient) -> None:
    assert read_list(client, "/caseload/teams/tiltaksteamet", LEAD) == []
    assert list_reads(client, LEAD, TEAM) == []

    followed_by(client, FIELD_WORKER)
    refused = client.get("/caseload/teams/tiltaksteamet", headers=CARE_STAFF)
    assert_problem(refused, 403, "authorization", "own_service")
    assert list_reads(client, CARE_STAFF, TEAM) == []


def test_the_tenants_without_a_service_are_logged_as_shown(client: TestClient) -> None:
    waiting = {tenant_in_follow_up(client), tenant_in_follow_up(client)}
    followed_by(client, FIELD_WORKER)  # has a service: not on the list
    page = read_list(client, "/tenants/without-responsible-service", LEAD)
    assert {uuid.UUID(e["tenant_id"]) for e in page} == waiting
    endpoint = "GET /tenants/without-responsible-service"
    assert sorted(list_reads(client, LEAD, endpoint), key=str) == reads_of(waiting)


def raised_concern(client: TestClient, tenant_id: uuid.UUID | None) -> str:
    concern_id = str(uuid.uuid4())
    body: dict[str, Any] = {
        "concern_id": concern_id,
        "category": "neighbour_conflict",
        "description": "naboen klager",
    }
    if tenant_id is None:
        dwelling_id, _ = housed(client, registered_tenant(client))
        body["dwelling_id"] = str(dwelling_id)
    else:
        body["tenant_id"] = str(tenant_id)
    post(client, "/concerns", body, FBE)
    return concern_id


def test_the_concern_tracker_logs_each_tenant_shown_with_the_concern(
    client: TestClient,
) -> None:
    first, second = registered_tenant(client), registered_tenant(client)
    concerns = {raised_concern(client, first): first, raised_concern(client, second): second}
    endpoint = "GET /concerns"
    [row] = read_list(client, "/concerns", FBE, limit=1)
    assert list_reads(client, FBE, endpoint) == [
        (concerns[row["concern_id"]], row["concern_id"], "read", 200)
    ]

    # A second concern about the same tenant: the tenant once, about no single concern.
    again = raised_concern(client, first)
    raised_concern(client, None)  # about an address alone: no tenant to log
    rows = read_list(client, "/concerns", FBE)
    assert {r["concern_id"] for r in rows} >= {*concerns, again}
    newest = list_reads(client, FBE, endpoint)[1:]
    assert sorted(newest, key=str) == sorted(
        [(first, None, "read", 200), (second, concerns_of(concerns, second), "read", 200)],
        key=str,
    )


def concerns_of(concerns: dict[str, uuid.UUID], tenant_id: uuid.UUID) -> str:
    [concern] = [c for c, t in concerns.items() if t == tenant_id]
    return concern


def test_an_empty_tracker_writes_nothing(client: TestClient) -> None:
    assert read_list(client, "/concerns", FBE) == []
    assert list_reads(client, FBE, "GET /concerns") == []


def announced(client: TestClient, to_service: str, effective_on: str = "2026-04-01") -> str:
    handover_id = str(uuid.uuid4())
    body = {
        "handover_id": handover_id,
        "tenant_id": str(tenant_in_follow_up(client)),
        "from_service": "kriminalomsorgen",
        "to_service": to_service,
        "kind": "release_from_prison",
        "effective_on": effective_on,
    }
    post(client, "/handovers", body, PRISON)
    return handover_id


PRISON = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "kriminalomsorgen"}
BOARD = "GET /handover-board"


def handover_tenant(client: TestClient, handover_id: str) -> uuid.UUID:
    response = client.get(f"/handovers/{handover_id}", headers=COORDINATOR)
    assert response.status_code == 200, response.text
    return uuid.UUID(response.json()["tenant_id"])


def test_the_handover_board_logs_each_tenant_shown_with_the_handover(
    client: TestClient,
) -> None:
    handovers = [announced(client, "tiltaksteamet"), announced(client, "omsorg", "2026-04-02")]
    tenants = {h: handover_tenant(client, h) for h in handovers}
    # A field worker's board: the outreach team's handover, not omsorg's.
    [row] = read_list(client, "/handover-board", FIELD_WORKER)
    assert row["handover_id"] == handovers[0]
    assert list_reads(client, FIELD_WORKER, BOARD) == [
        (tenants[handovers[0]], handovers[0], "read", 200)
    ]

    # A lead's board also shows the tenants no service is responsible for. With limit=1
    # one handover is on the page, and both tenants wait for a service: each tenant once,
    # about no single record (the one on the page is shown twice: handover and gap list).
    board = client.get(
        "/handover-board",
        params={"min_position": head_position(client), "limit": 1},
        headers=COORDINATOR,
    ).json()
    assert [h["handover_id"] for h in board["items"]] == [handovers[0]]
    waiting = {uuid.UUID(e["tenant_id"]) for e in board["without_responsible_service"]["items"]}
    assert waiting == set(tenants.values())
    assert sorted(list_reads(client, COORDINATOR, BOARD), key=str) == reads_of(waiting)

    # The next page shows the other handover, without the gap list: its tenant only.
    rest = read_list(client, "/handover-board", COORDINATOR, limit=1, cursor=board["next_cursor"])
    assert [h["handover_id"] for h in rest] == [handovers[1]]
    assert list_reads(client, COORDINATOR, BOARD)[2:] == [
        (tenants[handovers[1]], handovers[1], "read", 200)
    ]


def test_an_empty_handover_board_writes_nothing(client: TestClient) -> None:
    board = client.get("/handover-board", headers=COORDINATOR)
    assert board.status_code == 200 and board.json()["items"] == []
    assert list_reads(client, COORDINATOR, BOARD) == []


def notified(client: TestClient) -> tuple[uuid.UUID, str]:
    tenant_id = registered_tenant(client)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    [notice] = [n["notification_id"] for n in get_case(client, case_id)["nav_notices"]]
    return tenant_id, str(notice)


def test_the_nav_inbox_logs_each_tenant_shown_with_the_notification(
    client: TestClient,
) -> None:
    assert read_list(client, "/nav-inbox", NAV) == []
    assert list_reads(client, NAV, "GET /nav-inbox") == []  # an empty inbox writes nothing

    notices = dict(notified(client) for _ in range(2))
    [row] = read_list(client, "/nav-inbox", NAV, limit=1)
    tenant = uuid.UUID(row["tenant_id"])
    assert list_reads(client, NAV, "GET /nav-inbox") == [(tenant, notices[tenant], "read", 200)]
    other = next(t for t in notices if t != tenant)
    assert not [e for e in list_reads(client, NAV, "GET /nav-inbox") if e[0] == other]


def test_a_tenants_access_log_lists_the_boards_that_showed_them(client: TestClient) -> None:
    tenant_id = followed_by(client, FIELD_WORKER)
    read_list(client, "/caseload/teams/tiltaksteamet", LEAD)
    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    log = client.get("/admin/access-log", params={"tenant_id": str(tenant_id)}, headers=admin)
    assert log.status_code == 200, log.text
    board_reads = [
        (e["user_id"], e["action"], e["record_id"], e["status"])
        for e in log.json()["items"]
        if e["endpoint"] == TEAM
    ]
    assert board_reads == [(LEAD["x-folgja-user"], "read", None, 200)]


def test_a_list_is_not_answered_if_its_rows_cannot_be_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    followed_by(client, FIELD_WORKER)
    position = head_position(client)

    async def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(access_middleware, "record_accesses", broken)
    response = client.get(
        "/caseload/teams/tiltaksteamet", params={"min_position": position}, headers=LEAD
    )
    assert response.status_code == 500
    assert response.json()["type"].endswith("/access-log-unavailable")
    assert "Test Beboer" not in response.text  # no tenant's data was sent
