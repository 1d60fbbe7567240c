"""Lone-worker check-ins (innsjekk ved alenearbeid) and each worker's own timeline.

``check_ins`` holds every check-in, open until its check-out; :func:`open_check_ins_past`
answers the open ones whose expected time plus a grace period has passed (the alert
rule's question). ``worker_timeline`` is each worker's own timeline: their check-ins and
check-outs, and those naming them as the second worker. Check-ins never reach a tenant's
timeline (no tenant summary is registered for them, ``projections/summaries``).
Summaries name no tenant and no address.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from domain.events import MUNICIPALITY_TZ
from domain.lone_work import CheckedIn, CheckedOut, expected_until
from projections.base import PositionedEvent
from projections.pagination import Page, decode_cursor, page_of

INSERT_CHECK_IN = """
    INSERT INTO check_ins (id, worker_id, service, dwelling_id, second_worker_id,
                           checked_in_at, expected_until, position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (id) DO NOTHING
"""

# The position guard makes a replayed batch harmless.
CHECK_OUT = """
    UPDATE check_ins SET checked_out_at = $2, position = $3
    WHERE id = $1 AND position < $3
"""

INSERT_ENTRY = """
    INSERT INTO worker_timeline (user_id, position, event_type, occurred_at, summary)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (user_id, position) DO NOTHING
"""

# A check-out goes on the timelines of both workers the check-in names.
INSERT_CHECK_OUT_ENTRIES = """
    INSERT INTO worker_timeline (user_id, position, event_type, occurred_at, summary)
    SELECT w.user_id, $2, 'CheckedOut', $3,
           CASE WHEN $4::uuid IN (c.worker_id, c.second_worker_id) THEN 'Checked out'
                ELSE 'Check-out recorded by a team lead' END
    FROM check_ins c
    CROSS JOIN LATERAL (VALUES (c.worker_id), (c.second_worker_id)) AS w(user_id)
    WHERE c.id = $1 AND w.user_id IS NOT NULL
    ON CONFLICT (user_id, position) DO NOTHING
"""


def _local(moment: datetime) -> str:
    return moment.astimezone(MUNICIPALITY_TZ).isoformat(timespec="minutes")


def _check_in_entries(position: int, event: CheckedIn) -> list[tuple[object, ...]]:
    until = _local(expected_until(event))
    mark = " (marked for review)" if event.review_reasons else ""
    at = event.meta.occurred_at
    own = f"Checked in for {event.expected_minutes} min, expected out by {until}"
    if event.second_worker_id is not None:
        own += " with a second worker"
    entries: list[tuple[object, ...]] = [(event.worker_id, position, "CheckedIn", at, own + mark)]
    if event.second_worker_id is not None:
        named = f"Named second worker on a colleague's check-in, expected out by {until}"
        entries.append((event.second_worker_id, position, "CheckedIn", at, named + mark))
    return entries


class LoneWorkProjection:
    name = "lone_work"
    tables: tuple[str, ...] = ("check_ins", "worker_timeline")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        check_ins = []
        entries: list[tuple[object, ...]] = []
        check_outs = []
        for item in events:
            event = item.event
            if isinstance(event, CheckedIn):
                check_ins.append(
                    (
                        event.originator_id,
                        event.worker_id,
                        event.meta.actor.service.value,
                        event.dwelling_id,
                        event.second_worker_id,
                        event.meta.occurred_at,
                        expected_until(event),
                        item.position,
                    )
                )
                entries.extend(_check_in_entries(item.position, event))
            elif isinstance(event, CheckedOut):
                check_outs.append(
                    (
                        event.originator_id,
                        item.position,
                        event.meta.occurred_at,
                        event.meta.actor.user_id,
                    )
                )
        # Every check-in precedes its check-out in the log: inserting first, then closing
        # in log order, gives what one pass in order would.
        if check_ins:
            await conn.executemany(INSERT_CHECK_IN, check_ins)
        if entries:
            await conn.executemany(INSERT_ENTRY, entries)
        if check_outs:
            await conn.executemany(CHECK_OUT, [(i, at, p) for i, p, at, _ in check_outs])
            await conn.executemany(INSERT_CHECK_OUT_ENTRIES, check_outs)


class OpenCheckIn(msgspec.Struct, frozen=True):
    """An open check-in past its time: what the alert rule needs (the dwelling, so the
    lead knows where the worker went; no tenant)."""

    check_in_id: UUID
    worker_id: UUID
    service: str
    expected_until: datetime
    dwelling_id: UUID


async def open_check_ins_past(
    conn: asyncpg.Connection, now: datetime, grace: timedelta
) -> list[OpenCheckIn]:
    """Check-ins with no check-out whose expected time plus ``grace`` lies before ``now``
    (strictly: at exactly expected + grace the worker is not yet overdue), oldest first."""
    rows = await conn.fetch(
        """
        SELECT id AS check_in_id, worker_id, service, expected_until, dwelling_id
        FROM check_ins
        WHERE checked_out_at IS NULL AND expected_until < $1
        ORDER BY expected_until, id
        """,
        now - grace,
    )
    return [OpenCheckIn(**dict(r)) for r in rows]


class WorkerTimelineEntry(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    occurred_at: datetime
    summary: str


async def worker_timeline(
    conn: asyncpg.Connection, user_id: UUID, *, cursor: str | None, limit: int
) -> Page[WorkerTimelineEntry]:
    """The worker's own timeline, newest first, a page at a time."""
    after = decode_cursor(cursor, [int])
    rows = await conn.fetch(
        """
        SELECT position, event_type, occurred_at, summary FROM worker_timeline
        WHERE user_id = $1 AND ($2::bigint IS NULL OR position < $2)
        ORDER BY position DESC
        LIMIT $3
        """,
        user_id,
        None if after is None else after[0],
        limit + 1,
    )
    entries = [WorkerTimelineEntry(**dict(r)) for r in rows]
    return page_of(entries, limit, lambda e: (e.position,))
