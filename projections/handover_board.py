"""Handover board: announced, accepted, declined, completed, lapsed — and overdue; and the
tenants no service is responsible for.

Read from the ``handover_schedule`` projection (:mod:`projections.handovers`). Overdue is
decided at read time against the municipality's date: the effective date has come and the
handover is neither accepted nor completed (announced, declined or lapsed), unless a later
handover of the same tenant supersedes it. The decline reason is never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.handover import HandoverKind, HandoverStatus, LapseReason
from domain.municipal_services import Service
from projections.caseload_queries import WithoutServiceEntry
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of

NOT_TAKEN = (HandoverStatus.ANNOUNCED, HandoverStatus.DECLINED, HandoverStatus.LAPSED)


def overdue_condition(today: str) -> str:
    """SQL: the handover (alias ``h``) is overdue on the date placeholder ``today``."""
    statuses = ", ".join(f"'{s.value}'" for s in NOT_TAKEN)
    return f"""(h.effective_on <= {today} AND h.status IN ({statuses})
        AND NOT EXISTS (SELECT 1 FROM handover_schedule later
                        WHERE later.tenant_id = h.tenant_id
                          AND later.announced_position > h.announced_position))"""


class HandoverBoardRow(msgspec.Struct, frozen=True):
    """A handover on the board: never the decline reason."""

    handover_id: UUID
    tenant_id: UUID
    from_service: Service
    to_service: Service
    kind: HandoverKind
    effective_on: date
    status: HandoverStatus
    announced_at: datetime | None
    accepted_at: datetime | None
    declined_at: datetime | None
    contact_worker_id: UUID | None
    settled_at: datetime | None
    lapse_reason: LapseReason | None
    overdue: bool


class HandoverCounts(msgspec.Struct, frozen=True):
    """How many handovers are in each group (under the service filters only)."""

    announced: int = 0
    accepted: int = 0
    declined: int = 0
    completed: int = 0
    lapsed: int = 0
    overdue: int = 0


class HandoverBoard(msgspec.Struct, frozen=True):
    items: list[HandoverBoardRow]
    counts: HandoverCounts
    next_cursor: str | None = None
    # On the board's first page: the first page of the tenants in active follow-up that
    # no service is responsible for (the caseload's list; more at its own endpoint).
    without_responsible_service: Page[WithoutServiceEntry] | None = None


async def handover_board(
    conn: asyncpg.Connection,
    *,
    today: date,
    statuses: Sequence[HandoverStatus] = (),
    overdue: bool | None = None,
    to_service: Service | None = None,
    from_service: Service | None = None,
    involving: Service | None = None,
    tenant_id: UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> HandoverBoard:
    """Handovers by effective date (then id), with the count of each group."""
    after = decode_cursor(cursor, (date, UUID))
    q = Filters()
    is_overdue = overdue_condition(q.arg(today))
    if to_service is not None:
        q.add(f"h.to_service = {q.arg(to_service.value)}")
    if from_service is not None:
        q.add(f"h.from_service = {q.arg(from_service.value)}")
    if involving is not None:
        service = q.arg(involving.value)
        q.add(f"h.from_service = {service} OR h.to_service = {service}")
    if tenant_id is not None:
        q.add(f"h.tenant_id = {q.arg(tenant_id)}")
    # The counts see the service and tenant filters, not the group filters or the page.
    counts = await conn.fetchrow(
        f"""
        SELECT count(*) FILTER (WHERE h.status = 'announced') AS announced,
               count(*) FILTER (WHERE h.status = 'accepted') AS accepted,
               count(*) FILTER (WHERE h.status = 'declined') AS declined,
               count(*) FILTER (WHERE h.status = 'completed') AS completed,
               count(*) FILTER (WHERE h.status = 'lapsed') AS lapsed,
               count(*) FILTER (WHERE {is_overdue}) AS overdue
        FROM handover_schedule h {q.where()}
        """,
        *q.args,
    )
    if statuses:
        q.add(f"h.status = ANY({q.arg([s.value for s in statuses])}::text[])")
    if overdue is not None:
        q.add(is_overdue if overdue else f"NOT {is_overdue}")
    if after is not None:
        q.add(f"(h.effective_on, h.handover_id) > ({q.arg(after[0])}, {q.arg(after[1])})")
    rows = await conn.fetch(
        f"""
        SELECT h.handover_id, h.tenant_id, h.from_service, h.to_service, h.kind,
               h.effective_on, h.status, h.announced_at, h.accepted_at, h.declined_at,
               h.contact_worker_id, h.settled_at, h.lapse_reason, {is_overdue} AS overdue
        FROM handover_schedule h {q.where()}
        ORDER BY h.effective_on, h.handover_id
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    page = page_of(
        [HandoverBoardRow(**dict(r)) for r in rows],
        limit,
        lambda h: (h.effective_on, h.handover_id),
    )
    assert counts is not None
    return HandoverBoard(
        items=page.items, counts=HandoverCounts(**dict(counts)), next_cursor=page.next_cursor
    )
