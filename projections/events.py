"""Reading the event log straight from the event store's table: in log order, or the
events of some records after the versions a caller holds."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

# The eventsourcing library names the table after the application ("Folgja") and
# NOTIFYs this channel in every inserting transaction.
EVENTS_TABLE = "folgja_events"
EVENTS_CHANNEL = "folgja_events"

SELECT_AFTER = f"""
    SELECT notification_id, originator_id, originator_version, topic, state
    FROM {EVENTS_TABLE}
    WHERE notification_id > $1
    ORDER BY notification_id
    LIMIT $2
"""


async def fetch_after(conn: asyncpg.Connection, position: int, limit: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(SELECT_AFTER, position, limit)
    return rows


async def head_position(conn: asyncpg.Connection) -> int:
    value = await conn.fetchval(f"SELECT max(notification_id) FROM {EVENTS_TABLE}")
    return int(value or 0)


async def record_exists(conn: asyncpg.Connection, record_id: object, born: type) -> bool:
    """Whether ``record_id`` is a record that ``born`` started (a tenant, a dwelling, ...).

    An id of another kind of record answers False, as an id nobody used does.
    """
    return bool(
        await conn.fetchval(
            f"""
            SELECT EXISTS (SELECT 1 FROM {EVENTS_TABLE}
                           WHERE originator_id = $1 AND originator_version = 1 AND topic = $2)
            """,
            record_id,
            get_topic(born),
        )
    )


_RECORDS_AFTER = f"""
    SELECT e.originator_id, e.originator_version, e.topic, e.state
    FROM unnest($1::uuid[], $2::bigint[]) AS a(originator_id, after_version)
    JOIN {EVENTS_TABLE} e ON e.originator_id = a.originator_id
     AND e.originator_version > a.after_version
    ORDER BY e.originator_id, e.originator_version
"""


async def records_events_after(
    conn: asyncpg.Connection, after: Sequence[tuple[UUID, int]]
) -> list[StoredEvent]:
    """Each record's events after the version given for it (0: all), by record, oldest
    first: what ``WriteModel.fold_many`` folds (the recorder's ``select_events_after``,
    on an event loop's connection)."""
    if not after:
        return []
    rows = await conn.fetch(_RECORDS_AFTER, [a[0] for a in after], [a[1] for a in after])
    return [
        StoredEvent(
            originator_id=r["originator_id"],
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=r["state"],
        )
        for r in rows
    ]
