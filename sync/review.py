"""Field data kept aside for a team lead's review: the inbox, its resolution, and the review
state the tenant's timeline shows (docs/sync-protocol.md, "Conflicts"; docs/access.md,
"The review inbox").

An item is *in review* when its outcome (``sync_outcomes``) is ``applied_for_review``
(applied; its record is marked with the broken rules), ``kept_for_review`` (not applied,
kept with its problem) or ``refused`` (never applicable as sent, kept with its problem).
A lead of the service of the user who recorded it resolves it once, with a note
(``sync_reviews``); the item and its outcome never change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import IllegalStateChange, UnknownAggregate
from domain.municipal_services import Service
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of
from projections.risk_timeline_queries import TimelineReview
from sync.protocol import ItemProblem


class ReviewStatus(StrEnum):
    """The outcomes that put an item in review (a subset of ``ItemStatus``)."""

    APPLIED_FOR_REVIEW = "applied_for_review"
    KEPT_FOR_REVIEW = "kept_for_review"
    REFUSED = "refused"


IN_REVIEW = [s.value for s in ReviewStatus]
# Not in the log: the tenant's timeline lists them apart from its entries.
NOT_APPLIED = [ReviewStatus.KEPT_FOR_REVIEW.value, ReviewStatus.REFUSED.value]


class Resolution(msgspec.Struct, frozen=True, kw_only=True):
    resolved_at: datetime
    resolved_by: UUID
    note: str


class ReviewEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A pushed item in review, as received, with its outcome and its resolution."""

    item_id: UUID
    device_id: UUID
    seq: int
    # Who recorded it: the device's user.
    user_id: UUID
    command_type: str
    # The command as the device sent it (a visit's note is in it).
    command: dict[str, Any]
    # On the device's clock.
    occurred_at: datetime
    received_at: datetime
    status: ReviewStatus
    review_reasons: list[str]
    problem: ItemProblem | None
    # The log position its events reached (applied_for_review only).
    position: int | None
    tenant_id: UUID | None
    # The tenant's version the device had seen when it recorded the item.
    tenant_version: int | None
    resolution: Resolution | None


_SELECT = """
    SELECT i.item_id, i.device_id, i.seq, i.user_id, i.command_type, i.command::text AS command,
           i.occurred_at, i.received_at, o.status, o.review_reasons, o.problem::text AS problem,
           o.position, o.tenant_id, i.tenant_version, r.resolved_at, r.resolved_by, r.note
    FROM sync_items i
    JOIN sync_outcomes o USING (device_id, seq)
    JOIN devices d ON d.id = i.device_id
    JOIN users u ON u.id = d.user_id
    LEFT JOIN sync_reviews r USING (device_id, seq)
"""
_ORDER = "ORDER BY i.received_at, i.device_id, i.seq"
_KEY = (datetime, UUID, int)

_command = msgspec.json.Decoder(dict[str, Any])
_problem = msgspec.json.Decoder(ItemProblem)


def _entry(r: asyncpg.Record) -> ReviewEntry:
    resolution = None
    if r["resolved_at"] is not None:
        resolution = Resolution(
            resolved_at=r["resolved_at"], resolved_by=r["resolved_by"], note=r["note"]
        )
    return ReviewEntry(
        item_id=r["item_id"],
        device_id=r["device_id"],
        seq=r["seq"],
        user_id=r["user_id"],
        command_type=r["command_type"],
        command=_command.decode(r["command"]),
        occurred_at=r["occurred_at"],
        received_at=r["received_at"],
        status=ReviewStatus(r["status"]),
        review_reasons=list(r["review_reasons"] or ()),
        problem=None if r["problem"] is None else _problem.decode(r["problem"]),
        position=r["position"],
        tenant_id=r["tenant_id"],
        tenant_version=r["tenant_version"],
        resolution=resolution,
    )


def _key(e: ReviewEntry) -> tuple[datetime, UUID, int]:
    return (e.received_at, e.device_id, e.seq)


async def _page(conn: asyncpg.Connection, q: Filters, cursor: str | None, limit: int) -> Any:
    after = decode_cursor(cursor, _KEY)
    if after is not None:
        q.add(
            f"(i.received_at, i.device_id, i.seq) > ({q.arg(after[0])}, {q.arg(after[1])}, "
            f"{q.arg(after[2])})"
        )
    rows = await conn.fetch(f"{_SELECT} {q.where()} {_ORDER} LIMIT {q.arg(limit + 1)}", *q.args)
    return page_of([_entry(r) for r in rows], limit, _key)


