"""The access log: appended per read or change, queried per tenant and per user, never altered."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from litestar.testing import TestClient

from backend.auth import access_log
from backend.auth.access_log import AccessAction
from backend.auth.roles import Principal, Role
from backend.database import DatabaseUrl
from domain.services import Service
from tests.api import assert_problem
from tests.auth_api import in_app, signed_in

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
