"""Sign-in with opaque tokens: passwords, expiry, tampering, refresh rotation, roles."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from typing import Any

import psycopg
from litestar.testing import TestClient

from backend.auth import users
from backend.auth.demo_users import DEMO_USERS, ensure_demo_users, issue_demo_tokens
from backend.auth.passwords import hash_password, needs_rehash, verify_password
from backend.auth.roles import Role
from backend.auth.tokens import token_hash
from backend.database import DatabaseUrl
from backend.demo import FIELD_WORKER, NAV_OFFICER, PROPERTY_MANAGER, TEAM_LEAD
from backend.scheduler import purge_expired_tokens
from domain.municipal_services import Service
from tests.api import assert_problem
from tests.auth_api import PASSWORD, bearer, in_app, login, make_user, me, signed_in


def test_password_hashes_are_salted_scrypt_and_verify() -> None:
    first, second = hash_password("et langt passord"), hash_password("et langt passord")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert verify_password("et langt passord", first)
    assert not verify_password("et langt passorD", first)
    assert not verify_password("et langt passord", None)
    assert not verify_password("et langt passord", "garbage")
    assert not needs_rehash(first) and needs_rehash("scrypt$16384$8$1$x$y")


def test_sign_in_gives_working_tokens(client: TestClient) -> None:
    user_id = make_user(client, "kari", Role.FIELD_WORKER)
    tokens = login(client, "kari")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 15 * 60 and tokens["refresh_expires_in"] == 12 * 3600
    response = me(client, bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user_id": str(user_id),
        "username": "kari",
        "service": "tiltaksteamet",
        "roles": ["field_worker"],
        "device_id": None,
        "token_kind": "access",
        "signed_in_with": "password",
    }
    # Tokens are stored only as hashes.
    stored = in_app(client, lambda c: c.fetch("SELECT token_hash FROM auth_tokens"))
    assert tokens["access_token"].encode() not in {bytes(r["token_hash"]) for r in stored}


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client: TestClient) -> None:
    make_user(client, "kari")
    answers = []
    for username, password in (("kari", "not the password!"), ("nobody", PASSWORD)):
        response = client.post("/auth/login", json={"username": username, "password": password})
        body = assert_problem(response, 401, "credentials", "invalid_credentials")
        answers.append(body)
    assert answers[0] == answers[1]
    assert "password" not in answers[0]["detail"].split(":")[0]


def test_a_disabled_user_cannot_sign_in_and_its_tokens_stop_working(client: TestClient) -> None:
    user_id = make_user(client, "kari")
    headers = bearer(login(client, "kari")["access_token"])
    in_app(client, lambda c: c.execute("UPDATE users SET active = false WHERE id = $1", user_id))
    response = client.post("/auth/login", json={"username": "kari", "password": PASSWORD})
    assert_problem(response, 401, "credentials", "invalid_credentials")
    assert_problem(me(client, headers), 401, "authorization", "account_disabled")


def test_an_access_token_expires_after_15_minutes(client: TestClient, clock: Any) -> None:
    headers = signed_in(client, "kari")
    clock.advance(minutes=14, seconds=59)
    assert me(client, headers).status_code == 200
    clock.advance(seconds=1)
    response = me(client, headers)
    assert_problem(response, 401, "authorization", "token_expired")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_tampered_missing_or_wrong_kind_of_token_is_refused(client: TestClient) -> None:
    make_user(client, "kari")
    tokens = login(client, "kari")
    access = tokens["access_token"]
    tampered = access[:-1] + ("A" if access[-1] != "A" else "B")
    assert_problem(me(client, bearer(tampered)), 401, "authorization", "invalid_token")
    assert_problem(me(client, bearer("x" * 5000)), 401, "authorization", "invalid_token")
    assert_problem(me(client, {}), 401, "authorization", "authentication_required")
    assert_problem(
        me(client, {"authorization": f"Basic {access}"}),
        401,
        "authorization",
        "authentication_required",
    )
    assert_problem(me(client, {"authorization": "Bearer "}), 401, "authorization", "invalid_token")
    # A refresh token is not a bearer credential.
    assert_problem(
        me(client, bearer(tokens["refresh_token"])), 401, "authorization", "invalid_token"
    )


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_sign_in(
    client: TestClient, clock: Any
) -> None:
    make_user(client, "kari")
    first = login(client, "kari")
    clock.advance(minutes=10)
    response = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    # Rotation does not extend the sign-in: it still ends 12 hours after the password.
    assert second["refresh_expires_in"] == 12 * 3600 - 10 * 60
    assert me(client, bearer(second["access_token"])).status_code == 200

    # The first refresh token is spent; presenting it again looks like theft.
    reuse = client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401, "refresh_token", "refresh_token_reused")
    # ... so everything of that sign-in is revoked, including the newest pair.
    assert_problem(
        me(client, bearer(second["access_token"])), 401, "authorization", "token_revoked"
    )
    again = client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(again, 401, "refresh_token", "refresh_token_reused")


def test_a_reuse_revokes_only_that_sign_in(client: TestClient) -> None:
    make_user(client, "kari")
    browser, other = login(client, "kari"), login(client, "kari")
    rotated = client.post("/auth/refresh", json={"refresh_token": browser["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()
    reuse = client.post("/auth/refresh", json={"refresh_token": browser["refresh_token"]})
    assert_problem(reuse, 401, "refresh_token", "refresh_token_reused")

    # The browser's sign-in is revoked whole: the first access token, and the pair the
    # rotation handed out.
    for access in (browser["access_token"], newest["access_token"]):
        assert_problem(me(client, bearer(access)), 401, "authorization", "token_revoked")
    spent = client.post("/auth/refresh", json={"refresh_token": newest["refresh_token"]})
    assert_problem(spent, 401, "refresh_token", "refresh_token_reused")
    assert family_states(client, browser["access_token"]) == {"revoked": 4}

    # The other sign-in of the same user is untouched: it calls, and it refreshes.
    assert me(client, bearer(other["access_token"])).status_code == 200
    assert family_states(client, other["access_token"]) == {"live": 2}
    renewed = client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    assert me(client, bearer(renewed.json()["access_token"])).status_code == 200


def family_states(client: TestClient, token: str) -> dict[str, int]:
    """How many tokens of ``token``'s sign-in are live and how many revoked."""
    rows = in_app(
        client,
        lambda c: c.fetch(
            """
            SELECT CASE WHEN revoked_at IS NULL THEN 'live' ELSE 'revoked' END AS state,
                   count(*) AS n
            FROM auth_tokens
            WHERE family_id = (SELECT family_id FROM auth_tokens WHERE token_hash = $1)
            GROUP BY 1
            """,
            token_hash(token),
        ),
    )
    return {r["state"]: r["n"] for r in rows}


