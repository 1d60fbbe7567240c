"""Risk timeline per tenant: every fact about the tenant, and the risk level at each point.

It is also the tenant's timeline: one row per fact, written once. The reads of these rows
(the tenant's timeline, with or without the risk, the plot series, the risk now) are in
:mod:`projections.risk_timeline_queries`.

For each event about a tenant the projection folds the event into the tenant's risk
inputs (:func:`domain.risk.fold`), assesses them as of the event's ``occurred_at`` (when it
happened in the world; see docs/risk-model.md for why not ``recorded_at``) and writes one
timeline row with the level, score and reasons. The inputs are kept per tenant in
``risk_state``, so :func:`current_risk` can assess them as of *now*: a visit becomes
overdue without any new event.

Facts about an address reach the people living there: ``risk_dwelling_residents`` follows
TenantMovedIn/TenantMovedOut, and safety-flag events and concerns naming only the address
go on each resident's timeline. Open concerns about the address alone are kept in
``risk_address_concerns``, so a tenant moving in takes them on and their later events find
the residents.

A batch is folded in memory: one query each loads the batch's address concerns, residents
and tenant states, and one statement each writes them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

import asyncpg
import msgspec

from domain import risk
from domain.concern import ConcernCategory, ConcernEvent, ConcernRaised, ConcernResolved
from domain.events import DomainEvent
from domain.risk import OpenConcern, RiskInputs
from domain.tenant_events import TenantMovedIn, TenantMovedOut
from projections.base import PositionedEvent
from projections.summaries import summarize
from projections.summaries.addresses import SAFETY_FLAG_EVENTS, address_summary

NAME = "risk_timeline"

_reasons_json = msgspec.json.Encoder()


class _WireEntry(msgspec.Struct, frozen=True):
    """A timeline entry as a tablet receives it (the fields of sync.protocol's
    TimelineRecord), encoded once when the row is written: a pull then joins stored
    strings instead of building JSON for thousands of rows (decision 70)."""

    position: int
    event_type: str
    occurred_at: datetime
    summary: str


_entry_json = msgspec.json.Encoder()


TIMELINE_COLUMNS = [
    "tenant_id",
    "position",
    "occurred_at",
    "recorded_at",
    "event_type",
    "summary",
    "level",
    "score",
    "reasons",
    "model_version",
    "actor_user_id",
    "actor_service",
    "entry",
]

# A batch with fewer timeline rows than this inserts them with one INSERT ... unnest (one
# round trip); a bigger one (catching up) COPYs them, which costs a round trip more but
# is faster per row. Live batches hold a few events.
COPY_FROM_ROWS = 100
_TIMELINE_TYPES = (
    "uuid", "bigint", "timestamptz", "timestamptz", "text", "text", "text", "int",
    "text", "int", "uuid", "text", "text",
)  # fmt: skip
assert len(_TIMELINE_TYPES) == len(TIMELINE_COLUMNS)
INSERT_ROWS = f"""
    INSERT INTO risk_timeline ({", ".join(TIMELINE_COLUMNS)})
    SELECT {", ".join(f"t.{c}" for c in TIMELINE_COLUMNS)}
    FROM unnest({", ".join(f"${n}::{t}[]" for n, t in enumerate(_TIMELINE_TYPES, 1))})
         AS t({", ".join(TIMELINE_COLUMNS)})
"""

# Each tenant's newest entries, joined in one row (``risk_timeline_recent``): what a tablet
# new to the tenant is sent when they all fall within its history window, read as one row
# instead of joined from RECENT_ENTRIES rows in every pull (decision 72). Refreshed for
# the tenants a batch added entries to, in the batch's transaction.
RECENT_ENTRIES = 50
REFRESH_RECENT = f"""
    INSERT INTO risk_timeline_recent
        (tenant_id, entries, kept, oldest_position, oldest_occurred_at)
    SELECT w.tenant_id, '[' || string_agg(r.entry, ',' ORDER BY r.position) || ']',
           count(*), min(r.position), min(r.occurred_at)
    FROM unnest($1::uuid[]) AS w(tenant_id)
    CROSS JOIN LATERAL (
        SELECT position, occurred_at, entry FROM risk_timeline t
        WHERE t.tenant_id = w.tenant_id
        ORDER BY position DESC LIMIT {RECENT_ENTRIES}
    ) AS r
    GROUP BY w.tenant_id
    ON CONFLICT (tenant_id) DO UPDATE
    SET entries = EXCLUDED.entries, kept = EXCLUDED.kept,
        oldest_position = EXCLUDED.oldest_position,
        oldest_occurred_at = EXCLUDED.oldest_occurred_at
