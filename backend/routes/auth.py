"""Sign-in, token refresh, sign-out, and devices (issue 5, part A).

Token answers carry ``Cache-Control: no-store``. Every refusal is a 401/403 problem whose
rule a client can act on (``invalid_credentials``, ``token_expired``,
``refresh_token_reused``, ``device_revoked`` with ``action: wipe``,
``offline_lease_expired`` with ``action: reauthenticate``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.auth import devices, sessions, users
from backend.auth.errors import Forbidden, invalid_credentials
from backend.auth.guards import PRINCIPAL_DEPENDENCY
from backend.auth.issuer import bearer_token
from backend.auth.roles import Principal, Role
from backend.auth.throttle import throttle_of
from backend.auth.tokens import MAX_TOKEN_LENGTH, AccessGrant, TokenPair
from backend.openapi import problem_response
from backend.runtime import Clock
from backend.settings import Settings
from domain.errors import UnknownAggregate

NO_STORE = CacheControlHeader(no_store=True)

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TOKEN_LENGTH)]


class Login(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    # Signing in on a registered tablet binds the tokens to it and renews its lease.
    device_id: UUID | None = None


class Refresh(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    refresh_token: Token


class DeviceCredential(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    device_credential: Token


class NewDevice(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class DeviceRegistered(msgspec.Struct, frozen=True, kw_only=True):
    device_id: UUID
    label: str
    registered_at: datetime
    # Shown once: the tablet keeps it in its secure store; the server has only its hash.
    device_credential: str


async def check_password(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    now: datetime,
    username: str,
    password: str,
) -> users.UserRow:
    """The one password check (the API's sign-in and the web pages'): throttled per
    username and address, one refusal for a wrong username or password."""
    throttle = throttle_of(request.app)
    # The address the server sees: behind a municipality's NAT or proxy, a whole
    # office shares it (the throttle is built for that, see backend/auth/throttle.py).
    address = request.client.host if request.client else "unknown"
    throttle.check(username, address, now)
    user = await users.verify_password(conn, username, password)
    if user is None:
        throttle.failed(username, address, now)
        raise invalid_credentials()
    throttle.succeeded(username, address)
    return user


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]
    dependencies = PRINCIPAL_DEPENDENCY

    @post(
        "/login",
        status_code=200,
        cache_control=NO_STORE,
        summary="Sign in with a password",
        responses={
            401: problem_response(
                "`invalid_credentials`: the username or the password is wrong (one answer for "
                "both); `unknown_device`, `device_revoked`: the `device_id` given."
            ),
            429: problem_response(
                "`credentials`/`too_many_attempts`: too many failed sign-ins for the username "
                "(`scope: account`) or from the address (`scope: address`); try again after "
                "`Retry-After` seconds."
            ),
        },
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Login],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> TokenPair:
        now = clock()
        async with pool.acquire() as conn:
            user = await check_password(request, conn, now, data.username, data.password)
            if data.device_id is None:
                return await sessions.issue_pair(conn, user.id, now=now)
            return await devices.sign_in_on_device(conn, user, data.device_id, now=now)

    @get("/me", summary="The signed-in caller: user, service, roles, device")
    async def me(self, principal: NamedDependency[Principal]) -> Principal:
        return principal

    @post(
        "/refresh",
        status_code=200,
        cache_control=NO_STORE,
        summary="Trade a refresh token for a new pair (the old one is spent)",
        responses={
            401: problem_response(
                "`invalid_token`, `token_expired`, `account_disabled`, `device_revoked`, "
                "`offline_lease_expired`; `refresh_token_reused`: the token was spent before, "
                "and its whole sign-in is now revoked."
            )
        },
    )
    async def refresh(
        self,
        data: JSONBody[Refresh],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
    ) -> TokenPair:
        async with pool.acquire() as conn:
            return await sessions.refresh(
                conn,
                data.refresh_token,
                now=clock(),
                lease_days=settings.offline_lease_days,
            )

    @post(
        "/logout",
        status_code=204,
        summary="Sign out: revoke this sign-in's access and refresh tokens",
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> None:
        token = bearer_token(request.headers)
        if token is None:
            return
        async with pool.acquire() as conn:
            await sessions.revoke_token_family(conn, token, clock())

    @post(
        "/device-token",
        status_code=200,
        cache_control=NO_STORE,
        summary="Trade a device credential for an access token bound to the device",
        responses={
            401: problem_response(
                "`invalid_token`, `account_disabled`; `device_revoked` (with `action: wipe`), "
                "`offline_lease_expired` (with `action: reauthenticate`)."
            )
        },
    )
    async def device_token(
        self,
        data: JSONBody[DeviceCredential],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        settings: NamedDependency[Settings],
    ) -> AccessGrant:
        async with pool.acquire() as conn:
            return await devices.exchange_device_credential(
                conn,
                data.device_credential,
                now=clock(),
                lease_days=settings.offline_lease_days,
            )


class DeviceController(Controller):
    path = "/devices"
    tags = ["auth"]
    dependencies = PRINCIPAL_DEPENDENCY

    @post(
        "/",
        cache_control=NO_STORE,
        summary="Register a tablet for the signed-in field worker; answers its credential once",
    )
    async def register(
        self,
        data: JSONBody[NewDevice],
        principal: NamedDependency[Principal],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> DeviceRegistered:
        async with pool.acquire() as conn:
            device, credential = await devices.register_device(
                conn, principal.user_id, data.label, now=clock()
            )
        return DeviceRegistered(
            device_id=device.id,
            label=device.label,
            registered_at=device.registered_at,
            device_credential=credential,
        )

    @post(
        "/{device_id:uuid}/revocation",
        summary="Revoke a device: its next call is refused and told to wipe",
        responses={
            403: problem_response(
                "`role_required`: this needs one of the roles admin, team_lead; "
                "`same_service`: a team lead revokes only the devices of their own service."
            )
        },
    )
    async def revoke(
        self,
        device_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> devices.DeviceRow:
        async with pool.acquire() as conn:
            return await revoke_for(conn, principal, device_id, clock())


async def revoke_for(
    conn: asyncpg.Connection, principal: Principal, device_id: UUID, now: datetime
) -> devices.DeviceRow:
    """Revoke a device for an admin, or for a team lead of the device user's service (the
    API's revocation and the web page's)."""
    device = await devices.device_by_id(conn, device_id)
    if device is None:
        raise UnknownAggregate("device_id", "must_exist", f"no device with id {device_id}")
    if not principal.has_any(Role.ADMIN):
        owner = await users.user_by_id(conn, device.user_id)
        if owner is None or owner.service is not principal.service:
            raise Forbidden(
                "same_service",
                "a team lead revokes only the devices of their own service",
                field="device_id",
            )
    return await devices.revoke_device(conn, device_id, by=principal.user_id, now=now)
