"""Devices (tablets) in PostgreSQL (asyncpg): registration, credentials, the offline lease
and revocation with the wipe instruction (docs/access.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from backend.auth.errors import AuthRefused, device_revoked
from backend.auth.roles import SignIn, TokenKind
from backend.auth.sessions import check_token, insert_token, issue_access, issue_pair, lookup_token
from backend.auth.tokens import (
    ACCESS_TTL,
    AccessGrant,
    TokenPair,
)
from backend.auth.users import UserRow
from domain.errors import UnknownAggregate
from domain.municipal_services import Service


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
        credential = await insert_token(
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


class ServiceDevice(msgspec.Struct, frozen=True, kw_only=True):
    """A device on a lead's list: whose it is, and whether it still syncs."""

    id: UUID
    user_id: UUID
    username: str
    label: str
    registered_at: datetime
    revoked_at: datetime | None
    last_synced_at: datetime


async def devices_of_service(
    conn: asyncpg.Connection, service: Service | None, *, limit: int = 500
) -> list[ServiceDevice]:
    """The devices of a service's users (None: every service), the active ones first, the
    longest unsynced first."""
    rows = await conn.fetch(
        """
        SELECT d.id, d.user_id, u.username, d.label, d.registered_at, d.revoked_at,
               d.last_synced_at
        FROM devices d JOIN users u ON u.id = d.user_id
        WHERE $1::text IS NULL OR u.service = $1
        ORDER BY (d.revoked_at IS NOT NULL), d.last_synced_at, d.id
        LIMIT $2
        """,
        None if service is None else service.value,
        limit,
    )
    return [ServiceDevice(**dict(r)) for r in rows]


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


class DeviceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """A device as an administrator sees it: whose, its lease, its syncs, its clock."""

    device_id: UUID
    user_id: UUID
    username: str
    label: str
    registered_at: datetime
    revoked_at: datetime | None
    # The offline lease runs from here (FOLGJA_OFFLINE_LEASE_DAYS).
    last_synced_at: datetime
    last_push_at: datetime | None
    last_pull_at: datetime | None
    # The device's clock minus the server's, in seconds, as last measured (at a push or
    # pull carrying ``device_time``); None: never measured.
    clock_skew_seconds: int | None
    clock_measured_at: datetime | None
    # Further off than FOLGJA_MAX_CLOCK_SKEW_S: the items it pushes are marked for review.
    clock_skewed: bool
    # When it was last told to resync: what it held was not what the server sent it.
    resync_asked_at: datetime | None


class DeviceList(msgspec.Struct, frozen=True, kw_only=True):
    # FOLGJA_MAX_CLOCK_SKEW_S, which ``clock_skewed`` is measured against.
    max_clock_skew_seconds: int
    devices: list[DeviceStatus]


async def device_statuses(conn: asyncpg.Connection, *, max_skew_s: int) -> DeviceList:
    """Every device, the furthest-off clock first (never measured last)."""
    rows = await conn.fetch(
        """
        SELECT d.id AS device_id, d.user_id, u.username, d.label, d.registered_at,
               d.revoked_at, d.last_synced_at, s.last_push_at, s.last_pull_at,
               s.clock_skew_seconds, s.clock_measured_at,
               coalesce(abs(s.clock_skew_seconds) > $1, false) AS clock_skewed,
               s.resync_asked_at
        FROM devices d JOIN users u ON u.id = d.user_id
        LEFT JOIN sync_devices s ON s.device_id = d.id
        ORDER BY abs(s.clock_skew_seconds) DESC NULLS LAST, d.registered_at, d.id
        """,
        max_skew_s,
    )
    return DeviceList(
        max_clock_skew_seconds=max_skew_s, devices=[DeviceStatus(**dict(r)) for r in rows]
    )


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
