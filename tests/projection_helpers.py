"""Helpers for projection tests: a quick way to fill the event log, and projection wrappers.

Events are made by the pure domain rules and stored through the real write model
(``FollowUpApplication.save``), many per transaction, so thousands take seconds.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from domain import tenant as tenants
from domain import visit as visits
from domain.application import FollowUpApplication
from domain.events import Actor, DomainEvent, event_meta
from domain.municipal_services import Service
from domain.visit import Observations, Wellbeing
from projections.base import PositionedEvent, Projection

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
META = event_meta(Actor(user_id=WORKER, service=Service.OUTREACH_TEAM), None, NOW)

# Which tenant each stored event is about, by (originator_id, originator_version);
# None for an event about no tenant.
About = dict[tuple[uuid.UUID, int], uuid.UUID | None]


class NoteFiled(DomainEvent, frozen=True, kw_only=True):
    """An event about no tenant: the timeline must leave it out."""

    text: str


def tenant_history() -> tuple[uuid.UUID, list[DomainEvent]]:
    """Five facts about one new tenant: registered, followed up, assigned, visited."""
    tenant_id = uuid.uuid4()
    registered = tenants.register(tenant_id, "Test Beboer", None, META)
    tenant = tenants.evolve(None, registered)
    started = tenants.start_follow_up(tenant, 14, date(2026, 3, 1), META)
    tenant = tenants.evolve(tenant, started)
    assigned = tenants.assign_responsibility(tenant, Service.NAV, None, META)
    tenant = tenants.evolve(tenant, assigned)
    planned = visits.plan(uuid.uuid4(), tenant, NOW, [WORKER], META)
    visit = visits.evolve(None, planned)
    completed = visits.complete(
        visit, tenant, [WORKER], Observations(wellbeing=Wellbeing.GOOD), META
    )
    return tenant_id, [registered, started, assigned, planned, completed]


def write_tenants(
    app: FollowUpApplication, count: int, *, per_save: int = 500, notes_every: int = 10
) -> About:
    """Store ``count`` tenants' histories (5 events each), plus a NoteFiled every few."""
    about: About = {}
    pending: list[DomainEvent] = []
    for n in range(count):
        tenant_id, history = tenant_history()
        pending.extend(history)
        about.update({(e.originator_id, e.originator_version): tenant_id for e in history})
        if notes_every and n % notes_every == 0:
            note = NoteFiled(originator_id=uuid.uuid4(), originator_version=1, meta=META, text="x")
            pending.append(note)
            about[(note.originator_id, 1)] = None
        if len(pending) >= per_save:
            app.save(*pending)
            pending.clear()
    if pending:
        app.save(*pending)
    return about


async def expected_rows(conn: asyncpg.Connection, about: About) -> set[tuple[uuid.UUID, int]]:
    """(tenant_id, position) for every stored event about a tenant."""
    log = await conn.fetch(
        "SELECT originator_id, originator_version, notification_id FROM folgja_events"
    )
    assert len(log) == len(about), "the log holds events these tests did not write"
    rows = set()
    for r in log:
        tenant_id = about[(r["originator_id"], r["originator_version"])]
        if tenant_id is not None:
            rows.add((tenant_id, r["notification_id"]))
    return rows


async def timeline_rows(conn: asyncpg.Connection) -> set[tuple[uuid.UUID, int]]:
    rows = await conn.fetch("SELECT tenant_id, position FROM risk_timeline")
    found = {(r["tenant_id"], r["position"]) for r in rows}
    assert len(found) == len(rows)
    return found


async def head(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM folgja_events"))


async def tracked(conn: asyncpg.Connection, projection: str = "risk_timeline") -> int:
    value = await conn.fetchval(
        "SELECT position FROM projection_tracking WHERE projection = $1", projection
    )
    return int(value or 0)


async def until(
    condition: Callable[[], Awaitable[bool]], what: str, *, within_s: float = 60.0
) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``within_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


# --- projection wrappers ------------------------------------------------------------------------


class Wrapped:
    """Delegates to a real projection; subclasses add a behaviour around ``apply``."""

    def __init__(self, inner: Projection) -> None:
        self.inner = inner

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def tables(self) -> tuple[str, ...]:
        return self.inner.tables

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        await self.inner.apply(conn, events)


class Recording(Wrapped):
    """Remembers every position it was asked to apply, in order."""

    def __init__(self, inner: Projection) -> None:
        super().__init__(inner)
        self.positions: list[int] = []

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        await self.inner.apply(conn, events)
        self.positions.extend(e.position for e in events)


class Poisoned(Wrapped):
    """Cannot project the event at one position: fails in Python or in SQL."""

    def __init__(self, inner: Projection, poison: int, *, in_sql: bool) -> None:
        super().__init__(inner)
        self.poison = poison
        self.in_sql = in_sql

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        await self.inner.apply(conn, events)
        if any(e.position == self.poison for e in events):
            if self.in_sql:
                # Aborts the transaction: only a savepoint lets later events still be written.
                await conn.execute("SELECT 1 / 0")
            raise ValueError(f"cannot summarise the event at {self.poison}")


class Holding(Wrapped):
    """Writes its ``hold_at``-th batch, announces it on stdout, then never commits it."""

    def __init__(self, inner: Projection, hold_at: int) -> None:
        super().__init__(inner)
        self.hold_at = hold_at
        self.batches = 0

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        self.batches += 1
        await self.inner.apply(conn, events)
        if self.batches == self.hold_at:
            print("holding", events[0].position, events[-1].position, flush=True)
            await asyncio.Event().wait()  # inside the open transaction, until killed


def report(*parts: Any) -> None:
    print(*parts, flush=True, file=sys.stdout)