def test_two_concurrent_refreshes_with_one_token_count_as_reuse(
    client: TestClient, database: DatabaseUrl
) -> None:
    """Both requests are inside the refresh at once: each has read the token as unspent.

    A row lock taken here holds both at the point where they spend the token (they are
    seen waiting on it in pg_stat_activity); releasing it lets them race. docs/access.md:
    one gets the new pair, the other 401 refresh_token_reused, and the sign-in is revoked
    whole, the pair just handed out included.
    """
    make_user(client, "kari")
    tokens, other = login(client, "kari"), login(client, "kari")
    body = {"refresh_token": tokens["refresh_token"]}
    answers: list[Any] = []

    def refresh() -> None:
        answers.append(client.post("/auth/refresh", json=body))

    with psycopg.connect(database.url) as holder:
        holder.execute(
            "SELECT 1 FROM auth_tokens WHERE token_hash = %s FOR UPDATE",
            (token_hash(tokens["refresh_token"]),),
        )
        racers = [threading.Thread(target=refresh) for _ in range(2)]
        for racer in racers:
            racer.start()
        wait_until_blocked(holder, "UPDATE auth_tokens SET revoked_at", count=2)
        holder.rollback()  # let both go
    for racer in racers:
        racer.join()

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 401], [a.text for a in answers]
    won = next(a for a in answers if a.status_code == 200).json()
    lost = next(a for a in answers if a.status_code == 401)
    assert_problem(lost, 401, "refresh_token", "refresh_token_reused")
    # The winner's pair is revoked with the rest of the sign-in.
    assert_problem(me(client, bearer(won["access_token"])), 401, "authorization", "token_revoked")
    again = client.post("/auth/refresh", json={"refresh_token": won["refresh_token"]})
    assert_problem(again, 401, "refresh_token", "refresh_token_reused")
    assert family_states(client, tokens["access_token"]) == {"revoked": 4}
    # Another sign-in of the same user is not affected.
    assert me(client, bearer(other["access_token"])).status_code == 200