"""

UPSERT_STATE = """
    INSERT INTO risk_state (tenant_id, inputs, level, score, reasons, model_version,
                            assessed_at, stable_until, position)
    SELECT t.tenant_id, t.inputs, t.level, t.score, t.reasons, t.model_version,
           t.assessed_at, t.stable_until, t.position
    FROM unnest($1::uuid[], $2::bytea[], $3::text[], $4::int[], $5::text[], $6::int[],
                $7::timestamptz[], $8::timestamptz[], $9::bigint[])
         AS t(tenant_id, inputs, level, score, reasons, model_version, assessed_at,
              stable_until, position)
    ON CONFLICT (tenant_id) DO UPDATE
    SET inputs = EXCLUDED.inputs, level = EXCLUDED.level, score = EXCLUDED.score,
        reasons = EXCLUDED.reasons, model_version = EXCLUDED.model_version,
        assessed_at = EXCLUDED.assessed_at, stable_until = EXCLUDED.stable_until,
        position = greatest(risk_state.position, EXCLUDED.position)
"""


class _Unknown:
    """Not worked out yet (None already means: holds for ever)."""


UNKNOWN = _Unknown()


class _Assessed:
    """A tenant's latest assessment in this batch, as it goes into the rows."""

    __slots__ = ("at", "inputs", "level", "model_version", "reasons", "score", "until")

    def __init__(
        self,
        inputs: RiskInputs,
        at: datetime,
        level: str,
        score: int,
        reasons: str,
        model_version: int,
        until: datetime | _Unknown | None,
    ) -> None:
        self.inputs = inputs
        self.at = at
        self.level = level
        self.score = score
        self.reasons = reasons
        self.model_version = model_version
        self.until = until

    def stable_until(self) -> datetime | None:
        # Worked out only when asked: most assessments are replaced by the tenant's next
        # event in the same batch before anyone needs to know how long they hold.
        until = self.until
        if isinstance(until, _Unknown):
            until = self.until = risk.stable_until(self.inputs, self.at)
        return until

    def holds_at(self, inputs: RiskInputs, at: datetime) -> bool:
        """Whether assessing ``inputs`` at ``at`` gives this assessment again.

        Same inputs (the very object: folding an event no rule looks at returns it) and a
        moment no later than :func:`domain.risk.stable_until` says it holds: the rules'
        own contract (tests/test_risk_rules.py sweeps time to check it).
        """
        if inputs is not self.inputs or at < self.at:
            return False
        if at == self.at:
            return True
        until = self.stable_until()
        return until is None or at < until


class _Tenant:
    """One tenant in a batch: what risk_state keeps, as the batch changes it."""

    __slots__ = ("assessed", "at", "inputs", "position")

    def __init__(self, inputs: RiskInputs, assessed: _Assessed | None = None) -> None:
        self.inputs = inputs
        # The last assessment (with its reasons as JSON), and the event it was for (when,
        # at which position); position None: not changed by this batch.
        self.assessed = assessed
        self.at: datetime | None = None
        self.position: int | None = None


