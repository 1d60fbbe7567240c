"""Alerts: every user's inbox of alerts, and each rule's alerts still open.

``alerts`` holds one row per alert (its rule, subject, period, tier and state);
``alert_recipients`` one row per person told, with the tier that told them. A user's inbox
is their rows, newest first. The time rules read the open alerts of a rule from here, so
a run compares what is due now with what was raised before without loading any record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from uuid import UUID

import asyncpg
import msgspec

from domain.alerts import (
    AlertAcknowledged,
    AlertCleared,
    AlertEscalated,
    AlertRaised,
    AlertRule,
)
from projections.base import PositionedEvent
from projections.pagination import Page, decode_cursor, page_of

NAME = "alerts"

INSERT_ALERT = """
    INSERT INTO alerts (alert_id, rule, subject_id, period, tenant_id, dwelling_id, due_since,
                        raised_at, tier, tier_since, raised_position, position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $8, $9, $9)
    ON CONFLICT (alert_id) DO NOTHING
"""
INSERT_RECIPIENT = """
    INSERT INTO alert_recipients (user_id, alert_id, tier) VALUES ($1, $2, $3)
    ON CONFLICT (user_id, alert_id) DO NOTHING
"""
# The position guard makes a replayed event harmless; each event fills its own columns.
ESCALATE = """
    UPDATE alerts SET tier = $2, tier_since = $3, position = $4
    WHERE alert_id = $1 AND position < $4
"""
ACKNOWLEDGE = """
    UPDATE alerts SET acknowledged_by = $2, acknowledged_at = $3, position = $4
    WHERE alert_id = $1 AND position < $4
"""
CLEAR = """
    UPDATE alerts SET cleared_at = $2, position = $3
    WHERE alert_id = $1 AND position < $3
"""


class AlertsProjection:
    name = NAME
    tables: tuple[str, ...] = ("alerts", "alert_recipients")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        for item in events:
            event = item.event
            alert_id = event.originator_id
            at = event.meta.recorded_at
            match event:
                case AlertRaised():
                    await conn.execute(
                        INSERT_ALERT,
                        alert_id,
                        event.rule.value,
                        event.subject_id,
                        event.period,
                        event.tenant_id,
                        event.dwelling_id,
                        event.due_since,
                        at,
                        item.position,
                    )
                    await conn.executemany(
                        INSERT_RECIPIENT, [(r, alert_id, 0) for r in event.recipients]
                    )
                case AlertEscalated():
                    await conn.execute(ESCALATE, alert_id, event.tier, at, item.position)
                    await conn.executemany(
                        INSERT_RECIPIENT, [(r, alert_id, event.tier) for r in event.recipients]
                    )
                case AlertAcknowledged():
                    await conn.execute(
                        ACKNOWLEDGE, alert_id, event.meta.actor.user_id, at, item.position
                    )
                case AlertCleared():
                    await conn.execute(CLEAR, alert_id, at, item.position)


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class AlertEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One alert in a user's inbox: what is late, since when, and where it stands.

    No names or notes: the subject's id (a tenant, a visit's tenant, a concern, a NAV
    notification, a handover, a dwelling, a device, a check-in) says where to look.
    """

    alert_id: UUID
    rule: AlertRule
    state: AlertState
    subject_id: UUID
    period: str
    tenant_id: UUID | None
    dwelling_id: UUID | None
    due_since: datetime
    raised_at: datetime
    # The tier that told the caller (0: when it was raised) and the tier reached.
    your_tier: int
    tier: int
    acknowledged_by: UUID | None
    acknowledged_at: datetime | None
    cleared_at: datetime | None
    position: int


_STATE_SQL = {
    AlertState.OPEN: "a.acknowledged_at IS NULL AND a.cleared_at IS NULL",
    AlertState.ACKNOWLEDGED: "a.acknowledged_at IS NOT NULL",
    AlertState.CLEARED: "a.cleared_at IS NOT NULL AND a.acknowledged_at IS NULL",
}
_ENTRY_COLUMNS = """
    a.alert_id, a.rule, a.subject_id, a.period, a.tenant_id, a.dwelling_id, a.due_since,
    a.raised_at, r.tier AS your_tier, a.tier, a.acknowledged_by, a.acknowledged_at,
    a.cleared_at, a.position, a.raised_position
"""


