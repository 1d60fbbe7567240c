"""Tenant timeline: every fact about a tenant, in log order, with a short summary.

The risk timeline's rows without the risk (one row per fact, written once by
:mod:`projections.risk_timeline`): events naming the tenant, and facts about the address
the tenant lived at when they happened (a safety flag, a concern about the address
alone). Summaries come from ``projections/summaries/`` (one module per area).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from projections.risk_timeline import NAME as RISK_TIMELINE

# The projection that writes the rows this module reads (for read-your-writes waits).
PROJECTION = RISK_TIMELINE


class TimelineEntry(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_user_id: UUID
    actor_service: str
    summary: str


async def tenant_timeline(
    conn: asyncpg.Connection, tenant_id: UUID, *, limit: int = 200, after: int = 0
) -> list[TimelineEntry]:
    rows = await conn.fetch(
        """
        SELECT position, event_type, occurred_at, recorded_at, actor_user_id, actor_service,
               summary
        FROM risk_timeline
        WHERE tenant_id = $1 AND position > $2
        ORDER BY position
        LIMIT $3
        """,
        tenant_id,
        after,
        limit,
    )
    return [TimelineEntry(*r) for r in rows]