def wait_until_blocked(conn: psycopg.Connection, statement: str, *, count: int) -> None:
    """Until ``count`` other sessions wait on a lock in a statement starting ``statement``."""
    watcher = psycopg.connect(conn.info.dsn, autocommit=True)
    with watcher:
        for _ in range(6000):  # a safety net against a hang, not a timing assertion
            waiting = watcher.execute(
                """
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                  AND query LIKE %s
                """,
                (statement + "%",),
            ).fetchone()
            if waiting is not None and waiting[0] >= count:
                return
            time.sleep(0.01)
    raise AssertionError(f"{count} sessions never waited on the lock")


def test_a_refresh_token_expires_after_12_hours(client: TestClient, clock: Any) -> None:
    make_user(client, "kari")
    tokens = login(client, "kari")
    clock.advance(hours=12, seconds=1)
    response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(response, 401, "refresh_token", "token_expired")
    bogus = client.post("/auth/refresh", json={"refresh_token": "fgr_nope"})
    assert_problem(bogus, 401, "refresh_token", "invalid_token")


def test_sign_out_revokes_the_access_and_refresh_token(client: TestClient) -> None:
    make_user(client, "kari")
    tokens = login(client, "kari")
    headers = bearer(tokens["access_token"])
    assert client.post("/auth/logout", headers=headers).status_code == 204
    assert_problem(me(client, headers), 401, "authorization", "token_revoked")
    response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401


def test_admin_endpoints_need_the_admin_role(client: TestClient) -> None:
    worker = signed_in(client, "kari", Role.TEAM_LEAD, Role.FIELD_WORKER)
    assert me(client, worker).json()["roles"] == ["field_worker", "team_lead"]
    assert_problem(
        client.get("/admin/users", headers=worker), 403, "authorization", "role_required"
    )
    assert_problem(client.get("/admin/users"), 401, "authorization", "authentication_required")
    # A role named in a body grants nothing: only an admin creates users.
    escalate = {
        "username": "kari2",
        "display_name": "Kari",
        "service": "admin",
        "roles": ["admin"],
        "password": PASSWORD,
    }
    response = client.post("/admin/users", json=escalate, headers=worker)
    assert_problem(response, 403, "authorization", "role_required")
    users = in_app(client, lambda c: c.fetchval("SELECT count(*) FROM users"))
    assert users == 1


