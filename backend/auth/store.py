"""Users, devices and tokens in PostgreSQL (asyncpg).

Every function takes ``now`` from the caller (the runtime's clock), never reads the time
itself, so expiry and the offline lease are testable. Refusals raise
:class:`~backend.auth.errors.AuthRefused` (401) with a rule a client can act on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import anyio.to_thread
import asyncpg
import msgspec

from backend.auth import passwords
from backend.auth.errors import AuthRefused, device_revoked, offline_lease_expired
from backend.auth.roles import Principal, Role, SignIn, TokenKind
from backend.auth.tokens import (
    ACCESS_TTL,
    MAX_TOKEN_LENGTH,
    REFRESH_TTL,
    AccessGrant,
    TokenPair,
    new_token,
    token_hash,
)
from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.services import Service
from projections.pagination import Page, decode_cursor, page_of

MIN_PASSWORD_LENGTH = 12


# --- users ------------------------------------------------------------------------------


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """A user as admins see it (never the password hash)."""

    id: UUID
    username: str
    display_name: str
    service: Service
    roles: list[Role]
    active: bool
    created_at: datetime


def known_roles(names: Iterable[str]) -> list[Role]:
    """The roles among ``names`` that this version knows (a stray name grants nothing)."""
    valid = {r.value for r in Role}
    return sorted((Role(n) for n in set(names) if n in valid), key=list(Role).index)


def _user(row: asyncpg.Record) -> UserRow:
    return UserRow(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        service=Service(row["service"]),
        roles=known_roles(row["roles"]),
        active=row["active"],
        created_at=row["created_at"],
    )


_USER_COLUMNS = "id, username, display_name, service, roles, active, created_at"


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(
            "password", "length", f"a password has at least {MIN_PASSWORD_LENGTH} characters"
        )


async def hash_password(password: str) -> str:
    """scrypt off the event loop (it takes ~0.1 s of CPU by design)."""
    return await anyio.to_thread.run_sync(passwords.hash_password, password)


async def create_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    service: Service,
    roles: Sequence[Role],
    password: str | None,
    now: datetime,
    user_id: UUID | None = None,
) -> UserRow:
    """A new user; ``password`` None for one who signs in through an external provider."""
    password_hash = None
    if password is not None:
        check_password_strength(password)
        password_hash = await hash_password(password)
    try:
        row = await conn.fetchrow(
            f"""
            INSERT INTO users (id, username, display_name, service, roles, password_hash,
                               active, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, true, $7)
            RETURNING {_USER_COLUMNS}
            """,
            user_id or uuid.uuid4(),
            username,
            display_name,
            service.value,
            [r.value for r in dict.fromkeys(roles)],
            password_hash,
            now,
        )
    except asyncpg.UniqueViolationError as exc:
        field = "username" if "username" in (exc.constraint_name or "") else "user_id"
        raise IllegalStateChange(field, f"unique_{field}", f"{field} is taken") from None
    assert row is not None
    return _user(row)


async def user_by_id(conn: asyncpg.Connection, user_id: UUID) -> UserRow | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


async def verify_password(conn: asyncpg.Connection, username: str, password: str) -> UserRow | None:
    """The active user with this username and password, else None (same time either way)."""
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = $1", username
    )
    stored = row["password_hash"] if row is not None else None
    ok = await anyio.to_thread.run_sync(passwords.verify_password, password, stored)
    if not ok or row is None or not row["active"]:
        return None
    if passwords.needs_rehash(stored or ""):
        # Raise the hash to today's parameters (no strength check: the password is in use).
        await conn.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            row["id"],
            await hash_password(password),
        )
    return _user(row)


async def list_users(
    conn: asyncpg.Connection, *, cursor: str | None = None, limit: int = 50
) -> Page[UserRow]:
    after = decode_cursor(cursor, (str,))
    rows = await conn.fetch(
        f"""
        SELECT {_USER_COLUMNS} FROM users
        WHERE $1::text IS NULL OR username > $1
        ORDER BY username LIMIT $2
        """,
        after[0] if after else None,
        limit + 1,
    )
    return page_of([_user(r) for r in rows], limit, lambda u: (u.username,))


# --- tokens -----------------------------------------------------------------------------


async def _insert_token(
    conn: asyncpg.Connection,
    kind: TokenKind,
    *,
    user_id: UUID,
    device_id: UUID | None,
    family_id: UUID,
    signed_in_with: SignIn,
    now: datetime,
    ttl: timedelta | None,
) -> str:
    token = new_token(kind)
    await conn.execute(
        """
        INSERT INTO auth_tokens (token_hash, kind, user_id, device_id, family_id,
                                 signed_in_with, issued_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        token_hash(token),
        kind.value,
        user_id,
        device_id,
        family_id,
        signed_in_with.value,
        now,
        now + ttl if ttl is not None else None,
    )
    return token


