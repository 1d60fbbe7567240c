"""Which field tablets still lack an address's safety flag (docs/sync-protocol.md, "Safety
data"; docs/access.md, "Devices lacking a flag").

A device holds a flag version once a pull of it says ``flags_through`` at or beyond the
version's log position (recorded in ``sync_devices.flags_through``); a device that has never
pulled holds none.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.municipal_services import Service


class DeviceLacking(msgspec.Struct, frozen=True, kw_only=True):
    device_id: UUID
    label: str
    user_id: UUID
    # None: the device has never pulled.
    last_pull_at: datetime | None
    flags_through: int


class DevicesLacking(msgspec.Struct, frozen=True, kw_only=True):
    dwelling_id: UUID
    # The log position of the flag's current version (set, changed, reviewed or lifted).
    flag_position: int
    devices: list[DeviceLacking]


async def devices_lacking(
    conn: asyncpg.Connection, dwelling_id: UUID, service: Service | None
) -> DevicesLacking | None:
    """The registered, unrevoked devices of active users (of ``service``, or of every service
    for None) that have not confirmed the dwelling's current flag; None: it has no flag."""
    position = await conn.fetchval(
        "SELECT position FROM safety_flags "
        "WHERE dwelling_id = $1 AND (kind IS NOT NULL OR lifted_at IS NOT NULL)",
        dwelling_id,
    )
    if position is None:
        return None
    rows = await conn.fetch(
        """
        SELECT d.id AS device_id, d.label, d.user_id, s.last_pull_at,
               coalesce(s.flags_through, 0) AS flags_through
        FROM devices d
        JOIN users u ON u.id = d.user_id
        LEFT JOIN sync_devices s ON s.device_id = d.id
        WHERE d.revoked_at IS NULL AND u.active
          AND coalesce(s.flags_through, 0) < $1
          AND ($2::text IS NULL OR u.service = $2)
        ORDER BY s.last_pull_at NULLS FIRST, d.id
        """,
        position,
        None if service is None else service.value,
    )
    return DevicesLacking(
        dwelling_id=dwelling_id,
        flag_position=position,
        devices=[DeviceLacking(**dict(r)) for r in rows],
    )
