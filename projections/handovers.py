"""Handover schedule: each handover's date and status, for the scheduler and per tenant.

The scheduler asks it which handovers are due (:func:`due_handovers`); the tenant's
handover history is read from it too (:func:`handovers_for_tenant`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.events import DomainEvent
from domain.handover import (
    HandoverAccepted,
    HandoverAnnounced,
    HandoverCompleted,
    HandoverDeclined,
    HandoverLapsed,
    HandoverStatus,
)
from projections.base import PositionedEvent


class HandoverRow(msgspec.Struct, frozen=True):
    handover_id: UUID
    tenant_id: UUID
    from_service: str
    to_service: str
    kind: str
    effective_on: date
    status: str
    updated_position: int


_STATUS_AFTER = {
    HandoverAccepted: HandoverStatus.ACCEPTED,
    HandoverDeclined: HandoverStatus.DECLINED,
    HandoverCompleted: HandoverStatus.COMPLETED,
    HandoverLapsed: HandoverStatus.LAPSED,
}

OPEN_STATUSES = [HandoverStatus.ANNOUNCED, HandoverStatus.ACCEPTED, HandoverStatus.DECLINED]

INSERT = """
    INSERT INTO handover_schedule (handover_id, tenant_id, from_service, to_service, kind,
                                   effective_on, status, updated_position, announced_at,
                                   announced_position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $8)
    ON CONFLICT (handover_id) DO NOTHING
"""

# The position guard makes a replayed batch harmless: an older event never overwrites.
# Each answer or settlement fills its own column (the others pass NULL and keep theirs);
# the decline reason is free text and never stored.
UPDATE = """
    UPDATE handover_schedule SET status = $2, updated_position = $3,
        accepted_at = coalesce($4, accepted_at),
        declined_at = coalesce($5, declined_at),
        contact_worker_id = coalesce($6, contact_worker_id),
        settled_at = coalesce($7, settled_at),
        lapse_reason = coalesce($8, lapse_reason)
    WHERE handover_id = $1 AND updated_position < $3
"""

COLUMNS = (
    "handover_id, tenant_id, from_service, to_service, kind, effective_on, status, updated_position"
)


class HandoverScheduleProjection:
    name = "handover_schedule"
    tables: tuple[str, ...] = ("handover_schedule",)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        inserts = []
        updates = []
        for item in events:
            event = item.event
            if isinstance(event, HandoverAnnounced):
                inserts.append(
                    (
                        event.originator_id,
                        event.tenant_id,
                        event.from_service.value,
                        event.to_service.value,
                        event.kind.value,
                        event.effective_on,
                        HandoverStatus.ANNOUNCED.value,
                        item.position,
                        event.meta.occurred_at,
                    )
                )
            elif (status := _STATUS_AFTER.get(type(event))) is not None:
                updates.append((event.originator_id, status.value, item.position, *_filled(event)))
        # Every announcement precedes its own answers in the log, so inserting first and
        # then updating in log order gives the same result as one pass in order.
        if inserts:
            await conn.executemany(INSERT, inserts)
        if updates:
            await conn.executemany(UPDATE, updates)


def _filled(
    event: DomainEvent,
) -> tuple[datetime | None, datetime | None, UUID | None, datetime | None, str | None]:
    """(accepted_at, declined_at, contact_worker_id, settled_at, lapse_reason) after ``event``."""
    at = event.meta.occurred_at
    if isinstance(event, HandoverAccepted):
        return at, None, event.contact_worker_id, None, None
    if isinstance(event, HandoverDeclined):
        return None, at, None, None, None
    if isinstance(event, HandoverCompleted):
        return None, None, event.contact_worker_id, at, None
    if isinstance(event, HandoverLapsed):
        return None, None, None, at, event.reason.value
    return None, None, None, None, None


async def due_handovers(conn: asyncpg.Connection, today: date) -> list[HandoverRow]:
    """Open handovers whose effective date is today or earlier, oldest date first."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM handover_schedule
        WHERE status = ANY($1::text[]) AND effective_on <= $2
        ORDER BY effective_on, updated_position
        """,
        [s.value for s in OPEN_STATUSES],
        today,
    )
    return [HandoverRow(**dict(r)) for r in rows]


async def handovers_for_tenant(conn: asyncpg.Connection, tenant_id: UUID) -> list[HandoverRow]:
    """Every handover of the tenant, by effective date (history first)."""
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM handover_schedule
        WHERE tenant_id = $1
        ORDER BY effective_on, handover_id
        """,
        tenant_id,
    )
    return [HandoverRow(**dict(r)) for r in rows]
