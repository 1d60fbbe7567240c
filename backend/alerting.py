"""The time rules at work: each scheduler tick finds what is late, raises, escalates and
clears alerts (docs/alerts.md).

A run reads the candidates from the read models (:mod:`projections.alert_sources`), lets
the rules decide (:mod:`domain.time_rules`), compares with the alerts raised before (the
``alerts`` read model) and writes what changed through the write model, in one thread hop.
Alert ids are derived from rule, subject and period, so a run repeated, interrupted or
raced by another process raises nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
import msgspec

from backend.write_access import WriteAccess
from domain import time_rules
from domain.alert_thresholds import AlertThresholds, decode_thresholds
from domain.alerts import AlertRule, Finding
from domain.events import local_date
from domain.time_rules import Staff
from domain.usecases import UseCases
from projections import alert_sources as sources
from projections import alerts as alert_board
from projections import lone_work

if TYPE_CHECKING:
    from backend.runtime import Runtime

log = logging.getLogger(__name__)

# The municipality's thresholds, documented key by key (FOLGJA_ALERTS_FILE overrides).
DEFAULT_ALERTS_FILE = Path(__file__).resolve().parents[1] / "config" / "alerts.toml"


def load_thresholds(path: Path | None) -> AlertThresholds:
    """The thresholds in ``path``; the documented defaults when no file is named."""
    if path is None:
        return AlertThresholds()
    return decode_thresholds(path.read_bytes())


async def staff_directory(conn: asyncpg.Connection) -> Staff:
    """Every active user a rule may tell, by service and role."""
    leads: dict[str, list[UUID]] = {}
    members: dict[str, list[UUID]] = {}
    managers: list[UUID] = []
    usernames: dict[str, UUID] = {}
    for r in await conn.fetch(
        "SELECT id, username, service, roles FROM users WHERE active ORDER BY username"
    ):
        user_id, roles = r["id"], set(r["roles"])
        usernames[r["username"]] = user_id
        if roles - {"admin"}:
            members.setdefault(r["service"], []).append(user_id)
        if "team_lead" in roles:
            leads.setdefault(r["service"], []).append(user_id)
        if "property_manager" in roles:
            managers.append(user_id)
    return Staff(
        leads={s: tuple(ids) for s, ids in leads.items()},
        members={s: tuple(ids) for s, ids in members.items()},
        property_managers=tuple(managers),
        usernames=usernames,
        active=frozenset(usernames.values()),
    )


Find = Callable[[asyncpg.Connection, Staff, AlertThresholds, datetime], Awaitable[list[Finding]]]


async def _visit_overdue(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    rows = await sources.visits_due(conn, now - timedelta(days=t.visit_overdue.grace_days))
    return time_rules.visit_overdue(rows, staff, t, now)


async def _concern_unacknowledged(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    # N working days span at least N calendar days: a bound the rule then checks exactly.
    bound = now - timedelta(days=t.concern_unacknowledged.working_days)
    rows = await sources.concerns_waiting(conn, bound)
    return time_rules.concern_unacknowledged(rows, staff, t, now)


async def _nav_unacknowledged(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    bound = now - timedelta(days=t.nav_notification_unacknowledged.days)
    rows = await sources.nav_waiting(conn, bound)
    return time_rules.nav_notification_unacknowledged(rows, staff, t, now)


async def _petition_allowed(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    wait = timedelta(days=t.eviction_petition_allowed.days)
    earliest = now - wait - time_rules.PETITION_ALERT_WINDOW
    rows = await sources.eviction_notices(conn, earliest, now - wait + timedelta(seconds=1))
    return time_rules.eviction_petition_allowed(rows, staff, t, now)


async def _handover_unaccepted(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    today = local_date(now)
    last = today + timedelta(days=t.handover_unaccepted.days_before)
    rows = await sources.handovers_waiting(conn, today, last)
    return time_rules.handover_unaccepted(rows, staff, t, now)


async def _no_responsible_service(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    bound = now - timedelta(days=t.no_responsible_service.days) + timedelta(seconds=1)
    rows = await sources.tenants_without_service(conn, bound)
    return time_rules.no_responsible_service(rows, staff, t, now)


async def _flag_review_due(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    review_by = local_date(now) + timedelta(days=t.safety_flag_review_due.days_before)
    rows = await sources.flags_for_review(conn, review_by)
    return time_rules.safety_flag_review_due(rows, staff, t, now)


async def _device_not_synced(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    bound = now - timedelta(days=t.device_not_synced.days) + timedelta(seconds=1)
    rows = await sources.silent_devices(conn, bound, now)
    return time_rules.device_not_synced(rows, staff, t, now)


async def _check_out_missing(
    conn: asyncpg.Connection, staff: Staff, t: AlertThresholds, now: datetime
) -> list[Finding]:
    grace = timedelta(minutes=t.check_out_missing.grace_minutes)
    rows = [
        time_rules.CheckInOverdue(
            r.check_in_id, r.worker_id, r.service, r.expected_until, dwelling_id=r.dwelling_id
        )
        for r in await lone_work.open_check_ins_past(conn, now, grace)
    ]
    return time_rules.check_out_missing(rows, staff, t, now)


@dataclass(frozen=True)
class TimeRule:
    rule: AlertRule
    find: Find


RULES: tuple[TimeRule, ...] = (
    TimeRule(AlertRule.VISIT_OVERDUE, _visit_overdue),
    TimeRule(AlertRule.CONCERN_UNACKNOWLEDGED, _concern_unacknowledged),
    TimeRule(AlertRule.NAV_NOTIFICATION_UNACKNOWLEDGED, _nav_unacknowledged),
    TimeRule(AlertRule.EVICTION_PETITION_ALLOWED, _petition_allowed),
    TimeRule(AlertRule.HANDOVER_UNACCEPTED, _handover_unaccepted),
    TimeRule(AlertRule.NO_RESPONSIBLE_SERVICE, _no_responsible_service),
    TimeRule(AlertRule.SAFETY_FLAG_REVIEW_DUE, _flag_review_due),
    TimeRule(AlertRule.DEVICE_NOT_SYNCED, _device_not_synced),
    TimeRule(AlertRule.CHECK_OUT_MISSING, _check_out_missing),
)


class RuleRun(msgspec.Struct, frozen=True):
    """What one rule's run found and changed."""

    rule: AlertRule
    found: int
    raised: int
    escalated: int
    cleared: int


