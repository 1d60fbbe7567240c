"""Caseload: one row per tenant — who follows them, their visits, where they live.

The board a field worker and a team lead work from: per tenant the responsible service
(the *team*), the contact worker, the visit interval, the last completed and the next
planned visit, when the next visit is due, the address and its safety flag. The current
risk is not stored here: queries join ``risk_state`` (the ``risk_timeline`` projection's
inputs) and assess it as of *now* (:mod:`projections.caseload_queries`), so overdue and
risk move with time, not only with events.

A batch is folded in memory: one query each loads the batch's caseload rows and
dwellings, and one statement each writes them back; the next planned visit and the
address columns are then refreshed set-based for the tenants and dwellings touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from operator import attrgetter
from typing import cast
from uuid import UUID

import asyncpg

from domain.dwelling import (
    DwellingRegistered,
    SafetyFlagChanged,
    SafetyFlagLifted,
    SafetyFlagSet,
)
from domain.events import DomainEvent
from domain.risk import visit_due_at
from domain.tenant_events import (
    FollowUpEnded,
    FollowUpStarted,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedIn,
    TenantMovedOut,
    TenantRegistered,
)
from domain.visit import VisitCompleted, VisitFailed, VisitPlanned
from projections.base import PositionedEvent

NAME = "caseload"

TENANT_EVENTS = (
    TenantRegistered,
    FollowUpStarted,
    FollowUpEnded,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedIn,
    TenantMovedOut,
)
VISIT_EVENTS = (VisitPlanned, VisitCompleted, VisitFailed)
DWELLING_EVENTS = (DwellingRegistered, SafetyFlagSet, SafetyFlagChanged, SafetyFlagLifted)


@dataclass(slots=True)
class Row:
    """A caseload row in memory; fields in the table's column order."""

    tenant_id: UUID
    full_name: str = ""
    responsible_service: str | None = None
    contact_worker_id: UUID | None = None
    responsibility_gap_since: datetime | None = None
    follow_up_active: bool = False
    follow_up_started_on: date | None = None
    follow_up_since: datetime | None = None
    follow_up_ended_on: date | None = None
    visit_interval_days: int | None = None
    last_visit_at: datetime | None = None
    next_visit_at: datetime | None = None
    visit_due_at: datetime | None = None
    dwelling_id: UUID | None = None
    address: str | None = None
    safety_flag: str | None = None
    position: int = 0


COLUMNS = [f.name for f in fields(Row)]
_TYPES = {
    "tenant_id": "uuid",
    "full_name": "text",
    "responsible_service": "text",
    "contact_worker_id": "uuid",
    "responsibility_gap_since": "timestamptz",
    "follow_up_active": "boolean",
    "follow_up_started_on": "date",
    "follow_up_since": "timestamptz",
    "follow_up_ended_on": "date",
    "visit_interval_days": "int",
    "last_visit_at": "timestamptz",
    "next_visit_at": "timestamptz",
    "visit_due_at": "timestamptz",
    "dwelling_id": "uuid",
    "address": "text",
    "safety_flag": "text",
    "position": "bigint",
}
assert set(_TYPES) == set(COLUMNS)

# The rows, and for tenants whose visits changed in the batch the next planned visit from
# ``caseload_planned_visits`` (written just before): one write per row and batch, where
# a separate UPDATE afterwards wrote every such row a second time.
_NEXT_VISIT = f"${len(COLUMNS) + 1}"
UPSERT_ROWS = f"""
    INSERT INTO caseload ({", ".join(COLUMNS)})
    SELECT {
    ", ".join(
        "CASE WHEN t.visits_changed THEN (SELECT min(p.planned_for) "
        "FROM caseload_planned_visits p WHERE p.tenant_id = t.tenant_id) "
        "ELSE t.next_visit_at END"
        if c == "next_visit_at"
        else f"t.{c}"
        for c in COLUMNS
    )
}
    FROM unnest({", ".join(f"${n}::{_TYPES[c]}[]" for n, c in enumerate(COLUMNS, 1))},
                {_NEXT_VISIT}::boolean[])
         AS t({", ".join(COLUMNS)}, visits_changed)
    ON CONFLICT (tenant_id) DO UPDATE SET
    {", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS if c != "tenant_id")}
"""

ADDRESSES = """
    UPDATE caseload c SET address = d.address, safety_flag = d.safety_flag
    FROM caseload_dwellings d
    WHERE c.dwelling_id = d.dwelling_id AND d.dwelling_id = ANY($1::uuid[])
"""


def address_label(address: str, unit: str | None) -> str:
    return f"{address}, {unit}" if unit else address


@dataclass(slots=True)
class Dwelling:
    address: str
    safety_flag: str | None = None


