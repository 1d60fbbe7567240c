"""Reading the risk timeline's rows: the tenant's timeline (with or without the risk), the
plot series, and the risk as of now.

The rows are written by :mod:`projections.risk_timeline`, one per fact about the tenant:
events naming the tenant, and facts about the address the tenant lived at when they
happened (a safety flag, a concern about the address alone). Summaries come from
``projections/summaries/`` (one module per area).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import asyncpg
import msgspec

from domain import risk
from domain.risk import Assessment, Reason, RiskLevel
from projections.pagination import Page, decode_cursor, page_of
from projections.risk_timeline import NAME

# The projection that writes the rows this module reads (for read-your-writes waits).
PROJECTION = NAME

_reasons_decoder = msgspec.json.Decoder(tuple[Reason, ...])


class RiskTimelineEntry(msgspec.Struct, frozen=True):
    position: int
    occurred_at: datetime
    recorded_at: datetime
    event_type: str
    summary: str
    level: str
    score: int
    reasons: tuple[Reason, ...]
    model_version: int


# [position, occurred_at, score, level]: one point of the plot.
SeriesPoint = tuple[int, datetime, int, str]


class TimelineReview(msgspec.Struct, frozen=True, kw_only=True):
    """An entry recorded offline and applied, marked for a team lead's review (sync/review.py)."""

    item_id: UUID
    # Always ``applied_for_review`` here: items not applied are not in the log.
    status: str
    review_reasons: list[str]
    # None while the review is open.
    resolved_at: datetime | None


class TimelineEntry(msgspec.Struct, frozen=True, omit_defaults=True):
    position: int
    event_type: str
    occurred_at: datetime
    recorded_at: datetime
    actor_user_id: UUID
    actor_service: str
    summary: str
    # Only on an entry whose events an offline item produced and kept for review: its
    # review state (absent otherwise, so the entry's shape is as before).
    review: TimelineReview | None = None


async def tenant_timeline(
    conn: asyncpg.Connection, tenant_id: UUID, *, limit: int = 200, after: int = 0
) -> list[TimelineEntry]:
    rows = await conn.fetch(
        """
        SELECT position, event_type, occurred_at, recorded_at, actor_user_id, actor_service,
               summary
        FROM risk_timeline
        WHERE tenant_id = $1 AND position > $2
        ORDER BY position
        LIMIT $3
        """,
        tenant_id,
        after,
        limit,
    )
    return [TimelineEntry(*r) for r in rows]


# --- queries ---------------------------------------------------------------------------------


def _entry(row: asyncpg.Record) -> RiskTimelineEntry:
    return RiskTimelineEntry(
        position=row["position"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        event_type=row["event_type"],
        summary=row["summary"],
        level=row["level"],
        score=row["score"],
        reasons=_reasons_decoder.decode(row["reasons"]),
        model_version=row["model_version"],
    )


async def risk_timeline(
    conn: asyncpg.Connection, tenant_id: UUID, cursor: str | None, limit: int
) -> Page[RiskTimelineEntry]:
    """The tenant's timeline in log order, ``limit`` entries after ``cursor``."""
    key = decode_cursor(cursor, [int])
    after = key[0] if key is not None else 0
    rows = await conn.fetch(
        """
        SELECT position, occurred_at, recorded_at, event_type, summary, level, score,
               reasons, model_version
        FROM risk_timeline
        WHERE tenant_id = $1 AND position > $2
        ORDER BY position
        LIMIT $3
        """,
        tenant_id,
        after,
        limit + 1,
    )
    return page_of([_entry(r) for r in rows], limit, lambda e: (e.position,))


async def latest_risk_timeline(
    conn: asyncpg.Connection, tenant_id: UUID, limit: int
) -> list[RiskTimelineEntry]:
    """The tenant's newest ``limit`` entries, in log order (the web page's chart)."""
    rows = await conn.fetch(
        """
        SELECT * FROM (
            SELECT position, occurred_at, recorded_at, event_type, summary, level, score,
                   reasons, model_version
            FROM risk_timeline
            WHERE tenant_id = $1
            ORDER BY position DESC
            LIMIT $2
        ) newest ORDER BY position
        """,
        tenant_id,
        limit,
    )
    return [_entry(r) for r in rows]


async def risk_series(conn: asyncpg.Connection, tenant_id: UUID) -> list[SeriesPoint]:
    """The whole risk history of the tenant as compact points, for plotting."""
    rows = await conn.fetch(
        "SELECT position, occurred_at, score, level FROM risk_timeline "
        "WHERE tenant_id = $1 ORDER BY position",
        tenant_id,
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


# A stored assessment is still the answer now if it was made by this model version, at or
# before now, and no time-dependent rule has changed its answer since (``stable_until``).
STILL_TRUE = (
    "(r.model_version = {version} AND r.assessed_at <= {now} "
    "AND (r.stable_until IS NULL OR {now} < r.stable_until))"
)

# Columns a read selects from ``risk_state r`` to know the current risk: the stored
# assessment, and the inputs only when it must be assessed again (see :func:`risk_now`).
RISK_COLUMNS = (
    "r.tenant_id IS NOT NULL AS has_risk, r.level, r.score, r.reasons, "
    "r.model_version, CASE WHEN " + STILL_TRUE + " THEN NULL ELSE r.inputs END AS stale_inputs"
)


def risk_columns(version_arg: str, now_arg: str) -> str:
    return RISK_COLUMNS.format(version=version_arg, now=now_arg)


# Assessments made at read time, kept while they hold: a board polled every few seconds
# re-assesses an overdue tenant once, not at every read. Keyed by the rules in force and
# the exact stored inputs, so a new event (new inputs) or another model never hits.
_AGAIN_MAX = 20_000
_again: dict[tuple[int, int, bytes], tuple[Assessment, datetime, datetime | None]] = {}


def _assess_again(data: bytes, now: datetime) -> Assessment:
    key = (id(risk.RULES), risk.RISK_MODEL_VERSION, data)
    kept = _again.get(key)
    if kept is not None and kept[1] <= now and (kept[2] is None or now < kept[2]):
        return kept[0]
    inputs = risk.decode_inputs(data)
    assessment = risk.assess(inputs, now)
    if len(_again) >= _AGAIN_MAX:
        _again.clear()
    _again[key] = (assessment, now, risk.stable_until(inputs, now))
    return assessment


def risk_now(row: asyncpg.Record, now: datetime) -> Assessment | None:
    """The current risk from a row selected with :func:`risk_columns`; None if unknown."""
    if not row["has_risk"]:
        return None
    stale = row["stale_inputs"]
    if stale is not None:
        return _assess_again(stale, now)
    return Assessment(
        RiskLevel(row["level"]),
        row["score"],
        _reasons_decoder.decode(row["reasons"]),
        row["model_version"],
    )


async def current_risk(
    conn: asyncpg.Connection, tenant_id: UUID, now: datetime
) -> Assessment | None:
    """The tenant's risk as of ``now`` (not as of the last event); None if unknown."""
    row = await conn.fetchrow(
        f"SELECT {risk_columns('$2', '$3')} FROM (SELECT 1) AS one "
        "LEFT JOIN risk_state r ON r.tenant_id = $1",
        tenant_id,
        risk.RISK_MODEL_VERSION,
        now,
    )
    return risk_now(row, now)
