"""Sign-in sessions in PostgreSQL (asyncpg): access and refresh tokens, stored hashed.

A password or device sign-in starts a family of tokens; refreshing spends the refresh
token, and a reused one revokes its whole family. Every function takes ``now`` from the
caller (the runtime's clock), never reads the time itself, so expiry and the offline lease
are testable. Refusals raise :class:`~backend.auth.errors.AuthRefused` (401) with a rule a
client can act on.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from backend.auth.errors import AuthRefused, device_revoked, offline_lease_expired
from backend.auth.roles import Principal, Role, SignIn, TokenKind
from backend.auth.tokens import (
    ACCESS_TTL,
    MAX_TOKEN_LENGTH,
    REFRESH_TTL,
    TokenPair,
    new_token,
    token_hash,
)
from backend.auth.users import known_roles
from domain.municipal_services import Service


async def insert_token(
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
        access = await insert_token(conn, TokenKind.ACCESS, ttl=access_ttl, **common)
        refresh = await insert_token(conn, TokenKind.REFRESH, ttl=end - now, **common)
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
    return await insert_token(
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