async def issue_pair(
    conn: asyncpg.Connection,
    user_id: UUID,
    *,
    now: datetime,
    device_id: UUID | None = None,
    family_id: UUID | None = None,
    signed_in_with: SignIn = SignIn.PASSWORD,
    ends_at: datetime | None = None,
) -> TokenPair:
    """An access and a refresh token; a new sign-in (family) unless ``family_id`` is given.

    ``ends_at`` is when the sign-in ends (a new one ends ``REFRESH_TTL`` from now):
    rotation never extends it, so a worker signs in again at least every 12 hours, and
    no token of a family outlives its end.
    """
    family = family_id or uuid.uuid4()
    end = ends_at or now + REFRESH_TTL
    access_ttl = min(ACCESS_TTL, end - now)
    common: dict[str, Any] = {
        "user_id": user_id,
        "device_id": device_id,
        "family_id": family,
        "signed_in_with": signed_in_with,
        "now": now,
    }
    async with conn.transaction():
        access = await _insert_token(conn, TokenKind.ACCESS, ttl=access_ttl, **common)
        refresh = await _insert_token(conn, TokenKind.REFRESH, ttl=end - now, **common)
    return TokenPair(
        access_token=access,
        refresh_token=refresh,
        expires_in=int(access_ttl.total_seconds()),
        refresh_expires_in=int((end - now).total_seconds()),
    )


async def issue_access(
    conn: asyncpg.Connection,
    user_id: UUID,
    *,
    now: datetime,
    device_id: UUID | None = None,
    signed_in_with: SignIn = SignIn.PASSWORD,
    ttl: timedelta = ACCESS_TTL,
) -> str:
    """One access token in a new family (device exchange, demo tokens)."""
    return await _insert_token(
        conn,
        TokenKind.ACCESS,
        user_id=user_id,
        device_id=device_id,
        family_id=uuid.uuid4(),
        signed_in_with=signed_in_with,
        now=now,
        ttl=ttl,
    )


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored token joined with its user and device: all one request needs to know."""

    kind: TokenKind
    user_id: UUID
    device_id: UUID | None
    family_id: UUID
    signed_in_with: SignIn
    expires_at: datetime | None
    revoked_at: datetime | None
    username: str
    service: Service
    roles: list[Role]
    active: bool
    device_revoked_at: datetime | None
    device_last_synced_at: datetime | None

    def principal(self) -> Principal:
        return Principal(
            user_id=self.user_id,
            username=self.username,
            service=self.service,
            roles=tuple(self.roles),
            device_id=self.device_id,
            token_kind=self.kind,
            signed_in_with=self.signed_in_with,
        )


async def lookup_token(conn: asyncpg.Connection, token: str) -> TokenRecord | None:
    """The record behind ``token`` (one primary-key lookup), or None if it is not ours."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = await conn.fetchrow(
        """
        SELECT t.kind, t.user_id, t.device_id, t.family_id, t.signed_in_with, t.expires_at,
               t.revoked_at, u.username, u.service, u.roles, u.active,
               d.revoked_at AS device_revoked_at, d.last_synced_at AS device_last_synced_at
        FROM auth_tokens t
        JOIN users u ON u.id = t.user_id
        LEFT JOIN devices d ON d.id = t.device_id
        WHERE t.token_hash = $1
        """,
        token_hash(token),
    )
    if row is None:
        return None
    return TokenRecord(
        **{
            k: v
            for k, v in dict(row).items()
            if k not in ("kind", "roles", "service", "signed_in_with")
        },
        kind=TokenKind(row["kind"]),
        signed_in_with=SignIn(row["signed_in_with"]),
        service=Service(row["service"]),
        roles=known_roles(row["roles"]),
    )


def lease_expired(last_synced_at: datetime | None, now: datetime, lease_days: int) -> bool:
    return last_synced_at is not None and now - last_synced_at > timedelta(days=lease_days)


