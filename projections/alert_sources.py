"""What the time rules read: the candidates each rule looks at, from the read models.

Each query asks a read model for the rows that may be late by ``now`` (a bound the rule
then checks exactly, in :mod:`domain.time_rules`): one statement per rule, no replay of
any record. Most use an index; the overdue visits and the petition notices read the
caseload whole (10,000 rows in a few milliseconds: ``python -m bench --alerts``).
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from domain.time_rules import (
    ConcernWaiting,
    DeviceSilent,
    EvictionNotice,
    FlagReview,
    HandoverWaiting,
    NavWaiting,
    TenantWithoutService,
    VisitDue,
)


async def visits_due(conn: asyncpg.Connection, before: datetime) -> list[VisitDue]:
    """Tenants in follow-up whose next visit was due before ``before``."""
    rows = await conn.fetch(
        "SELECT tenant_id, contact_worker_id, responsible_service, visit_due_at FROM caseload "
        "WHERE follow_up_active AND visit_due_at <= $1",
        before,
    )
    return [VisitDue(*r) for r in rows]


async def concerns_waiting(
    conn: asyncpg.Connection, routed_before: datetime
) -> list[ConcernWaiting]:
    """Concerns routed to a service before ``routed_before`` that it has not acknowledged."""
    rows = await conn.fetch(
        "SELECT c.concern_id, c.tenant_id, c.dwelling_id, c.routed_to_service, c.routed_at, "
        "cl.responsible_service, c.raised_by_user "
        "FROM concerns c LEFT JOIN caseload cl ON cl.tenant_id = c.tenant_id "
        "WHERE c.waiting_ended_at IS NULL AND c.routed_to_service IS NOT NULL "
        "AND c.acknowledged_at IS NULL AND c.resolved_at IS NULL AND c.routed_at < $1",
        routed_before,
    )
    return [ConcernWaiting(*r) for r in rows]


async def nav_waiting(conn: asyncpg.Connection, sent_before: datetime) -> list[NavWaiting]:
    """NAV notifications sent before ``sent_before`` that NAV has not acknowledged."""
    rows = await conn.fetch(
        "SELECT notification_id, tenant_id, sent_at FROM nav_inbox "
        "WHERE acknowledged_at IS NULL AND sent_at <= $1",
        sent_before,
    )
    return [NavWaiting(*r) for r in rows]


async def eviction_notices(
    conn: asyncpg.Connection, sent_after: datetime, sent_before: datetime
) -> list[EvictionNotice]:
    """Eviction warnings notified to NAV under husleieloven § 9-11 in the window, whose
    case has not gone on to a petition since."""
    rows = await conn.fetch(
        "SELECT n.notification_id, n.tenant_id, n.sent_at, cl.contact_worker_id "
        "FROM nav_inbox n LEFT JOIN caseload cl ON cl.tenant_id = n.tenant_id "
        "WHERE n.trigger = 'eviction_warning' AND n.basis = 'husleieloven_9_11' "
        "AND n.sent_at > $1 AND n.sent_at < $2 "
        "AND NOT EXISTS (SELECT 1 FROM nav_inbox later WHERE later.rent_case_id = n.rent_case_id "
        "AND later.trigger IN ('eviction_petition', 'eviction_date_set') "
        "AND later.sent_at > n.sent_at)",
        sent_after,
        sent_before,
    )
    return [EvictionNotice(*r) for r in rows]


async def handovers_waiting(
    conn: asyncpg.Connection, first: date, last: date
) -> list[HandoverWaiting]:
    """Handovers no service has accepted whose date lies from ``first`` to ``last``."""
    rows = await conn.fetch(
        "SELECT handover_id, tenant_id, from_service, to_service, effective_on "
        "FROM handover_schedule "
        "WHERE status IN ('announced', 'declined') AND effective_on BETWEEN $1 AND $2",
        first,
        last,
    )
    return [HandoverWaiting(*r) for r in rows]


async def tenants_without_service(
    conn: asyncpg.Connection, since_before: datetime
) -> list[TenantWithoutService]:
    """Tenants in follow-up with no responsible service since before ``since_before``."""
    rows = await conn.fetch(
        "SELECT tenant_id, coalesce(responsibility_gap_since, follow_up_since) FROM caseload "
        "WHERE follow_up_active AND responsible_service IS NULL "
        "AND coalesce(responsibility_gap_since, follow_up_since) < $1",
        since_before,
    )
    return [TenantWithoutService(*r) for r in rows]


async def flags_for_review(conn: asyncpg.Connection, review_by: date) -> list[FlagReview]:
    """Safety flags in force whose review date is ``review_by`` or earlier."""
    rows = await conn.fetch(
        "SELECT dwelling_id, review_on, set_by_user, set_by_service FROM safety_flags "
        "WHERE kind IS NOT NULL AND lifted_at IS NULL AND review_on <= $1",
        review_by,
    )
    return [FlagReview(*r) for r in rows]


async def silent_devices(
    conn: asyncpg.Connection, synced_before: datetime, now: datetime
) -> list[DeviceSilent]:
    """Tablets in use, not synced since before ``synced_before``, whose user is the
    contact worker of a tenant with a visit planned (from ``now``) at a flagged address."""
    rows = await conn.fetch(
        "SELECT d.id, d.user_id, u.service, d.last_synced_at "
        "FROM devices d JOIN users u ON u.id = d.user_id "
        "WHERE d.revoked_at IS NULL AND u.active AND d.last_synced_at < $1 "
        "AND EXISTS (SELECT 1 FROM caseload c "
        "  JOIN caseload_planned_visits v ON v.tenant_id = c.tenant_id AND v.planned_for >= $2 "
        "  JOIN safety_flags f ON f.dwelling_id = c.dwelling_id "
        "   AND f.kind IS NOT NULL AND f.lifted_at IS NULL "
        "  WHERE c.contact_worker_id = d.user_id)",
        synced_before,
        now,
    )
    return [DeviceSilent(*r) for r in rows]
