"""Tracking records: how far each projection has written, and parked events.

All SQL here uses unqualified table names: a rebuild runs the same code with
``search_path = rebuild_<name>, public`` and so writes its own tracking and parked rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import msgspec

PROJECTION_CHANNEL = "folgja_projection"
REBUILD_SCHEMA_PREFIX = "rebuild_"


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


class RebuildStatus(msgspec.Struct, frozen=True):
    """A rebuild under way (or left behind by a crash) in its own schema."""

    projection: str
    schema: str
    position: int


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


async def advance(
    conn: asyncpg.Connection, projection: str, old: int, new: int, *, announce: bool = True
) -> bool:
    """Move the tracking record from ``old`` to ``new``; False if someone else moved it.

    Called inside the transaction that wrote the projection's rows, so rows and position
    commit together or not at all. The NOTIFY (unless ``announce`` is off, as in a
    rebuild, whose position is not yet the served one) is delivered on commit.
    """
    moved = await conn.fetchval(
        """
        WITH moved AS (
            UPDATE projection_tracking SET position = $3, updated_at = now()
            WHERE projection = $1 AND position = $2 RETURNING 1
        ), told AS (
            SELECT pg_notify($4, $1 || ':' || $3) FROM moved WHERE $5::boolean
        )
        SELECT (SELECT count(*) FROM moved) + 0 * (SELECT count(*) FROM told)
        """,
        projection,
        old,
        new,
        PROJECTION_CHANNEL,
        announce,
    )
    return bool(moved == 1)


async def announce_position(conn: asyncpg.Connection, projection: str, new: int) -> None:
    """Tell every listening waiter (on commit) that ``projection`` now shows ``new``."""
    await conn.execute("SELECT pg_notify($1, $2)", PROJECTION_CHANNEL, f"{projection}:{new}")


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


async def unpark(conn: asyncpg.Connection, projection: str, event_position: int) -> bool:
    status = await conn.execute(
        "DELETE FROM projection_parked WHERE projection = $1 AND position = $2",
        projection,
        event_position,
    )
    return bool(status == "DELETE 1")


async def parked(conn: asyncpg.Connection, projection: str | None = None) -> list[ParkedEvent]:
    rows = await conn.fetch(
        "SELECT projection, position, topic, error FROM projection_parked "
        "WHERE $1::text IS NULL OR projection = $1 ORDER BY projection, position",
        projection,
    )
    return [ParkedEvent(**dict(r)) for r in rows]


async def statuses(
    conn: asyncpg.Connection, head: int, known: Iterable[str] = ()
) -> list[ProjectionStatus]:
    """Every tracked projection, plus those in ``known`` that have not written yet."""
    rows = await conn.fetch(
        """
        SELECT n.projection, coalesce(t.position, 0) AS position,
               (SELECT count(*) FROM projection_parked p WHERE p.projection = n.projection)
                 AS parked
        FROM (SELECT projection FROM projection_tracking
              UNION SELECT unnest($1::text[])) AS n
        LEFT JOIN projection_tracking t ON t.projection = n.projection
        ORDER BY n.projection
        """,
        list(known),
    )
    return [
        ProjectionStatus(r["projection"], r["position"], max(head - r["position"], 0), r["parked"])
        for r in rows
    ]


async def rebuilds(conn: asyncpg.Connection) -> list[RebuildStatus]:
    """Rebuild schemas present now: a running rebuild, or one a crash left behind."""
    schemas = await conn.fetch(
        """
        SELECT n.nspname FROM pg_namespace n
        JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = 'projection_tracking'
        WHERE n.nspname LIKE $1 ORDER BY n.nspname
        """,
        REBUILD_SCHEMA_PREFIX.replace("_", r"\_") + "%",
    )
    found = []
    for row in schemas:
        schema = row["nspname"]
        projection = schema.removeprefix(REBUILD_SCHEMA_PREFIX)
        try:
            value = await conn.fetchval(
                f"SELECT position FROM {quote_ident(schema)}.projection_tracking "
                "WHERE projection = $1",
                projection,
            )
        except asyncpg.UndefinedTableError:  # dropped by a swap since we looked
            continue
        found.append(RebuildStatus(projection, schema, int(value or 0)))
    return found


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