def check_token(
    record: TokenRecord | None,
    kind: TokenKind,
    *,
    now: datetime,
    lease_days: int,
    field: str = "authorization",
) -> TokenRecord:
    """``record`` if it is a live token of ``kind``; else the refusal a client can act on.

    A revoked device is told to wipe before anything else, even with an expired or
    revoked token, or one of another kind than asked for (its credential sent as a
    bearer token): the token proves it is that device, and wiping is what matters. (The
    purge keeps a device's latest tokens for this, see :func:`purge_expired_tokens`.)
    Revocation is checked before expiry, so :func:`refresh` recognises the reuse of a
    spent refresh token by the rule ``token_revoked`` even after it expired.
    """
    if record is None:
        raise AuthRefused("invalid_token", "the token is not valid", field=field)
    if record.device_revoked_at is not None:
        raise device_revoked()
    if record.kind is not kind:
        raise AuthRefused("invalid_token", "the token is not valid", field=field)
    if record.revoked_at is not None:
        raise AuthRefused("token_revoked", "the token has been revoked", field=field)
    if record.expires_at is not None and record.expires_at <= now:
        raise AuthRefused("token_expired", "the token has expired", field=field)
    if not record.active:
        raise AuthRefused("account_disabled", "the account is disabled", field=field)
    if lease_expired(record.device_last_synced_at, now, lease_days):
        raise offline_lease_expired(lease_days)
    return record


async def revoke_family(conn: asyncpg.Connection, family_id: UUID, now: datetime) -> int:
    """Revoke every token of one sign-in; the number revoked."""
    result = await conn.execute(
        "UPDATE auth_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
        family_id,
        now,
    )
    return int(result.split()[-1])


async def revoke_token_family(conn: asyncpg.Connection, token: str, now: datetime) -> int:
    """Sign out: revoke the sign-in ``token`` belongs to."""
    record = await lookup_token(conn, token)
    return 0 if record is None else await revoke_family(conn, record.family_id, now)


async def refresh(
    conn: asyncpg.Connection, refresh_token: str, *, now: datetime, lease_days: int
) -> TokenPair:
    """Rotate: revoke ``refresh_token`` and issue a new pair in the same family.

    A refresh token that was already used (or revoked) revokes its whole family: either
    the client or a thief holds a copy, and we cannot tell which.
    """
    record = await lookup_token(conn, refresh_token)
    try:
        check_token(
            record, TokenKind.REFRESH, now=now, lease_days=lease_days, field="refresh_token"
        )
    except AuthRefused as refused:
        if refused.rule == "token_revoked" and record is not None:
            await revoke_family(conn, record.family_id, now)
            raise _reused() from None
        raise
    assert record is not None
    async with conn.transaction():
        # Only one of two concurrent refreshes can win this row; the other sees it revoked.
        won = await conn.fetchval(
            "UPDATE auth_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL "
            "RETURNING true",
            token_hash(refresh_token),
            now,
        )
        pair = None
        if won:
            pair = await issue_pair(
                conn,
                record.user_id,
                now=now,
                device_id=record.device_id,
                family_id=record.family_id,
                signed_in_with=record.signed_in_with,
                ends_at=record.expires_at,
            )
    if pair is None:
        await revoke_family(conn, record.family_id, now)
        raise _reused()
    return pair


def _reused() -> AuthRefused:
    return AuthRefused(
        "refresh_token_reused",
        "the refresh token was already used: every token of this sign-in is revoked",
        field="refresh_token",
    )


# A device's tokens issued within this long of its newest token are kept however long
# ago they expired: the tablet holds one of them, and a revoked tablet that comes back
# after weeks offline must still be recognised and told to wipe.
DEVICE_TOKENS_KEPT = timedelta(days=1)


async def purge_expired_tokens(conn: asyncpg.Connection, older_than: datetime) -> int:
    """Delete tokens that expired before ``older_than`` (the scheduler's housekeeping).

    Except a device's latest: a token bound to a device is kept while it was issued
    within :data:`DEVICE_TOKENS_KEPT` of the device's newest token, so whatever a tablet
    last received (access and refresh tokens; its credential never expires) still names
    the device when it comes back, however long it was away: a revoked one is told to
    wipe (:func:`check_token`), an expired one is told so rather than ``invalid_token``.
    That keeps at most about a day's tokens per device; older ones go as before.

    Safe for reuse detection: every refresh token of a family expires when the family
    ends, so once one has expired the whole family has.
    """
    result = await conn.execute(
        """
        DELETE FROM auth_tokens t
        WHERE t.expires_at IS NOT NULL AND t.expires_at < $1
          AND (t.device_id IS NULL
               OR t.issued_at < (SELECT max(n.issued_at) FROM auth_tokens n
                                 WHERE n.device_id = t.device_id) - $2::interval)
        """,
        older_than,
        DEVICE_TOKENS_KEPT,
    )
    return int(result.split()[-1])


