"""Concern tracker: every concern, its status, who holds it, how long it has waited.

For the property manager (FBE) and every raiser: "the raiser can always see the status of
what it raised". Rows hold only what a board may show — never the description or the
outcome text.

Status here is the domain's (raised, routed, acknowledged, resolved) plus ``escalated``:
an escalated concern shows as escalated until it is acknowledged, routed on or resolved.

Waiting: a concern waits from its routing (or from being raised, while nobody holds it)
until the holder acknowledges it or it is resolved; routing it on starts a new wait.
``waiting_since`` and ``waiting_ended_at`` are stored; the seconds are computed at read
time, so they grow with the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from uuid import UUID

import asyncpg
import msgspec

from domain.concern import (
    ConcernAcknowledged,
    ConcernCategory,
    ConcernEscalated,
    ConcernEvent,
    ConcernOutcome,
    ConcernRaised,
    ConcernResolved,
    ConcernRouted,
)
from domain.municipal_services import Service
from projections.base import PositionedEvent
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of


class TrackerStatus(StrEnum):
    RAISED = "raised"
    ROUTED = "routed"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


@dataclass(slots=True)
class _Concern:
    """A ``concerns`` row while a batch is applied (the column order of the table)."""

    concern_id: UUID
    tenant_id: UUID | None
    dwelling_id: UUID | None
    category: str
    status: str
    raised_by_service: str
    raised_at: datetime
    routed_to_service: str | None
    routed_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str | None
    escalations: int
    last_escalated_at: datetime | None
    waiting_since: datetime
    waiting_ended_at: datetime | None
    position: int
    # Who raised it: told when a time rule escalates it (docs/alerts.md).
    raised_by_user: UUID | None


# The row as a tuple in column order: ``dataclasses.astuple`` deep-copies every field,
# which cost more than the rest of the batch.
_row = attrgetter(*(f.name for f in fields(_Concern)))

COLUMNS = (
    "concern_id, tenant_id, dwelling_id, category, status, raised_by_service, raised_at, "
    "routed_to_service, routed_at, acknowledged_at, resolved_at, outcome, escalations, "
    "last_escalated_at, waiting_since, waiting_ended_at, position, raised_by_user"
)

UPSERT = f"""
    INSERT INTO concerns ({COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
    ON CONFLICT (concern_id) DO UPDATE SET
        tenant_id = EXCLUDED.tenant_id, dwelling_id = EXCLUDED.dwelling_id,
        category = EXCLUDED.category, status = EXCLUDED.status,
        raised_by_service = EXCLUDED.raised_by_service, raised_at = EXCLUDED.raised_at,
        routed_to_service = EXCLUDED.routed_to_service, routed_at = EXCLUDED.routed_at,
        acknowledged_at = EXCLUDED.acknowledged_at, resolved_at = EXCLUDED.resolved_at,
        outcome = EXCLUDED.outcome, escalations = EXCLUDED.escalations,
        last_escalated_at = EXCLUDED.last_escalated_at, waiting_since = EXCLUDED.waiting_since,
        waiting_ended_at = EXCLUDED.waiting_ended_at, position = EXCLUDED.position,
        raised_by_user = EXCLUDED.raised_by_user
"""


class ConcernTrackerProjection:
    name = "concern_tracker"
    tables: tuple[str, ...] = ("concerns",)

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        relevant = [item for item in events if isinstance(item.event, ConcernEvent)]
        if not relevant:
            return
        concerns = await _load(conn, relevant)
        for item in relevant:
            event = item.event
            concern_id = event.originator_id
            if isinstance(event, ConcernRaised):
                if concern_id not in concerns:
                    at = event.meta.occurred_at
                    concerns[concern_id] = _Concern(
                        concern_id, event.tenant_id, event.dwelling_id, event.category.value,
                        TrackerStatus.RAISED.value, event.raised_by.value, at,
                        None, None, None, None, None, 0, None, at, None, item.position,
                        event.meta.actor.user_id,
                    )  # fmt: skip
                continue
            concern = concerns.get(concern_id)
            if concern is None:
                raise LookupError(f"{event.type_name} for a concern never raised")
            if concern.position < item.position:
                _evolve(concern, event, item.position)
        await conn.executemany(UPSERT, [_row(c) for c in concerns.values()])


async def _load(
    conn: asyncpg.Connection, relevant: Sequence[PositionedEvent]
) -> dict[UUID, _Concern]:
    """The stored rows of concerns this batch changes but did not raise."""
    raised = {i.event.originator_id for i in relevant if isinstance(i.event, ConcernRaised)}
    wanted = list({i.event.originator_id for i in relevant} - raised)
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM concerns WHERE concern_id = ANY($1::uuid[])", wanted
    )
    return {r["concern_id"]: _Concern(*r.values()) for r in rows}


def _route(concern: _Concern, to_service: Service, at: datetime, status: TrackerStatus) -> None:
    concern.status = status.value
    concern.routed_to_service = to_service.value
    concern.routed_at = at
    concern.acknowledged_at = None
    concern.waiting_since, concern.waiting_ended_at = at, None


def _evolve(concern: _Concern, event: object, position: int) -> None:
    concern.position = position
    if not isinstance(event, ConcernEvent):
        return
    at = event.meta.occurred_at
    if isinstance(event, ConcernRouted):
        _route(concern, event.to_service, at, TrackerStatus.ROUTED)
    elif isinstance(event, ConcernAcknowledged):
        concern.status = TrackerStatus.ACKNOWLEDGED.value
        concern.acknowledged_at = at
        if concern.waiting_ended_at is None:
            concern.waiting_ended_at = at
    elif isinstance(event, ConcernResolved):
        concern.status = TrackerStatus.RESOLVED.value
        concern.resolved_at = at
        concern.outcome = event.outcome.value
        if concern.waiting_ended_at is None:
            concern.waiting_ended_at = at
    elif isinstance(event, ConcernEscalated):
        concern.escalations += 1
        concern.last_escalated_at = at
        if event.to_service is not None:
            _route(concern, event.to_service, at, TrackerStatus.ESCALATED)
        else:
            concern.status = TrackerStatus.ESCALATED.value


# --- queries ----------------------------------------------------------------------------------


class ConcernTrackerRow(msgspec.Struct, frozen=True):
    """A concern on the tracker: never its description or the outcome's text."""

    concern_id: UUID
    tenant_id: UUID | None
    dwelling_id: UUID | None
    category: ConcernCategory
    status: TrackerStatus
    raised_by_service: Service
    raised_at: datetime
    routed_to_service: Service | None
    routed_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: ConcernOutcome | None
    escalations: int
    last_escalated_at: datetime | None
    waiting_since: datetime
    waiting: bool
    waiting_unacknowledged_s: int


SORT_KEY = "(waiting_ended_at IS NOT NULL), waiting_since, concern_id"


async def concern_list(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    raised_by: Service | None = None,
    holder: Service | None = None,
    involving: Service | None = None,
    statuses: Sequence[TrackerStatus] = (),
    open_only: bool = False,
    categories: Sequence[ConcernCategory] = (),
    tenant_id: UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ConcernTrackerRow]:
    """Concerns still waiting first, the longest wait first; then those no longer waiting.

    ``waiting_unacknowledged_s`` is the wait up to ``now`` (or up to its end), never negative.
    """
    after = decode_cursor(cursor, (bool, datetime, UUID))
    q = Filters()
    waited = (
        f"greatest(0, floor(extract(epoch FROM "
        f"coalesce(waiting_ended_at, {q.arg(now)}) - waiting_since)))::bigint"
    )
    if raised_by is not None:
        q.add(f"raised_by_service = {q.arg(raised_by.value)}")
    if holder is not None:
        q.add(f"routed_to_service = {q.arg(holder.value)}")
    if involving is not None:
        service = q.arg(involving.value)
        q.add(f"raised_by_service = {service} OR routed_to_service = {service}")
    if statuses:
        q.add(f"status = ANY({q.arg([s.value for s in statuses])}::text[])")
    if open_only:
        q.add(f"status <> '{TrackerStatus.RESOLVED.value}'")
    if categories:
        q.add(f"category = ANY({q.arg([c.value for c in categories])}::text[])")
    if tenant_id is not None:
        q.add(f"tenant_id = {q.arg(tenant_id)}")
    if after is not None:
        q.add(f"({SORT_KEY}) > ({q.arg(after[0])}, {q.arg(after[1])}, {q.arg(after[2])})")
    rows = await conn.fetch(
        f"""
        SELECT concern_id, tenant_id, dwelling_id, category, status, raised_by_service,
               raised_at, routed_to_service, routed_at, acknowledged_at, resolved_at, outcome,
               escalations, last_escalated_at, waiting_since,
               waiting_ended_at IS NULL AS waiting, {waited} AS waiting_unacknowledged_s
        FROM concerns {q.where()}
        ORDER BY {SORT_KEY}
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    items = [ConcernTrackerRow(**dict(r)) for r in rows]
    return page_of(items, limit, lambda c: (not c.waiting, c.waiting_since, c.concern_id))