def _tenant_of(event: DomainEvent) -> UUID | None:
    if isinstance(event, TENANT_EVENTS):
        return event.originator_id
    if isinstance(event, VISIT_EVENTS):
        return event.tenant_id
    return None


class CaseloadProjection:
    name = NAME
    tables: tuple[str, ...] = ("caseload", "caseload_planned_visits", "caseload_dwellings")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        tenants: set[UUID] = set()
        dwellings: set[UUID] = set()
        relevant: list[tuple[PositionedEvent, _Handler, UUID | None]] = []
        for item in events:
            event = item.event
            handler = _handler_for(type(event))
            if handler is None:
                continue
            if handler is _Batch.dwelling:
                dwellings.add(event.originator_id)
                relevant.append((item, handler, None))
                continue
            tenant_id = _tenant_of(event)
            assert tenant_id is not None
            tenants.add(tenant_id)
            if handler is _Batch.moved_in:
                dwellings.add(event.dwelling_id)  # type: ignore[attr-defined]
            relevant.append((item, handler, tenant_id))
        if not relevant:
            return
        batch = _Batch()
        await batch.load(conn, tenants, dwellings)
        for item, handler, tenant_id in relevant:
            handler(batch, item, tenant_id)
        await batch.store(conn)


_Handler = Callable[["_Batch", PositionedEvent, "UUID | None"], None]