def _entry(row: asyncpg.Record) -> AlertEntry:
    if row["acknowledged_at"] is not None:
        state = AlertState.ACKNOWLEDGED
    elif row["cleared_at"] is not None:
        state = AlertState.CLEARED
    else:
        state = AlertState.OPEN
    return AlertEntry(
        alert_id=row["alert_id"],
        rule=AlertRule(row["rule"]),
        state=state,
        subject_id=row["subject_id"],
        period=row["period"],
        tenant_id=row["tenant_id"],
        dwelling_id=row["dwelling_id"],
        due_since=row["due_since"],
        raised_at=row["raised_at"],
        your_tier=row["your_tier"],
        tier=row["tier"],
        acknowledged_by=row["acknowledged_by"],
        acknowledged_at=row["acknowledged_at"],
        cleared_at=row["cleared_at"],
        position=row["position"],
    )


async def inbox(
    conn: asyncpg.Connection,
    user_id: UUID,
    *,
    states: Sequence[AlertState] = (),
    rules: Sequence[AlertRule] = (),
    tenant_id: UUID | None = None,
    cursor: str | None = None,
    limit: int,
) -> Page[AlertEntry]:
    """The alerts ``user_id`` was told of, newest first (the order they were raised)."""
    after = decode_cursor(cursor, [int])
    where = ["r.user_id = $1", "($2::bigint IS NULL OR a.raised_position < $2)"]
    if states:
        where.append("(" + " OR ".join(f"({_STATE_SQL[s]})" for s in set(states)) + ")")
    args: list[object] = [user_id, None if after is None else after[0]]
    if rules:
        args.append([r.value for r in rules])
        where.append(f"a.rule = ANY(${len(args)}::text[])")
    if tenant_id is not None:
        args.append(tenant_id)
        where.append(f"a.tenant_id = ${len(args)}")
    args.append(limit + 1)
    rows = await conn.fetch(
        f"SELECT {_ENTRY_COLUMNS} FROM alert_recipients r "
        "JOIN alerts a ON a.alert_id = r.alert_id "
        f"WHERE {' AND '.join(where)} ORDER BY a.raised_position DESC LIMIT ${len(args)}",
        *args,
    )
    page = page_of(rows, limit, lambda r: (r["raised_position"],))
    return Page([_entry(r) for r in page.items], page.next_cursor)


async def entry(conn: asyncpg.Connection, user_id: UUID, alert_id: UUID) -> AlertEntry | None:
    """One alert as ``user_id`` sees it; None if they were never told of it."""
    row = await conn.fetchrow(
        f"SELECT {_ENTRY_COLUMNS} FROM alert_recipients r "
        "JOIN alerts a ON a.alert_id = r.alert_id WHERE r.user_id = $1 AND r.alert_id = $2",
        user_id,
        alert_id,
    )
    return None if row is None else _entry(row)


class RaisedAlert(msgspec.Struct, frozen=True, gc=False):
    """What a time rule needs of an alert raised before: is it open, which tier, since."""

    alert_id: UUID
    open: bool
    tier: int
    tier_since: datetime


async def raised(
    conn: asyncpg.Connection, rule: AlertRule, alert_ids: Sequence[UUID]
) -> dict[UUID, RaisedAlert]:
    """The alerts among ``alert_ids`` this read model has (raised earlier)."""
    rows = await conn.fetch(
        "SELECT alert_id, acknowledged_at IS NULL AND cleared_at IS NULL AS open, tier, "
        "tier_since FROM alerts WHERE rule = $1 AND alert_id = ANY($2::uuid[])",
        rule.value,
        list(alert_ids),
    )
    return {r["alert_id"]: RaisedAlert(*r) for r in rows}


async def open_alert_ids(conn: asyncpg.Connection, rule: AlertRule) -> list[UUID]:
    """Every open alert of ``rule`` (the ones whose cause may have gone)."""
    rows = await conn.fetch(
        "SELECT alert_id FROM alerts "
        "WHERE rule = $1 AND acknowledged_at IS NULL AND cleared_at IS NULL",
        rule.value,
    )
    return [r["alert_id"] for r in rows]
