"""Helpers for the sign-in tests: users made straight in the store, tokens over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from litestar.testing import TestClient

from backend.auth import users
from backend.auth.roles import Role
from domain.municipal_services import Service

T = TypeVar("T")

PASSWORD = "korrekt hest batteri stift"


def in_app(client: TestClient, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(conn)`` on the app's own pool, in the app's event loop."""

    async def go() -> T:
        async with client.app.state.runtime.pool.acquire() as conn:
            return await work(conn)

    return client.blocking_portal.call(go)


def make_user(
    client: TestClient,
    username: str,
    *roles: Role,
    service: Service = Service.OUTREACH_TEAM,
    password: str = PASSWORD,
) -> uuid.UUID:
    now = client.app.state.runtime.clock()
    user = in_app(
        client,
        lambda conn: users.create_user(
            conn,
            username=username,
            display_name=username.title(),
            service=service,
            roles=roles or (Role.FIELD_WORKER,),
            password=password,
            now=now,
        ),
    )
    return user.id


def login(
    client: TestClient,
    username: str,
    password: str = PASSWORD,
    device_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"username": username, "password": password}
    if device_id is not None:
        body["device_id"] = str(device_id)
    response = client.post("/auth/login", json=body)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def signed_in(client: TestClient, username: str, *roles: Role, **kw: Any) -> dict[str, str]:
    """A new user's bearer header."""
    make_user(client, username, *roles, **kw)
    return bearer(login(client, username)["access_token"])


def me(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/auth/me", headers=headers)
