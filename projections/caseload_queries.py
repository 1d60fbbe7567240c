"""Caseload queries: a worker's or a team's tenants with their current risk, and the tenants
nobody is responsible for.

A *team* is the responsible service (``tiltaksteamet``, ``nav`` ...): the caseload records
which service holds each tenant and which worker is the contact, nothing finer.

The current risk is as of ``now``: the ``risk_timeline`` projection's stored assessment
while it still holds, else its inputs assessed again (:func:`projections.risk_timeline.risk_now`),
so a caseload shows a visit turning overdue with no new event. Because the score depends
on ``now``, the order (risk score, highest first, then tenant id) and the risk-level filter
are applied in Python over the worker's or team's rows (a few hundred at most); the SQL
filters what it can (who, flagged, overdue). A cursor is the last row's (score, tenant id);
a tenant whose score changes between two pages may be skipped or shown twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import risk
from domain.municipal_services import Service
from domain.risk import Assessment, RiskLevel
from projections.pagination import Page, decode_cursor, page_of
from projections.risk_timeline_queries import risk_columns, risk_now


class CaseloadEntry(msgspec.Struct, frozen=True):
    tenant_id: UUID
    full_name: str
    responsible_service: str | None
    contact_worker_id: UUID | None
    responsibility_gap_since: datetime | None
    follow_up_active: bool
    visit_interval_days: int | None
    last_visit_at: datetime | None
    next_visit_at: datetime | None
    visit_due_at: datetime | None
    overdue: bool
    dwelling_id: UUID | None
    address: str | None
    safety_flag: str | None
    # None only while the risk projection has not yet seen the tenant.
    risk: Assessment | None


class CaseloadFilters(msgspec.Struct, frozen=True):
    risk_levels: tuple[RiskLevel, ...] = ()
    overdue_only: bool = False
    flagged_only: bool = False


class WithoutServiceEntry(msgspec.Struct, frozen=True):
    tenant_id: UUID
    full_name: str
    # Since when nobody has been responsible: the lapse, or the start of the follow-up
    # for a tenant no service was ever assigned to.
    without_since: datetime
    lapsed: bool
    dwelling_id: UUID | None
    address: str | None
    safety_flag: str | None


NO_FILTERS = CaseloadFilters()

SELECT_CASELOAD = f"""
    SELECT c.tenant_id, c.full_name, c.responsible_service, c.contact_worker_id,
           c.responsibility_gap_since, c.follow_up_active, c.visit_interval_days,
           c.last_visit_at, c.next_visit_at, c.visit_due_at, c.dwelling_id, c.address,
           c.safety_flag, {risk_columns("$2", "$3")}
    FROM caseload c LEFT JOIN risk_state r ON r.tenant_id = c.tenant_id
"""


def _score(entry: CaseloadEntry) -> int:
    return entry.risk.score if entry.risk is not None else 0


def _sort_key(entry: CaseloadEntry) -> tuple[int, str]:
    return (-_score(entry), str(entry.tenant_id))


async def _caseload(
    conn: asyncpg.Connection,
    who: str,
    value: Any,
    now: datetime,
    filters: CaseloadFilters,
    cursor: str | None,
    limit: int,
) -> Page[CaseloadEntry]:
    key = decode_cursor(cursor, [int, UUID])
    # A tenant whose follow-up has ended has left the caseload.
    conditions = [f"c.{who} = $1", "(c.follow_up_active OR c.follow_up_ended_on IS NULL)"]
    args: list[Any] = [value, risk.RISK_MODEL_VERSION, now]
    if filters.flagged_only:
        conditions.append("c.safety_flag IS NOT NULL")
    if filters.overdue_only:
        conditions.append("c.follow_up_active AND c.visit_due_at < $3")
    rows = await conn.fetch(f"{SELECT_CASELOAD} WHERE {' AND '.join(conditions)}", *args)
    levels = set(filters.risk_levels)
    entries = []
    for r in rows:
        assessment = risk_now(r, now)
        if levels and (assessment is None or assessment.level not in levels):
            continue
        due = r["visit_due_at"]
        entries.append(
            CaseloadEntry(
                tenant_id=r["tenant_id"],
                full_name=r["full_name"],
                responsible_service=r["responsible_service"],
                contact_worker_id=r["contact_worker_id"],
                responsibility_gap_since=r["responsibility_gap_since"],
                follow_up_active=r["follow_up_active"],
                visit_interval_days=r["visit_interval_days"],
                last_visit_at=r["last_visit_at"],
                next_visit_at=r["next_visit_at"],
                visit_due_at=due,
                overdue=bool(r["follow_up_active"] and due is not None and now > due),
                dwelling_id=r["dwelling_id"],
                address=r["address"],
                safety_flag=r["safety_flag"],
                risk=assessment,
            )
        )
    entries.sort(key=_sort_key)
    if key is not None:
        after = (-int(key[0]), str(key[1]))
        entries = [e for e in entries if _sort_key(e) > after]
    return page_of(entries[: limit + 1], limit, lambda e: (_score(e), e.tenant_id))


async def caseload_for_worker(
    conn: asyncpg.Connection,
    worker_id: UUID,
    now: datetime,
    filters: CaseloadFilters = NO_FILTERS,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CaseloadEntry]:
    """The tenants whose contact is ``worker_id``, highest current risk first."""
    return await _caseload(conn, "contact_worker_id", worker_id, now, filters, cursor, limit)


async def caseload_for_team(
    conn: asyncpg.Connection,
    service: Service,
    now: datetime,
    filters: CaseloadFilters = NO_FILTERS,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[CaseloadEntry]:
    """The tenants ``service`` is responsible for, highest current risk first."""
    return await _caseload(conn, "responsible_service", service.value, now, filters, cursor, limit)


WITHOUT_SINCE = "coalesce(responsibility_gap_since, follow_up_since)"


async def tenants_without_responsible_service(
    conn: asyncpg.Connection, cursor: str | None = None, limit: int = 50
) -> Page[WithoutServiceEntry]:
    """Tenants in active follow-up that no service is responsible for, longest wait first."""
    key = decode_cursor(cursor, [datetime, UUID])
    keyset = "" if key is None else f"AND ({WITHOUT_SINCE}, tenant_id) > ($2, $3)"
    args: Sequence[Any] = [limit + 1] if key is None else [limit + 1, *key]
    rows = await conn.fetch(
        f"""
        SELECT tenant_id, full_name, {WITHOUT_SINCE} AS without_since,
               responsibility_gap_since IS NOT NULL AS lapsed, dwelling_id, address, safety_flag
        FROM caseload
        WHERE follow_up_active AND responsible_service IS NULL {keyset}
        ORDER BY {WITHOUT_SINCE}, tenant_id
        LIMIT $1
        """,
        *args,
    )
    entries = [WithoutServiceEntry(**dict(r)) for r in rows]
    return page_of(entries, limit, lambda e: (e.without_since, e.tenant_id))