# --- devices ----------------------------------------------------------------------------


class DeviceRow(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    label: str
    registered_at: datetime
    revoked_at: datetime | None
    revoked_by: UUID | None
    last_synced_at: datetime


_DEVICE_COLUMNS = "id, user_id, label, registered_at, revoked_at, revoked_by, last_synced_at"


async def register_device(
    conn: asyncpg.Connection, user_id: UUID, label: str, *, now: datetime
) -> tuple[DeviceRow, str]:
    """A new device bound to ``user_id`` and its credential (shown once, stored hashed)."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""
            INSERT INTO devices (id, user_id, label, registered_at, last_synced_at)
            VALUES ($1, $2, $3, $4, $4)
            RETURNING {_DEVICE_COLUMNS}
            """,
            uuid.uuid4(),
            user_id,
            label,
            now,
        )
        assert row is not None
        device = DeviceRow(**dict(row))
        credential = await _insert_token(
            conn,
            TokenKind.DEVICE,
            user_id=user_id,
            device_id=device.id,
            family_id=uuid.uuid4(),
            signed_in_with=SignIn.PASSWORD,
            now=now,
            ttl=None,
        )
    return device, credential


async def device_by_id(conn: asyncpg.Connection, device_id: UUID) -> DeviceRow | None:
    row = await conn.fetchrow(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = $1", device_id)
    return DeviceRow(**dict(row)) if row else None


async def revoke_device(
    conn: asyncpg.Connection, device_id: UUID, *, by: UUID, now: datetime
) -> DeviceRow:
    """Revoke the device and every token bound to it; revoking twice keeps the first."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""
            UPDATE devices SET revoked_at = coalesce(revoked_at, $2),
                               revoked_by = coalesce(revoked_by, $3)
            WHERE id = $1
            RETURNING {_DEVICE_COLUMNS}
            """,
            device_id,
            now,
            by,
        )
        if row is None:
            raise UnknownAggregate("device_id", "must_exist", f"no device with id {device_id}")
        await conn.execute(
            "UPDATE auth_tokens SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
            device_id,
            now,
        )
    return DeviceRow(**dict(row))


async def touch_last_synced(conn: asyncpg.Connection, device_id: UUID, now: datetime) -> None:
    """The device synced (or its worker signed in on it): its offline lease starts anew."""
    await conn.execute(
        "UPDATE devices SET last_synced_at = greatest(last_synced_at, $2) "
        "WHERE id = $1 AND revoked_at IS NULL",
        device_id,
        now,
    )


async def sign_in_on_device(
    conn: asyncpg.Connection, user: UserRow, device_id: UUID, *, now: datetime
) -> TokenPair:
    """A password sign-in on a registered device: renews its lease, binds the tokens to it."""
    device = await device_by_id(conn, device_id)
    if device is None or device.user_id != user.id:
        raise AuthRefused(
            "unknown_device", "no such device is registered to this user", field="device_id"
        )
    if device.revoked_at is not None:
        raise device_revoked()
    await touch_last_synced(conn, device_id, now)
    return await issue_pair(conn, user.id, now=now, device_id=device_id)


async def exchange_device_credential(
    conn: asyncpg.Connection, credential: str, *, now: datetime, lease_days: int
) -> AccessGrant:
    """An access token bound to the device, while it is not revoked and its lease holds."""
    record = await lookup_token(conn, credential)
    try:
        check_token(
            record, TokenKind.DEVICE, now=now, lease_days=lease_days, field="device_credential"
        )
    except AuthRefused as refused:
        # A device credential is only ever revoked with its device.
        if refused.rule == "token_revoked":
            raise device_revoked() from None
        raise
    assert record is not None and record.device_id is not None
    token = await issue_access(
        conn,
        record.user_id,
        now=now,
        device_id=record.device_id,
        signed_in_with=SignIn.DEVICE_CREDENTIAL,
    )
    return AccessGrant(
        access_token=token,
        expires_in=int(ACCESS_TTL.total_seconds()),
        device_id=record.device_id,
    )
