"""Tracking records: how far each projection has written, and parked events."""

from __future__ import annotations

import asyncpg
import msgspec

PROJECTION_CHANNEL = "folgja_projection"


class ParkedEvent(msgspec.Struct, frozen=True):
    projection: str
    position: int
    topic: str
    error: str


class ProjectionStatus(msgspec.Struct, frozen=True):
    projection: str
    position: int
    lag: int
    parked: int


async def ensure_row(conn: asyncpg.Connection, projection: str) -> int:
    await conn.execute(
        "INSERT INTO projection_tracking (projection) VALUES ($1) ON CONFLICT DO NOTHING",
        projection,
    )
    return await position(conn, projection)


async def position(conn: asyncpg.Connection, projection: str) -> int:
    value = await conn.fetchval(
        "SELECT position FROM projection_tracking WHERE projection = $1", projection
    )
    return int(value or 0)


async def advance(conn: asyncpg.Connection, projection: str, old: int, new: int) -> bool:
    """Move the tracking record from ``old`` to ``new``; False if someone else moved it.

    Called inside the transaction that wrote the projection's rows, so rows and position
    commit together or not at all. The NOTIFY is delivered on commit.
    """
    status = await conn.execute(
        "UPDATE projection_tracking SET position = $3, updated_at = now() "
        "WHERE projection = $1 AND position = $2",
        projection,
        old,
        new,
    )
    if status != "UPDATE 1":
        return False
    await conn.execute("SELECT pg_notify($1, $2)", PROJECTION_CHANNEL, f"{projection}:{new}")
    return True


async def park(
    conn: asyncpg.Connection, projection: str, event_position: int, topic: str, error: str
) -> None:
    await conn.execute(
        "INSERT INTO projection_parked (projection, position, topic, error) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (projection, position) "
        "DO UPDATE SET error = EXCLUDED.error, parked_at = now()",
        projection,
        event_position,
        topic,
        error[:2000],
    )


async def parked(conn: asyncpg.Connection, projection: str | None = None) -> list[ParkedEvent]:
    rows = await conn.fetch(
        "SELECT projection, position, topic, error FROM projection_parked "
        "WHERE $1::text IS NULL OR projection = $1 ORDER BY projection, position",
        projection,
    )
    return [ParkedEvent(**dict(r)) for r in rows]


async def statuses(conn: asyncpg.Connection, head: int) -> list[ProjectionStatus]:
    rows = await conn.fetch(
        """
        SELECT t.projection, t.position,
               (SELECT count(*) FROM projection_parked p WHERE p.projection = t.projection)
                 AS parked
        FROM projection_tracking t ORDER BY t.projection
        """
    )
    return [
        ProjectionStatus(r["projection"], r["position"], max(head - r["position"], 0), r["parked"])
        for r in rows
    ]