class _Batch:
    """The state one batch needs, loaded once, changed in memory, written back once."""

    def __init__(self) -> None:
        # One entry per tenant (one lookup per event, where separate dicts took four).
        self.tenants: dict[UUID, _Tenant] = {}
        self.residents: defaultdict[UUID, set[UUID]] = defaultdict(set)
        self.moved: set[UUID] = set()  # dwellings whose residents changed
        # Open concerns about an address alone: concern id -> (dwelling, category).
        self.address_concerns: dict[UUID, tuple[UUID, ConcernCategory]] = {}
        self.concerns_added: set[UUID] = set()
        self.concerns_removed: set[UUID] = set()
        self.rows: list[tuple[object, ...]] = []

    def emit(
        self,
        tenant_id: UUID,
        tenant: _Tenant,
        inputs: RiskInputs,
        item: PositionedEvent,
        text: str,
    ) -> None:
        event = item.event
        meta = event.meta
        at = meta.occurred_at
        # Most events leave the inputs as they were (a visit planned, a NAV notice) and
        # many follow the last one within the time its assessment holds: assess again
        # only when the inputs changed or a time-dependent rule may answer otherwise.
        last = tenant.assessed
        if last is None or not last.holds_at(inputs, at):
            assessment = risk.assess(inputs, at)
            last = tenant.assessed = _Assessed(
                inputs,
                at,
                assessment.level.value,
                assessment.score,
                _reasons_json.encode(assessment.reasons).decode() if assessment.reasons else "[]",
                assessment.model_version,
                UNKNOWN,
            )
        tenant.inputs = inputs
        tenant.at = at
        tenant.position = item.position
        self.rows.append(
            (
                tenant_id,
                item.position,
                at,
                meta.recorded_at,
                event.type_name,
                text,
                last.level,
                last.score,
                last.reasons,
                last.model_version,
                meta.actor.user_id,
                meta.actor.service.value,
                _entry_json.encode(_WireEntry(item.position, event.type_name, at, text)).decode(),
            )
        )

    def tenant(self, tenant_id: UUID) -> _Tenant:
        tenant = self.tenants.get(tenant_id)
        if tenant is None:
            tenant = self.tenants[tenant_id] = _Tenant(risk.EMPTY)
        return tenant

    def address_concerns_of(self, dwelling_id: UUID) -> list[OpenConcern]:
        return [
            OpenConcern(concern_id, category, dwelling)
            for concern_id, (dwelling, category) in self.address_concerns.items()
            if dwelling == dwelling_id
        ]


def _address_concern(event: DomainEvent) -> ConcernEvent | None:
    """A concern event naming no tenant (so about an address alone), else None."""
    if isinstance(event, ConcernEvent) and event.tenant_id is None:
        return event
    return None


class RiskTimelineProjection:
    name = NAME
    tables: tuple[str, ...] = (
        "risk_state",
        "risk_timeline",
        "risk_timeline_recent",
        "risk_dwelling_residents",
        "risk_address_concerns",
    )

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        prepared: list[tuple[PositionedEvent, tuple[UUID, str] | None]] = []
        tenants: set[UUID] = set()
        dwellings: set[UUID] = set()
        concerns: set[UUID] = set()
        for item in events:
            event = item.event
            about = summarize(event)
            if about is not None:
                tenants.add(about[0])
                if isinstance(event, TenantMovedIn | TenantMovedOut):
                    dwellings.add(event.dwelling_id)
            elif isinstance(event, SAFETY_FLAG_EVENTS):
                dwellings.add(event.originator_id)
            elif (concern := _address_concern(event)) is not None:
                if isinstance(concern, ConcernRaised):
                    if concern.dwelling_id is None:
                        continue
                    dwellings.add(concern.dwelling_id)
                else:
                    concerns.add(concern.originator_id)
            else:
                continue
            prepared.append((item, about))
        if not prepared:
            return

        batch = _Batch()
        await _load(conn, batch, tenants, dwellings, concerns)
        for item, about in prepared:
            _apply_one(batch, item, about)
        await _store(conn, batch)


async def _load(
    conn: asyncpg.Connection,
    batch: _Batch,
    tenants: set[UUID],
    dwellings: set[UUID],
    concerns: set[UUID],
) -> None:
    if concerns or dwellings:
        for r in await conn.fetch(
            "SELECT concern_id, dwelling_id, category FROM risk_address_concerns "
            "WHERE concern_id = ANY($1::uuid[]) OR dwelling_id = ANY($2::uuid[])",
            list(concerns),
            list(dwellings),
        ):
            batch.address_concerns[r["concern_id"]] = (
                r["dwelling_id"],
                ConcernCategory(r["category"]),
            )
            dwellings.add(r["dwelling_id"])
    if dwellings:
        for r in await conn.fetch(
            "SELECT dwelling_id, tenant_id FROM risk_dwelling_residents "
            "WHERE dwelling_id = ANY($1::uuid[])",
            list(dwellings),
        ):
            batch.residents[r["dwelling_id"]].add(r["tenant_id"])
            tenants.add(r["tenant_id"])
    if tenants:
        # With the stored assessment: the tenant's next event often leaves the inputs as
        # they were, within the time that assessment holds, and then it is the answer.
        for r in await conn.fetch(
            "SELECT tenant_id, inputs, level, score, reasons, model_version, "
            "assessed_at, stable_until FROM risk_state WHERE tenant_id = ANY($1::uuid[])",
            list(tenants),
        ):
            tenant_id, data, level, score, reasons, version, at, until = r
            inputs = risk.decode_inputs(data)
            batch.tenants[tenant_id] = _Tenant(
                inputs,
                _Assessed(inputs, at, level, score, reasons, version, until)
                if version == risk.RISK_MODEL_VERSION
                else None,
            )