class _Plan(msgspec.Struct, frozen=True):
    rule: AlertRule
    findings: list[Finding]
    new: list[Finding]
    escalate: list[Finding]
    clear: list[UUID]


async def _plan(
    conn: asyncpg.Connection, rule: TimeRule, staff: Staff, t: AlertThresholds, now: datetime
) -> _Plan:
    findings = await rule.find(conn, staff, t, now)
    # Each id once: deriving one (uuid5) costs more than the rest of a finding's check.
    ids = [f.alert_id for f in findings]
    known = await alert_board.raised(conn, rule.rule, ids)
    found_ids = set(ids)
    escalate = []
    for f, alert_id in zip(findings, ids, strict=True):
        a = known.get(alert_id)
        if (
            a is not None
            and a.open
            and a.tier + 1 < len(f.tiers)
            and time_rules.escalation_due(rule.rule, a.tier_since, now, t)
        ):
            escalate.append(f)
    return _Plan(
        rule.rule,
        findings,
        new=[f for f, alert_id in zip(findings, ids, strict=True) if alert_id not in known],
        escalate=escalate,
        clear=[a for a in await alert_board.open_alert_ids(conn, rule.rule) if a not in found_ids],
    )


def _apply(use_cases: UseCases, plan: _Plan, t: AlertThresholds, now: datetime) -> RuleRun:
    alerts = use_cases.alerts
    raised = alerts.raise_alerts(plan.new, now)
    escalated = sum(
        alerts.escalate_alert(
            f, lambda since: time_rules.escalation_due(plan.rule, since, now, t), now
        )
        is not None
        for f in plan.escalate
    )
    cleared = sum(alerts.clear_alert(a, now) is not None for a in plan.clear)
    return RuleRun(plan.rule, len(plan.findings), len(raised), escalated, cleared)


async def run_time_rules(runtime: Runtime, rules: Sequence[TimeRule] = RULES) -> list[RuleRun]:
    """Run every time rule once, as of the runtime's clock; answer what each did."""
    now = runtime.clock()
    t = runtime.alert_thresholds
    async with runtime.pool.acquire() as conn:
        staff = await staff_directory(conn)
        plans = [await _plan(conn, rule, staff, t, now) for rule in rules]
    write = WriteAccess.of(runtime)
    runs = await write.read(lambda uc: [_apply(uc, plan, t, now) for plan in plans])
    for run in runs:
        if run.raised or run.escalated or run.cleared:
            log.info(
                "alerts: rule %s raised %d, escalated %d, cleared %d",
                run.rule.value,
                run.raised,
                run.escalated,
                run.cleared,
                extra={"rule": run.rule.value, "raised": run.raised},
            )
    return runs