class _Batch:
    def __init__(self) -> None:
        self.rows: dict[UUID, Row] = {}
        self.changed_rows: set[UUID] = set()
        self.dwellings: dict[UUID, Dwelling] = {}
        self.changed_dwellings: set[UUID] = set()
        self.planned: dict[UUID, tuple[UUID, datetime]] = {}
        # Closed visits planned in an earlier batch (stored): to delete. A visit planned
        # and closed within this batch is only dropped from ``planned``.
        self.closed: set[UUID] = set()
        self.visits_changed: set[UUID] = set()

    async def load(
        self, conn: asyncpg.Connection, tenants: set[UUID], dwellings: set[UUID]
    ) -> None:
        if tenants:
            for r in await conn.fetch(
                f"SELECT {', '.join(COLUMNS)} FROM caseload WHERE tenant_id = ANY($1::uuid[])",
                list(tenants),
            ):
                self.rows[r["tenant_id"]] = Row(*r.values())
        if dwellings:
            for r in await conn.fetch(
                "SELECT dwelling_id, address, safety_flag FROM caseload_dwellings "
                "WHERE dwelling_id = ANY($1::uuid[])",
                list(dwellings),
            ):
                self.dwellings[r["dwelling_id"]] = Dwelling(r["address"], r["safety_flag"])

    def row(self, tenant_id: UUID, position: int) -> Row:
        row = self.rows.get(tenant_id)
        if row is None:
            row = self.rows[tenant_id] = Row(tenant_id)
        row.position = position
        self.changed_rows.add(tenant_id)
        return row

    # One method per kind of event (see _HANDLERS). When the next visit is due follows
    # from the follow-up's start and interval and the last completed visit. The visit
    # events (most of the log) work it out again only when the last completed visit
    # changes; the tenant events, rare, always do.

    def registered(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(TenantRegistered, item.event)
        row = self._tenant_row(item, tenant_id)
        row.full_name = event.full_name
        self._due(row)

    def follow_up_started(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(FollowUpStarted, item.event)
        row = self._tenant_row(item, tenant_id)
        row.follow_up_active = True
        row.follow_up_started_on = event.started_on
        row.follow_up_since = event.meta.occurred_at
        row.follow_up_ended_on = None
        row.visit_interval_days = event.visit_interval_days
        self._due(row)

    def follow_up_ended(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(FollowUpEnded, item.event)
        row = self._tenant_row(item, tenant_id)
        row.follow_up_active = False
        row.follow_up_ended_on = event.ended_on
        self._due(row)

    def assigned(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(ResponsibilityAssigned, item.event)
        row = self._tenant_row(item, tenant_id)
        row.responsible_service = event.service.value
        row.contact_worker_id = event.contact_worker_id
        row.responsibility_gap_since = None
        self._due(row)

    def lapsed(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(ResponsibilityLapsed, item.event)
        row = self._tenant_row(item, tenant_id)
        row.responsible_service = None
        row.contact_worker_id = None
        row.responsibility_gap_since = event.meta.occurred_at
        self._due(row)

    def moved_in(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(TenantMovedIn, item.event)
        row = self._tenant_row(item, tenant_id)
        dwelling = self.dwellings.get(event.dwelling_id)
        row.dwelling_id = event.dwelling_id
        row.address = dwelling.address if dwelling else None
        row.safety_flag = dwelling.safety_flag if dwelling else None
        self._due(row)

    def moved_out(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        row = self._tenant_row(item, tenant_id)
        row.dwelling_id = row.address = row.safety_flag = None
        self._due(row)

    def visit_planned(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(VisitPlanned, item.event)
        row = self._tenant_row(item, tenant_id)
        self.planned[event.originator_id] = (row.tenant_id, event.planned_for)
        self.visits_changed.add(row.tenant_id)

    def visit_closed(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        event = cast(VisitCompleted | VisitFailed, item.event)
        row = self._tenant_row(item, tenant_id)
        if self.planned.pop(event.originator_id, None) is None:
            self.closed.add(event.originator_id)
        self.visits_changed.add(row.tenant_id)
        at = event.meta.occurred_at
        if isinstance(event, VisitCompleted) and (
            row.last_visit_at is None or at > row.last_visit_at
        ):
            row.last_visit_at = at
            self._due(row)

    def other_tenant_event(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        self._due(self._tenant_row(item, tenant_id))

    def _tenant_row(self, item: PositionedEvent, tenant_id: UUID | None) -> Row:
        assert tenant_id is not None
        return self.row(tenant_id, item.position)

    @staticmethod
    def _due(row: Row) -> None:
        row.visit_due_at = visit_due_at(
            row.follow_up_started_on, row.visit_interval_days, row.last_visit_at
        )

    def dwelling(self, item: PositionedEvent, tenant_id: UUID | None) -> None:
        self._dwelling(item.event)

    def _dwelling(self, event: DomainEvent) -> None:
        dwelling_id = event.originator_id
        if isinstance(event, DwellingRegistered):
            self.dwellings[dwelling_id] = Dwelling(address_label(event.address, event.unit))
        else:
            dwelling = self.dwellings.get(dwelling_id)
            if dwelling is None:  # an address this projection never saw registered
                return
            if isinstance(event, SafetyFlagSet | SafetyFlagChanged):
                dwelling.safety_flag = event.kind.value
            elif isinstance(event, SafetyFlagLifted):
                dwelling.safety_flag = None
        self.changed_dwellings.add(dwelling_id)

    async def store(self, conn: asyncpg.Connection) -> None:
        if self.changed_dwellings:
            ids = list(self.changed_dwellings)
            await conn.execute(
                "INSERT INTO caseload_dwellings (dwelling_id, address, safety_flag) "
                "SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) "
                "ON CONFLICT (dwelling_id) DO UPDATE "
                "SET address = EXCLUDED.address, safety_flag = EXCLUDED.safety_flag",
                ids,
                [self.dwellings[d].address for d in ids],
                [self.dwellings[d].safety_flag for d in ids],
            )
        if self.closed:
            await conn.execute(
                "DELETE FROM caseload_planned_visits WHERE visit_id = ANY($1::uuid[])",
                list(self.closed),
            )
        if self.planned:
            ids = list(self.planned)
            await conn.execute(
                "INSERT INTO caseload_planned_visits (visit_id, tenant_id, planned_for) "
                "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) "
                "ON CONFLICT (visit_id) DO NOTHING",
                ids,
                [self.planned[v][0] for v in ids],
                [self.planned[v][1] for v in ids],
            )
        changed = self.changed_rows | self.visits_changed  # (every visit event marks its row)
        if changed:
            rows = [_columns_of(self.rows[t]) for t in changed]
            await conn.execute(
                UPSERT_ROWS,
                *map(list, zip(*rows, strict=True)),
                [t in self.visits_changed for t in changed],
            )
        if self.changed_dwellings:
            await conn.execute(ADDRESSES, list(self.changed_dwellings))


_columns_of = attrgetter(*COLUMNS)

# Which method applies an event, by the event's class: the first entry it is an instance
# of (as isinstance would decide, subclasses included), looked up once per class.
_HANDLERS: tuple[tuple[type[DomainEvent] | tuple[type[DomainEvent], ...], _Handler], ...] = (
    (DWELLING_EVENTS, _Batch.dwelling),
    (TenantRegistered, _Batch.registered),
    (FollowUpStarted, _Batch.follow_up_started),
    (FollowUpEnded, _Batch.follow_up_ended),
    (ResponsibilityAssigned, _Batch.assigned),
    (ResponsibilityLapsed, _Batch.lapsed),
    (TenantMovedIn, _Batch.moved_in),
    (TenantMovedOut, _Batch.moved_out),
    (VisitPlanned, _Batch.visit_planned),
    ((VisitCompleted, VisitFailed), _Batch.visit_closed),
    (TENANT_EVENTS + VISIT_EVENTS, _Batch.other_tenant_event),
)
_handler_cache: dict[type, _Handler | None] = {}


def _handler_for(cls: type) -> _Handler | None:
    try:
        return _handler_cache[cls]
    except KeyError:
        handler = next((h for kinds, h in _HANDLERS if issubclass(cls, kinds)), None)
        _handler_cache[cls] = handler
        return handler