def _apply_one(batch: _Batch, item: PositionedEvent, about: tuple[UUID, str] | None) -> None:
    event = item.event
    if about is not None:
        tenant_id, text = about
        tenant = batch.tenant(tenant_id)
        inputs = risk.fold(tenant.inputs, event)
        if isinstance(event, TenantMovedIn):
            batch.residents[event.dwelling_id].add(tenant_id)
            batch.moved.add(event.dwelling_id)
            inputs = risk.with_address_concerns(
                inputs, batch.address_concerns_of(event.dwelling_id)
            )
        elif isinstance(event, TenantMovedOut):
            batch.residents[event.dwelling_id].discard(tenant_id)
            batch.moved.add(event.dwelling_id)
        batch.emit(tenant_id, tenant, inputs, item, text)
        return

    dwelling_id: UUID | None = None
    if isinstance(event, SAFETY_FLAG_EVENTS):
        dwelling_id = event.originator_id
    elif (concern := _address_concern(event)) is not None:
        concern_id = concern.originator_id
        if isinstance(concern, ConcernRaised):
            dwelling_id = concern.dwelling_id
            if dwelling_id is not None:
                batch.address_concerns[concern_id] = (dwelling_id, concern.category)
                batch.concerns_added.add(concern_id)
        elif concern_id in batch.address_concerns:
            dwelling_id = batch.address_concerns[concern_id][0]
            if isinstance(concern, ConcernResolved):
                del batch.address_concerns[concern_id]
                batch.concerns_removed.add(concern_id)
    if dwelling_id is None:
        return
    line = address_summary(event)
    if line is None:
        return
    for tenant_id in sorted(batch.residents.get(dwelling_id, ())):
        tenant = batch.tenant(tenant_id)
        batch.emit(tenant_id, tenant, risk.fold(tenant.inputs, event), item, line)


async def _store(conn: asyncpg.Connection, batch: _Batch) -> None:
    # Each (tenant, position) is new: the runner applies every event exactly once.
    if len(batch.rows) >= COPY_FROM_ROWS:
        await conn.copy_records_to_table(
            "risk_timeline", records=batch.rows, columns=TIMELINE_COLUMNS
        )
    elif batch.rows:
        await conn.execute(INSERT_ROWS, *(list(column) for column in zip(*batch.rows, strict=True)))
    if batch.rows:
        await conn.execute(REFRESH_RECENT, list({row[0] for row in batch.rows}))
    changed = [(t, state) for t, state in batch.tenants.items() if state.position is not None]
    if changed:
        assessed = [cast(_Assessed, state.assessed) for _, state in changed]
        await conn.execute(
            UPSERT_STATE,
            [t for t, _ in changed],
            [risk.encode_inputs(state.inputs) for _, state in changed],
            [a.level for a in assessed],
            [a.score for a in assessed],
            [a.reasons for a in assessed],
            [a.model_version for a in assessed],
            [state.at for _, state in changed],
            # The assessment holds from its own moment to stable_until, and the event's
            # moment lies in between: stable_until as of the event is the same moment.
            [a.stable_until() for a in assessed],
            [state.position for _, state in changed],
        )
    if batch.moved:
        await conn.execute(
            "DELETE FROM risk_dwelling_residents WHERE dwelling_id = ANY($1::uuid[])",
            list(batch.moved),
        )
        pairs = [(d, t) for d in batch.moved for t in batch.residents.get(d, ())]
        if pairs:
            await conn.execute(
                "INSERT INTO risk_dwelling_residents (dwelling_id, tenant_id) "
                "SELECT * FROM unnest($1::uuid[], $2::uuid[])",
                [d for d, _ in pairs],
                [t for _, t in pairs],
            )
    removed = batch.concerns_removed - batch.concerns_added
    if removed:
        await conn.execute(
            "DELETE FROM risk_address_concerns WHERE concern_id = ANY($1::uuid[])", list(removed)
        )
    added = [c for c in batch.concerns_added if c in batch.address_concerns]
    if added:
        await conn.execute(
            "INSERT INTO risk_address_concerns (concern_id, dwelling_id, category) "
            "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) "
            "ON CONFLICT (concern_id) DO NOTHING",
            added,
            [batch.address_concerns[c][0] for c in added],
            [batch.address_concerns[c][1].value for c in added],
        )
