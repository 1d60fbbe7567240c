"""Tablets: registration, the device credential, revocation (wipe) and the offline lease."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import TestClient

from backend.auth import devices, sessions
from backend.auth.roles import Role
from backend.scheduler import purge_expired_tokens
from domain.municipal_services import Service
from tests.api import assert_problem
from tests.auth_api import bearer, in_app, login, make_user, me, signed_in


def register(client: TestClient, headers: dict[str, str], label: str = "Nettbrett 1") -> Any:
    response = client.post("/devices", json={"label": label}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def device_token(client: TestClient, credential: str) -> Any:
    return client.post("/auth/device-token", json={"device_credential": credential})


def test_a_field_worker_registers_a_tablet_and_it_signs_in_with_its_credential(
    client: TestClient,
) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    assert device["device_credential"].startswith("fgd_")
    response = device_token(client, device["device_credential"])
    assert response.status_code == 200, response.text
    grant = response.json()
    assert grant["device_id"] == device["device_id"] and grant["expires_in"] == 900
    who = me(client, bearer(grant["access_token"])).json()
    assert who["device_id"] == device["device_id"]
    assert who["signed_in_with"] == "device_credential" and who["username"] == "kari"
    # The credential itself is not a bearer token.
    assert_problem(
        me(client, bearer(device["device_credential"])), 401, "authorization", "invalid_token"
    )
    assert_problem(device_token(client, "fgd_forged"), 401, "device_credential", "invalid_token")


def test_only_a_field_worker_signed_in_with_a_password_registers_a_device(
    client: TestClient,
) -> None:
    nav = signed_in(client, "ola", Role.NAV_OFFICER, service=Service.NAV)
    response = client.post("/devices", json={"label": "x"}, headers=nav)
    assert_problem(response, 403, "authorization", "role_required")
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    credential = register(client, worker)["device_credential"]
    on_device = bearer(device_token(client, credential).json()["access_token"])
    # A stolen tablet cannot mint itself a fresh device that outlives a revocation.
    response = client.post("/devices", json={"label": "copy"}, headers=on_device)
    assert_problem(response, 403, "authorization", "password_sign_in_required")
    count = in_app(client, lambda c: c.fetchval("SELECT count(*) FROM devices"))
    assert count == 1


def test_a_revoked_device_is_refused_and_told_to_wipe(client: TestClient) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    on_device = bearer(device_token(client, device["device_credential"]).json()["access_token"])
    lead = signed_in(client, "lise", Role.TEAM_LEAD)

    response = client.post(f"/devices/{device['device_id']}/revocation", headers=lead)
    assert response.status_code == 201, response.text
    revoked = response.json()
    assert revoked["revoked_at"] and revoked["revoked_by"] == me(client, lead).json()["user_id"]

    for answer in (
        me(client, on_device),
        device_token(client, device["device_credential"]),
        client.post(
            "/auth/login",
            json={
                "username": "kari",
                "password": "korrekt hest batteri stift",
                "device_id": device["device_id"],
            },
        ),
    ):
        body = assert_problem(answer, 401, "device", "device_revoked")
        assert body["errors"][0]["action"] == "wipe"
        assert answer.headers["folgja-device-action"] == "wipe"
    # The worker's own password sign-in elsewhere still works.
    assert me(client, worker).status_code == 200
    # Revoking again keeps the first revocation.
    again = client.post(f"/devices/{device['device_id']}/revocation", headers=lead).json()
    assert again["revoked_at"] == revoked["revoked_at"]


def test_who_may_revoke_a_device(client: TestClient) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device_id = register(client, worker)["device_id"]
    path = f"/devices/{device_id}/revocation"
    assert_problem(client.post(path, headers=worker), 403, "authorization", "role_required")
    other_lead = signed_in(client, "fbe-leder", Role.TEAM_LEAD, service=Service.PROPERTY_MANAGER)
    assert_problem(client.post(path, headers=other_lead), 403, "device_id", "same_service")
    assert_problem(client.post(path), 401, "authorization", "authentication_required")
    admin = signed_in(client, "root", Role.ADMIN, service=Service.ADMIN)
    assert_problem(
        client.post(f"/devices/{uuid.uuid4()}/revocation", headers=admin),
        404,
        "device_id",
        "must_exist",
    )
    assert client.post(path, headers=admin).status_code == 201


def test_the_offline_lease_runs_out_until_the_worker_signs_in_again(
    client: TestClient, clock: Any
) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    credential = device["device_credential"]
    clock.advance(days=14)
    assert device_token(client, credential).status_code == 200
    on_device = bearer(device_token(client, credential).json()["access_token"])
    clock.advance(minutes=1)

    for answer in (device_token(client, credential), me(client, on_device)):
        body = assert_problem(answer, 401, "device", "offline_lease_expired")
        assert body["errors"][0]["action"] == "reauthenticate"
        assert answer.headers["folgja-device-action"] == "reauthenticate"

    # Signing in with the password on the device renews the lease.
    tokens = login(client, "kari", device_id=uuid.UUID(device["device_id"]))
    assert me(client, bearer(tokens["access_token"])).json()["device_id"] == device["device_id"]
    assert device_token(client, credential).status_code == 200


def test_a_sync_renews_the_lease(client: TestClient, clock: Any) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    device_id = uuid.UUID(device["device_id"])
    clock.advance(days=10)
    now = clock.now
    in_app(client, lambda c: devices.touch_last_synced(c, device_id, now))
    clock.advance(days=10)
    assert device_token(client, device["device_credential"]).status_code == 200


def test_signing_in_on_a_device_that_is_not_yours_is_refused(client: TestClient) -> None:
    kari = signed_in(client, "kari", Role.FIELD_WORKER)
    device_id = register(client, kari)["device_id"]
    make_user(client, "per", Role.FIELD_WORKER)
    response = client.post(
        "/auth/login",
        json={"username": "per", "password": "korrekt hest batteri stift", "device_id": device_id},
    )
    assert_problem(response, 401, "device_id", "unknown_device")


def test_the_lease_length_is_a_setting() -> None:
    synced = datetime(2026, 3, 1, tzinfo=UTC)
    assert not sessions.lease_expired(synced, synced + timedelta(days=14), 14)
    assert sessions.lease_expired(synced, synced + timedelta(days=14, seconds=1), 14)
    assert sessions.lease_expired(synced, synced + timedelta(days=3, seconds=1), 3)


def purge(client: TestClient) -> int:
    purged: int = client.blocking_portal.call(purge_expired_tokens, client.app.state.runtime)
    return purged


def assert_told_to_wipe(answer: Any) -> None:
    body = assert_problem(answer, 401, "device", "device_revoked")
    assert body["errors"][0]["action"] == "wipe"
    assert answer.headers["folgja-device-action"] == "wipe"


def test_a_revoked_tablet_offline_for_a_week_is_still_told_to_wipe(
    client: TestClient, clock: Any
) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    device_id = uuid.UUID(device["device_id"])
    # The tablet's last contact: a password sign-in on it and a credential exchange.
    signed_in_on_it = login(client, "kari", device_id=device_id)
    exchanged = device_token(client, device["device_credential"]).json()

    clock.advance(days=3)  # offline; the team lead revokes it meanwhile
    lead = signed_in(client, "lise", Role.TEAM_LEAD)
    assert client.post(f"/devices/{device_id}/revocation", headers=lead).status_code == 201
    clock.advance(days=4)
    # The scheduler purges what expired over a day ago (kari's and lise's browser
    # tokens), not the tablet's latest tokens.
    assert purge(client) == 4
    kept = in_app(
        client,
        lambda c: c.fetchval("SELECT count(*) FROM auth_tokens WHERE device_id = $1", device_id),
    )
    assert kept == 4  # credential, the sign-in's pair, the exchanged access token

    # A week later the tablet comes back with whatever it holds: told to wipe every time.
    assert_told_to_wipe(me(client, bearer(signed_in_on_it["access_token"])))
    assert_told_to_wipe(me(client, bearer(exchanged["access_token"])))
    assert_told_to_wipe(
        client.post("/auth/refresh", json={"refresh_token": signed_in_on_it["refresh_token"]})
    )
    assert_told_to_wipe(device_token(client, device["device_credential"]))
    assert_told_to_wipe(me(client, bearer(device["device_credential"])))


def test_a_devices_older_tokens_are_still_purged(client: TestClient, clock: Any) -> None:
    worker = signed_in(client, "kari", Role.FIELD_WORKER)
    device = register(client, worker)
    first = device_token(client, device["device_credential"]).json()["access_token"]
    clock.advance(days=2)
    latest = device_token(client, device["device_credential"]).json()["access_token"]
    clock.advance(days=2)
    # kari's browser pair and the device's first access token (issued two days before
    # its newest) go; the newest stays, and so does the credential.
    assert purge(client) == 3
    assert_problem(me(client, bearer(first)), 401, "authorization", "invalid_token")
    assert_problem(me(client, bearer(latest)), 401, "authorization", "token_expired")
    assert device_token(client, device["device_credential"]).status_code == 200
