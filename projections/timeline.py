"""Tenant timeline: one row per event about a tenant, in log order, with a short summary.

Summaries never contain free-text notes or names: they are safe to show on any board
the reader is allowed to see, and never end up in logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import singledispatch
from uuid import UUID

import asyncpg
import msgspec

from domain.events import DomainEvent
from domain.tenant import FollowUpEnded, FollowUpStarted, ResponsibilityAssigned, TenantRegistered
from domain.visit import VisitCompleted, VisitFailed, VisitPlanned
from projections.base import PositionedEvent


class TimelineEntry(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_user_id: UUID
    actor_service: str
    summary: str


@singledispatch
def summarize(event: DomainEvent) -> tuple[UUID, str] | None:
    """The tenant an event is about and a one-line summary; None if it is about no tenant."""
    return None


@summarize.register
def _(event: TenantRegistered) -> tuple[UUID, str]:
    return event.originator_id, "Registered as tenant"


@summarize.register
def _(event: FollowUpStarted) -> tuple[UUID, str]:
    return (
        event.originator_id,
        f"Follow-up started {event.started_on.isoformat()}, "
        f"visit every {event.visit_interval_days} days",
    )


@summarize.register
def _(event: ResponsibilityAssigned) -> tuple[UUID, str]:
    contact = "with a named contact" if event.contact_worker_id else "without a named contact"
    return event.originator_id, f"Responsibility assigned to {event.service.value} {contact}"


@summarize.register
def _(event: FollowUpEnded) -> tuple[UUID, str]:
    return event.originator_id, f"Follow-up ended {event.ended_on.isoformat()}"


@summarize.register
def _(event: VisitPlanned) -> tuple[UUID, str]:
    when = event.planned_for.isoformat(timespec="minutes")
    return event.tenant_id, f"Visit planned for {when} ({len(event.worker_ids)} worker(s))"


@summarize.register
def _(event: VisitCompleted) -> tuple[UUID, str]:
    return event.tenant_id, f"Visit completed; wellbeing {event.observations.wellbeing.value}"


@summarize.register
def _(event: VisitFailed) -> tuple[UUID, str]:
    return event.tenant_id, f"Visit failed: {event.reason.value.replace('_', ' ')}"


INSERT = """
    INSERT INTO tenant_timeline (tenant_id, position, event_type, occurred_at, recorded_at,
                                 actor_user_id, actor_service, summary)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (tenant_id, position) DO NOTHING
"""


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
        if rows:
            await conn.executemany(INSERT, rows)


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
