"""What a field tablet is sent about each tenant of a pull page (docs/sync-protocol.md):
the caseload's fields, the planned visits and open concerns, and the newest timeline
entries, read from the caseload, concern tracker and risk timeline read models in one
statement.

The three lists come as JSON with the field names of :mod:`sync.protocol`'s
``PlannedVisitRecord``, ``OpenConcernRecord`` and ``TimelineRecord``, so the sync layer
sends them as they are: thousands of timeline rows are not decoded into Python objects
only to be encoded again. Each timeline entry's JSON was encoded when its row was written
(``risk_timeline.entry``), so a pull only joins stored strings (decision 70); a tenant new
on the device is usually sent one stored row of them (decision 72).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from projections.risk_timeline import RECENT_ENTRIES


class TenantParts(msgspec.Struct, frozen=True, kw_only=True):
    address: str | None
    safety_flag: str | None
    visit_due_at: datetime | None
    planned_visits: str  # JSON lists, in the wire format
    open_concerns: str
    timeline: str
    # More timeline entries matched than were sent.
    timeline_cut: bool


async def tenant_parts(
    conn: asyncpg.Connection,
    tenant_ids: Sequence[UUID],
    *,
    new: Sequence[bool],
    history_since: datetime,
    history_cap: int,
    changed_after: int,
    changes_cap: int,
) -> dict[UUID, TenantParts]:
    """Each tenant's parts. A tenant ``new`` on the device gets the newest
    ``history_cap`` timeline entries since ``history_since``; one it holds, the newest
    ``changes_cap`` after position ``changed_after``."""
    rows = await conn.fetch(
        _PARTS,
        list(tenant_ids),
        list(new),
        history_since,
        changed_after,
        history_cap,
        changes_cap,
    )
    return {
        r["tenant_id"]: TenantParts(
            address=r["address"],
            safety_flag=r["safety_flag"],
            visit_due_at=r["visit_due_at"],
            planned_visits=r["planned_visits"],
            open_concerns=r["open_concerns"],
            timeline=r["timeline"],
            timeline_cut=bool(r["timeline_cut"]),
        )
        for r in rows
    }


# Per tenant of a page, in one statement: the caseload's fields, the planned visits and
# open concerns, and the timeline (for a tenant new on the device ($2), the newest $5
# entries of the last days ($3); for one it holds, the newest $6 after $4), each list as
# JSON with the fields of sync.protocol's PlannedVisitRecord, OpenConcernRecord and
# TimelineRecord (each timeline entry as stored when it was written). ``timeline_cut``:
# more entries matched than were sent.
#
# For a tenant new on the device whose newest entries all fall within the window, those
# are exactly what is sent, and the projection keeps them joined in one row
# (``risk_timeline_recent``, decision 72): that row is sent and no entry row is read.
# Otherwise (older entries among the newest, or another cap) they are joined here.
_PARTS = f"""
SELECT want.tenant_id, c.address, c.safety_flag, c.visit_due_at,
       (SELECT coalesce(json_agg(json_build_object('visit_id', p.visit_id,
                                                   'planned_for', p.planned_for)
                                 ORDER BY p.planned_for, p.visit_id), '[]')::text
        FROM caseload_planned_visits p WHERE p.tenant_id = want.tenant_id) AS planned_visits,
       (SELECT coalesce(json_agg(json_build_object('concern_id', k.concern_id,
                                                   'category', k.category,
                                                   'status', k.status,
                                                   'raised_at', k.raised_at)
                                 ORDER BY k.raised_at), '[]')::text
        FROM concerns k
        WHERE k.tenant_id = want.tenant_id AND k.status <> 'resolved') AS open_concerns,
       coalesce(recent.entries, t.entries, '[]') AS timeline,
       coalesce(recent.kept, t.sent) = want.cap AND EXISTS (
           -- Newest first: the entry just before those sent is usually a match.
           SELECT 1 FROM (
               SELECT o.occurred_at, o.position FROM risk_timeline o
               WHERE o.tenant_id = want.tenant_id
                 AND o.position < coalesce(recent.oldest_position, t.oldest)
               ORDER BY o.position DESC OFFSET 0
           ) older
           WHERE CASE WHEN want.is_new THEN older.occurred_at >= $3 ELSE older.position > $4 END
       ) AS timeline_cut
FROM (
    SELECT tenant_id, is_new, CASE WHEN is_new THEN $5::int ELSE $6::int END AS cap
    FROM unnest($1::uuid[], $2::bool[]) AS w(tenant_id, is_new)
) want
LEFT JOIN caseload c ON c.tenant_id = want.tenant_id
LEFT JOIN risk_timeline_recent recent
       ON recent.tenant_id = want.tenant_id AND want.is_new
      AND want.cap = {RECENT_ENTRIES} AND recent.oldest_occurred_at >= $3
LEFT JOIN LATERAL (
    SELECT '[' || string_agg(r.entry, ',' ORDER BY r.position) || ']' AS entries,
           min(r.position) AS oldest, count(*) AS sent
    FROM (
        SELECT position, entry FROM risk_timeline
        WHERE tenant_id = want.tenant_id AND recent.tenant_id IS NULL
          AND CASE WHEN want.is_new THEN occurred_at >= $3 ELSE position > $4 END
        ORDER BY position DESC
        LIMIT want.cap
    ) r
) t ON true
"""