def test_an_admin_creates_and_lists_users(client: TestClient) -> None:
    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    body = {
        "username": "ola.nav",
        "display_name": "Ola NAV",
        "service": "nav",
        "roles": ["nav_officer"],
        "password": "et passord som er langt",
    }
    response = client.post("/admin/users", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["roles"] == ["nav_officer"]
    assert "password" not in response.text and "scrypt" not in response.text
    assert_problem(
        client.post("/admin/users", json=body, headers=admin), 409, "username", "unique_username"
    )
    weak = client.post(
        "/admin/users", json={**body, "username": "x1", "password": "kort"}, headers=admin
    )
    assert_problem(weak, 422, "password", "length")
    bad_role = client.post(
        "/admin/users", json={**body, "username": "x2", "roles": ["god"]}, headers=admin
    )
    assert_problem(bad_role, 422, "roles[0]", "allowed_values")
    assert login(client, "ola.nav", "et passord som er langt")["access_token"]

    first = client.get("/admin/users", params={"limit": 1}, headers=admin).json()
    assert [u["username"] for u in first["items"]] == ["ola.nav"]
    second = client.get(
        "/admin/users", params={"limit": 1, "cursor": first["next_cursor"]}, headers=admin
    ).json()
    assert [u["username"] for u in second["items"]] == ["root"] and second["next_cursor"] is None


def test_demo_users_match_the_demo_actors_and_their_tokens_work(client: TestClient) -> None:
    credentials = in_app(client, ensure_demo_users)
    assert set(credentials) == set(Role)
    ids = {u.role: u.user_id for u in DEMO_USERS}
    assert ids[Role.FIELD_WORKER] == FIELD_WORKER.user_id
    assert ids[Role.TEAM_LEAD] == TEAM_LEAD.user_id
    assert ids[Role.PROPERTY_MANAGER] == PROPERTY_MANAGER.user_id
    assert ids[Role.NAV_OFFICER] == NAV_OFFICER.user_id
    username, password = credentials[Role.NAV_OFFICER]
    assert (
        me(client, bearer(login(client, username, password)["access_token"])).json()["service"]
        == "nav"
    )
    # Running again resets the passwords; the old one stops working.
    again = in_app(client, ensure_demo_users)
    assert again[Role.NAV_OFFICER][1] != password
    stale = client.post("/auth/login", json={"username": username, "password": password})
    assert stale.status_code == 401

    tokens = in_app(client, lambda c: issue_demo_tokens(c, client.app.state.runtime.clock()))
    for role, token in tokens.items():
        answer = me(client, bearer(token)).json()
        assert answer["roles"] == [role.value] and answer["user_id"] == str(ids[role])


def test_unknown_roles_stored_in_the_database_grant_nothing() -> None:
    assert users.known_roles(["admin", "superuser", "field_worker"]) == [
        Role.FIELD_WORKER,
        Role.ADMIN,
    ]


def test_a_hash_with_older_parameters_still_signs_in_and_is_raised(client: TestClient) -> None:
    user_id = make_user(client, "kari")
    salt = b"0123456789abcdef"
    key = hashlib.scrypt(b"kort", salt=salt, n=2**10, r=8, p=1, dklen=32)
    old = f"scrypt$1024$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    in_app(
        client,
        lambda c: c.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, old),
    )
    assert login(client, "kari", "kort")["access_token"]
    stored = in_app(client, lambda c: c.fetchval("SELECT password_hash FROM users"))
    assert stored.startswith("scrypt$32768$") and verify_password("kort", stored)


def test_refreshing_never_extends_a_sign_in_beyond_12_hours(client: TestClient, clock: Any) -> None:
    make_user(client, "kari")
    tokens = login(client, "kari")
    for _ in range(3):
        clock.advance(hours=3, minutes=59)
        response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert response.status_code == 200, response.text
        tokens = response.json()
    # 11h57m after sign-in: the new access token lives only until the sign-in ends.
    assert tokens["expires_in"] == 3 * 60 and tokens["refresh_expires_in"] == 3 * 60
    clock.advance(minutes=3)
    assert_problem(
        me(client, bearer(tokens["access_token"])), 401, "authorization", "token_expired"
    )
    response = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(response, 401, "refresh_token", "token_expired")


def test_the_scheduler_purges_tokens_a_day_after_they_expired(client, clock) -> None:
    make_user(client, "kari")
    old = login(client, "kari")  # access 15 min; refresh until the sign-in ends (12 h)
    clock.advance(hours=12, minutes=30)
    login(client, "kari")  # a later sign-in, whose tokens stay
    runtime = client.app.state.runtime

    assert client.blocking_portal.call(purge_expired_tokens, runtime) == 0  # not a day yet
    clock.advance(days=1)
    assert client.blocking_portal.call(purge_expired_tokens, runtime) == 2  # old's pair
    left = in_app(client, lambda conn: conn.fetchval("SELECT count(*) FROM auth_tokens"))
    assert left == 2  # fresh's pair: expired less than a day ago, kept for now
    # An expired token is refused with or without its row: now simply unknown.
    response = client.get("/auth/me", headers=bearer(old["access_token"]))
    assert_problem(response, 401, "authorization", "invalid_token")
