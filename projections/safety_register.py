"""Address safety register: every flagged address, its flag, and the flag's history.

One row per dwelling in ``safety_flags`` (the address comes from ``DwellingRegistered``;
the flag columns fill when the address is flagged, ``lifted_at`` is set when the flag is
lifted and cleared when a new flag is set). Every set, change, review and lift is a row
in ``safety_flag_history``. The lift's reason is free text and is never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import attrgetter
from uuid import UUID

import asyncpg
import msgspec

from domain.dwelling import (
    DwellingRegistered,
    SafetyFlagChanged,
    SafetyFlagKind,
    SafetyFlagLifted,
    SafetyFlagReason,
    SafetyFlagReviewed,
    SafetyFlagSet,
)
from projections.base import PositionedEvent
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of

FLAG_EVENTS = (SafetyFlagSet, SafetyFlagChanged, SafetyFlagReviewed, SafetyFlagLifted)
RELEVANT = (DwellingRegistered, *FLAG_EVENTS)


@dataclass(slots=True)
class _Flag:
    """A ``safety_flags`` row while a batch is applied (the column order of the table)."""

    dwelling_id: UUID
    address: str
    unit: str | None
    postcode: str | None
    kind: str | None
    reason: str | None
    review_on: date | None
    set_by_user: UUID | None
    set_by_service: str | None
    set_at: datetime | None
    changed_at: datetime | None
    reviewed_at: datetime | None
    lifted_at: datetime | None
    position: int


# The row as a tuple in column order: ``dataclasses.astuple`` deep-copies every field,
# which cost more than the rest of the batch.
_row = attrgetter(*(f.name for f in fields(_Flag)))

COLUMNS = (
    "dwelling_id, address, unit, postcode, kind, reason, review_on, set_by_user, "
    "set_by_service, set_at, changed_at, reviewed_at, lifted_at, position"
)

UPSERT = f"""
    INSERT INTO safety_flags ({COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
    ON CONFLICT (dwelling_id) DO UPDATE SET
        address = EXCLUDED.address, unit = EXCLUDED.unit, postcode = EXCLUDED.postcode,
        kind = EXCLUDED.kind, reason = EXCLUDED.reason, review_on = EXCLUDED.review_on,
        set_by_user = EXCLUDED.set_by_user, set_by_service = EXCLUDED.set_by_service,
        set_at = EXCLUDED.set_at, changed_at = EXCLUDED.changed_at,
        reviewed_at = EXCLUDED.reviewed_at, lifted_at = EXCLUDED.lifted_at,
        position = EXCLUDED.position
"""

INSERT_HISTORY = """
    INSERT INTO safety_flag_history (dwelling_id, position, event_type, kind, reason, review_on,
                                     actor_user_id, actor_service, occurred_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (dwelling_id, position) DO NOTHING
"""


class SafetyRegisterProjection:
    name = "safety_register"
    tables: tuple[str, ...] = ("safety_flags", "safety_flag_history")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        relevant = [item for item in events if isinstance(item.event, RELEVANT)]
        if not relevant:
            return
        flags = await _load(conn, relevant)
        history = []
        for item in relevant:
            event = item.event
            dwelling_id = event.originator_id
            if isinstance(event, DwellingRegistered):
                if dwelling_id not in flags:
                    flags[dwelling_id] = _Flag(
                        dwelling_id, event.address, event.unit, event.postcode,
                        None, None, None, None, None, None, None, None, None, item.position,
                    )  # fmt: skip
                continue
            flag = flags.get(dwelling_id)
            if flag is None:
                raise LookupError(f"{event.type_name} for a dwelling never registered")
            if flag.position >= item.position:
                continue  # already applied
            _evolve(flag, event, item.position)
            actor = event.meta.actor
            history.append(
                (
                    dwelling_id,
                    item.position,
                    event.type_name,
                    flag.kind,
                    flag.reason,
                    flag.review_on if flag.lifted_at is None else None,
                    actor.user_id,
                    actor.service.value,
                    event.meta.occurred_at,
                )
            )
        await conn.executemany(UPSERT, [_row(f) for f in flags.values()])
        if history:
            await conn.executemany(INSERT_HISTORY, history)


async def _load(conn: asyncpg.Connection, relevant: Sequence[PositionedEvent]) -> dict[UUID, _Flag]:
    """The stored rows of dwellings this batch changes but did not register."""
    registered = {
        i.event.originator_id for i in relevant if isinstance(i.event, DwellingRegistered)
    }
    wanted = list({i.event.originator_id for i in relevant} - registered)
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM safety_flags WHERE dwelling_id = ANY($1::uuid[])", wanted
    )
    return {r["dwelling_id"]: _Flag(*r.values()) for r in rows}


def _evolve(flag: _Flag, event: object, position: int) -> None:
    if isinstance(event, SafetyFlagSet):
        at = event.meta.occurred_at
        flag.kind, flag.reason, flag.review_on = (
            event.kind.value,
            event.reason.value,
            event.review_on,
        )
        flag.set_by_user = event.meta.actor.user_id
        flag.set_by_service = event.meta.actor.service.value
        flag.set_at, flag.changed_at, flag.reviewed_at, flag.lifted_at = at, None, None, None
    elif isinstance(event, SafetyFlagChanged):
        flag.kind, flag.reason, flag.review_on = (
            event.kind.value,
            event.reason.value,
            event.review_on,
        )
        flag.changed_at = event.meta.occurred_at
    elif isinstance(event, SafetyFlagReviewed):
        flag.review_on, flag.reviewed_at = event.review_on, event.meta.occurred_at
    elif isinstance(event, SafetyFlagLifted):
        flag.lifted_at = event.meta.occurred_at
    flag.position = position


# --- queries ----------------------------------------------------------------------------------


class SafetyFlagRow(msgspec.Struct, frozen=True):
    """An address's active safety flag, as the register shows it."""

    dwelling_id: UUID
    address: str
    unit: str | None
    postcode: str | None
    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date
    set_by_user: UUID
    set_by_service: str
    set_at: datetime
    changed_at: datetime | None
    reviewed_at: datetime | None
    review_overdue: bool


class SafetyFlagHistoryEntry(msgspec.Struct, frozen=True):
    position: int
    event_type: str
    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date | None
    actor_user_id: UUID
    actor_service: str
    occurred_at: datetime


class SafetyFlagHistory(msgspec.Struct, frozen=True):
    """One dwelling's flag history, oldest first; ``active`` is its current flag, if any."""

    dwelling_id: UUID
    address: str
    unit: str | None
    postcode: str | None
    active: bool
    entries: list[SafetyFlagHistoryEntry]


ACTIVE = "(kind IS NOT NULL AND lifted_at IS NULL)"


async def active_flags(
    conn: asyncpg.Connection,
    *,
    today: date,
    kind: SafetyFlagKind | None = None,
    reason: SafetyFlagReason | None = None,
    review_due_by: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[SafetyFlagRow]:
    """Active flags by address (then dwelling id).

    ``review_due_by`` keeps the flags whose review is due on or before that date;
    ``review_overdue`` says the review date is before ``today``.
    """
    after = decode_cursor(cursor, (str, UUID))
    q = Filters()
    overdue = f"review_on < {q.arg(today)}"
    q.add(ACTIVE)
    if kind is not None:
        q.add(f"kind = {q.arg(kind.value)}")
    if reason is not None:
        q.add(f"reason = {q.arg(reason.value)}")
    if review_due_by is not None:
        q.add(f"review_on <= {q.arg(review_due_by)}")
    if after is not None:
        q.add(f"(address, dwelling_id) > ({q.arg(after[0])}, {q.arg(after[1])})")
    rows = await conn.fetch(
        f"""
        SELECT dwelling_id, address, unit, postcode, kind, reason, review_on, set_by_user,
               set_by_service, set_at, changed_at, reviewed_at, {overdue} AS review_overdue
        FROM safety_flags {q.where()}
        ORDER BY address, dwelling_id
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    flags = [SafetyFlagRow(**dict(r)) for r in rows]
    return page_of(flags, limit, lambda f: (f.address, f.dwelling_id))


async def flag_history(conn: asyncpg.Connection, dwelling_id: UUID) -> SafetyFlagHistory | None:
    """The dwelling's flag history in log order; None if the register has no such dwelling."""
    dwelling = await conn.fetchrow(
        f"SELECT address, unit, postcode, {ACTIVE} AS active FROM safety_flags "
        "WHERE dwelling_id = $1",
        dwelling_id,
    )
    if dwelling is None:
        return None
    rows = await conn.fetch(
        """
        SELECT position, event_type, kind, reason, review_on, actor_user_id, actor_service,
               occurred_at
        FROM safety_flag_history WHERE dwelling_id = $1 ORDER BY position
        """,
        dwelling_id,
    )
    return SafetyFlagHistory(
        dwelling_id=dwelling_id,
        entries=[SafetyFlagHistoryEntry(**dict(r)) for r in rows],
        **dict(dwelling),
    )
