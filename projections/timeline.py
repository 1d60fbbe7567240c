"""Tenant timeline: one row per event about a tenant, in log order, with a short summary.

Summaries come from ``projections/summaries/`` (one module per area).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from projections.base import PositionedEvent
from projections.summaries import summarize


class TimelineEntry(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_user_id: UUID
    actor_service: str
    summary: str


# One event at a time (a parked event retried, a failed batch replayed event by event):
# a row may already be there, so insert what is missing.
INSERT = """
    INSERT INTO tenant_timeline (tenant_id, position, event_type, occurred_at, recorded_at,
                                 actor_user_id, actor_service, summary)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (tenant_id, position) DO NOTHING
"""

COLUMNS = [
    "tenant_id",
    "position",
    "event_type",
    "occurred_at",
    "recorded_at",
    "actor_user_id",
    "actor_service",
    "summary",
]


class TimelineProjection:
    name = "tenant_timeline"
    tables: tuple[str, ...] = ("tenant_timeline",)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        rows = []
        for item in events:
            about = summarize(item.event)
            if about is None:
                continue
            tenant_id, summary = about
            meta = item.event.meta
            rows.append(
                (
                    tenant_id,
                    item.position,
                    item.event.type_name,
                    meta.occurred_at,
                    meta.recorded_at,
                    meta.actor.user_id,
                    meta.actor.service.value,
                    summary,
                )
            )
        if len(rows) > 1:
            # A batch: COPY, the cheapest way in by far. Its rows are new: the runner
            # applies each event exactly once, and if a row were there after all, the
            # COPY fails, the runner replays the batch one event at a time, and each
            # event then goes through the INSERT below.
            await conn.copy_records_to_table("tenant_timeline", records=rows, columns=COLUMNS)
        elif rows:
            await conn.execute(INSERT, *rows[0])


async def tenant_timeline(
    conn: asyncpg.Connection, tenant_id: UUID, *, limit: int = 200, after: int = 0
) -> list[TimelineEntry]:
    rows = await conn.fetch(
        """
        SELECT position, event_type, occurred_at, recorded_at, actor_user_id, actor_service,
               summary
        FROM tenant_timeline
        WHERE tenant_id = $1 AND position > $2
        ORDER BY position
        LIMIT $3
        """,
        tenant_id,
        after,
        limit,
    )
    return [TimelineEntry(**dict(r)) for r in rows]