async def inbox(
    conn: asyncpg.Connection,
    *,
    service: Service,
    statuses: Sequence[ReviewStatus] = (),
    tenant_id: UUID | None = None,
    resolved: bool | None = False,
    cursor: str | None = None,
    limit: int,
) -> Page[ReviewEntry]:
    """Items in review recorded on devices of ``service``'s users, the longest waiting first."""
    q = Filters()
    q.add(f"o.status = ANY({q.arg([s.value for s in statuses] or IN_REVIEW)}::text[])")
    q.add(f"u.service = {q.arg(service.value)}")
    if tenant_id is not None:
        q.add(f"o.tenant_id = {q.arg(tenant_id)}")
    if resolved is not None:
        q.add("r.resolved_at IS NOT NULL" if resolved else "r.resolved_at IS NULL")
    page: Page[ReviewEntry] = await _page(conn, q, cursor, limit)
    return page


async def kept_for_tenant(
    conn: asyncpg.Connection, tenant_id: UUID, *, cursor: str | None = None, limit: int
) -> Page[ReviewEntry]:
    """The tenant's items kept aside and not applied (so not in the log), resolved or not."""
    q = Filters()
    q.add(f"o.status = ANY({q.arg(NOT_APPLIED)}::text[])")
    q.add(f"o.tenant_id = {q.arg(tenant_id)}")
    page: Page[ReviewEntry] = await _page(conn, q, cursor, limit)
    return page


async def reviews_at(
    conn: asyncpg.Connection, tenant_id: UUID, positions: Sequence[int]
) -> dict[int, TimelineReview]:
    """The review state of the items whose events reached these positions of the log."""
    if not positions:
        return {}
    rows = await conn.fetch(
        """
        SELECT o.position, i.item_id, o.status, o.review_reasons, r.resolved_at
        FROM sync_outcomes o
        JOIN sync_items i USING (device_id, seq)
        LEFT JOIN sync_reviews r USING (device_id, seq)
        WHERE o.tenant_id = $1 AND o.status = $2 AND o.position = ANY($3::bigint[])
        """,
        tenant_id,
        ReviewStatus.APPLIED_FOR_REVIEW.value,
        list(positions),
    )
    return {
        r["position"]: TimelineReview(
            item_id=r["item_id"],
            status=r["status"],
            review_reasons=list(r["review_reasons"] or ()),
            resolved_at=r["resolved_at"],
        )
        for r in rows
    }


async def resolve(
    conn: asyncpg.Connection,
    item_id: UUID,
    *,
    service: Service,
    by: UUID,
    note: str,
    now: datetime,
) -> ReviewEntry:
    """Record the resolution of an item in review recorded by a user of ``service``; once.

    An item unknown, or recorded by another service's user, is not found (404, the same
    answer, so item ids cannot be probed); one not in review (applied, or still waiting for
    its outcome) or already resolved is a conflict (409).
    """
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            SELECT i.device_id, i.seq, o.status, u.service
            FROM sync_items i
            JOIN devices d ON d.id = i.device_id
            JOIN users u ON u.id = d.user_id
            LEFT JOIN sync_outcomes o USING (device_id, seq)
            WHERE i.item_id = $1
            """,
            item_id,
        )
        if row is None or row["service"] != service.value:
            raise UnknownAggregate("item_id", "must_exist", f"no item in review with id {item_id}")
        if row["status"] not in IN_REVIEW:
            raise IllegalStateChange(
                "item_id",
                "in_review",
                "the item is not in review (it was applied as sent, or waits for its outcome)",
            )
        written = await conn.fetchval(
            """
            INSERT INTO sync_reviews (device_id, seq, resolved_at, resolved_by, note)
            VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (device_id, seq) DO NOTHING
            RETURNING true
            """,
            row["device_id"],
            row["seq"],
            now,
            by,
            note,
        )
        if not written:
            raise IllegalStateChange(
                "item_id", "not_resolved", "the item's review was resolved already"
            )
        entry = await conn.fetchrow(f"{_SELECT} WHERE i.item_id = $1", item_id)
    assert entry is not None
    return _entry(entry)
