"""The alert time rules at a municipality's scale (issue 14): 10,000 tenants in follow-up.

Set-up (not timed): a log made by the domain's own rule functions, as ``bench/mixed.py``
makes its log (the same script, encoding and ``COPY``), then the real projections build
the read models the rules read (``bench/readside.py`` catch-up, the server's own set-up).
Users and tablets are rows in ``users`` and ``devices``, as the auth code writes them.

Measured, with the clock fixed at the fixture's ``now``, through
:func:`backend.alerting.run_time_rules` on a :class:`backend.runtime.Runtime` (no HTTP, no
scheduler; the projections are stopped while a run is timed and caught up between runs):

- the first run, which raises every alert (find + write);
- a steady-state run, nothing changed since the last (what every minute's tick costs:
  find + compare, nothing written);
- a run after 1 % of the overdue tenants had a visit completed (those alerts cleared).

Baseline, same run and database: raw asyncpg running just the candidate ``SELECT``s, one
round trip each, with the very SQL and arguments the rules send (captured by calling each
rule's ``find`` on a recording connection, so they cannot drift apart).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any, cast
from uuid import UUID, uuid4

import asyncpg
import psutil
from eventsourcing.utils import get_topic

from backend.alerting import RULES, RuleRun, run_time_rules
from backend.auth import users
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from backend.runtime import Runtime
from backend.settings import Settings
from bench import readside
from bench.mixed import PROPERTY, _evolve_any, _rent_step, _Script, _Step, copy_into_log
from bench.stack import Database
from bench.stats import median
from bench.sync import Line, render_lines
from domain import concern as concerns
from domain import dwelling as dwellings
from domain import handover as handovers
from domain import lease as leases
from domain import rent as rents
from domain import tenant as tenants
from domain import visit as visits
from domain.alerts import AlertRule
from domain.application import FollowUpApplication
from domain.codec import encode_state
from domain.events import Actor, DomainEvent, event_meta, local_date
from domain.municipal_services import Service
from domain.time_rules import Staff

TENANTS = 10_000
SERVICES = (
    Service.OUTREACH_TEAM,
    Service.CARE,
    Service.MENTAL_HEALTH,
    Service.REFUGEE_CENTRE,
    Service.CHILD_AND_YOUTH,
)
WORKERS_PER_SERVICE = 20  # 100 field workers
LEADS_PER_SERVICE = 2  # 10 team leads
OVERDUE_SHARE = 0.04  # last visit longer ago than the interval plus the grace
NO_SERVICE_SHARE = 0.005  # in follow-up, no responsible service
FLAGGED_SHARE = 0.2  # dwellings with a safety flag (review 180 days after it was set)
PLANNED_AHEAD_SHARE = 0.3  # tenants with a visit planned in the next two weeks
EVICTION_SHARE = 0.03  # rent cases that reached an eviction warning (NAV notified)
CONCERNS = 300
HANDOVERS = 150
STALE_DEVICE_SHARE = 0.1  # tablets not synced for 4-15 days
CLEAR_SHARE = 0.01  # of the overdue tenants, whose visit is completed before run (c)
SLOW_QUERY_MS = 50.0
TARGET_MS = 1000.0
NOTE = "Beboer var hjemme. Avtalt ny samtale om to uker."


def _uuid(kind: int, n: int) -> UUID:
    return UUID(f"00000000-0000-4000-b{kind:03d}-{n:012d}")


@dataclass(frozen=True)
class StaffMember:
    user_id: UUID
    username: str
    service: Service
    roles: tuple[Role, ...]


def staff_members() -> list[StaffMember]:
    out = []
    for s, service in enumerate(SERVICES):
        for n in range(WORKERS_PER_SERVICE):
            k = s * 100 + n
            out.append(StaffMember(_uuid(1, k), f"alert.worker.{k}", service, (Role.FIELD_WORKER,)))
        for n in range(LEADS_PER_SERVICE):
            k = s * 100 + n
            out.append(StaffMember(_uuid(2, k), f"alert.lead.{k}", service, (Role.TEAM_LEAD,)))
    out += [
        StaffMember(_uuid(3, 0), "alert.nav.lead", Service.NAV, (Role.TEAM_LEAD, Role.NAV_OFFICER)),
        StaffMember(
            PROPERTY.user_id, "alert.fbe", Service.PROPERTY_MANAGER, (Role.PROPERTY_MANAGER,)
        ),
        StaffMember(
            _uuid(3, 1), "alert.coordinator", Service.COORDINATING_UNIT, (Role.SERVICE_STAFF,)
        ),
    ]
    return out


def workers_of(service: Service) -> list[UUID]:
    s = SERVICES.index(service)
    return [_uuid(1, s * 100 + n) for n in range(WORKERS_PER_SERVICE)]


COORDINATOR = Actor(_uuid(3, 1), Service.COORDINATING_UNIT)


@dataclass
class Fixture:
    """What the set-up wrote, and what run (c) needs to complete visits."""

    now: datetime
    events: int
    tenants: int
    # Overdue tenants: their id -> (tenant state, contact worker's actor), in a fixed order.
    overdue: dict[UUID, tuple[Any, Actor]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def build(now: datetime, tenants_n: int = TENANTS, seed: int = 14) -> tuple[list[Any], Fixture]:
    """The municipality's log as rows for ``folgja_events``, in log order."""
    rng = random.Random(seed)
    steps: list[_Step] = []
    script = _Script(rng, steps, [0])
    fixture = Fixture(now=now, events=0, tenants=tenants_n)
    counts = fixture.counts
    followed: list[tuple[UUID, UUID, Service | None, Actor]] = []  # tenant, dwelling, ...
    eviction_n = round(EVICTION_SHARE * tenants_n)
    for n in range(tenants_n):
        if rng.random() < NO_SERVICE_SHARE:
            service: Service | None = None
            me = COORDINATOR
        else:
            service = rng.choice(SERVICES)
            me = Actor(rng.choice(workers_of(service)), service)
        overdue = rng.random() < OVERDUE_SHARE
        evicted = service is not None and n < eviction_n * 3 and rng.random() < 1 / 3
        tenant_id, dwelling_id = _tenant(script, n, now, service, me, overdue, evicted, counts)
        followed.append((tenant_id, dwelling_id, service, me))
        if overdue:
            fixture.overdue[tenant_id] = (None, me)
    _concerns(script, now, followed, counts)
    _handovers(script, now, followed, counts)
    for tenant_id in fixture.overdue:
        fixture.overdue[tenant_id] = (script.state(tenant_id), fixture.overdue[tenant_id][1])
    steps.sort(key=lambda s: (s.at, s.seq))
    rows = [
        (e.originator_id, e.originator_version, get_topic(type(e)), encode_state(e))
        for s in steps
        for e in s.events
    ]
    fixture.events = len(rows)
    return rows, fixture


def _tenant(
    script: _Script,
    n: int,
    now: datetime,
    service: Service | None,
    me: Actor,
    overdue: bool,
    evicted: bool,
    counts: dict[str, int],
) -> tuple[UUID, UUID]:
    rng, add, ev = script.rng, script.add, _evolve_any

    def meta(actor: Actor, at: datetime) -> Any:
        return event_meta(actor, at, at + timedelta(seconds=20))

    start = now - timedelta(days=rng.uniform(130, 400))
    tenant_id, dwelling_id, lease_id = uuid4(), uuid4(), uuid4()
    t = start
    add(t, ev, tenants.register(tenant_id, f"Beboer {n}", date(1980, 1, 1), meta(me, t)))
    interval = rng.choice((7, 14, 14, 30))
    t += timedelta(minutes=1)
    add(
        t,
        ev,
        tenants.start_follow_up(script.state(tenant_id), interval, local_date(t), meta(me, t)),
    )
    if service is not None:
        t += timedelta(minutes=1)
        add(
            t,
            ev,
            tenants.assign_responsibility(
                script.state(tenant_id), service, me.user_id, meta(me, t)
            ),
        )
    t += timedelta(minutes=1)
    add(
        t,
        ev,
        dwellings.register(
            dwelling_id,
            f"Testveien {n}",
            f"H0{n % 4 + 1}01",
            "7010",
            dwellings.DwellingOwner.MUNICIPAL,
            meta(PROPERTY, t),
        ),
    )
    t += timedelta(minutes=1)
    started = leases.start(
        lease_id, dwelling_id, tenant_id, local_date(t), None, 36, meta(PROPERTY, t)
    )
    let, moved_in = leases.move_in(started, script.state(dwelling_id), script.state(tenant_id))
    add(t, ev, started, let, moved_in)
    if rng.random() < FLAGGED_SHARE:
        flagged_at = max(t + timedelta(hours=1), now - timedelta(days=rng.uniform(10, 200)))
        add(
            flagged_at,
            ev,
            dwellings.set_flag(
                script.state(dwelling_id),
                rng.choice(list(dwellings.SafetyFlagKind)),
                rng.choice(list(dwellings.SafetyFlagReason)),
                local_date(flagged_at) + timedelta(days=180),
                meta(PROPERTY, flagged_at),
            ),
        )
        counts["flags"] = counts.get("flags", 0) + 1
    # The last completed visit: within the interval, or (overdue) longer ago than the
    # interval and the three days' grace.
    if overdue:
        last = now - timedelta(days=interval + 3 + rng.uniform(0.5, 20))
        counts["overdue"] = counts.get("overdue", 0) + 1
    else:
        last = now - timedelta(days=interval * rng.uniform(0.05, 1.0))
    _visit(script, tenant_id, me, last - timedelta(days=2), last, complete=True)
    if rng.random() < PLANNED_AHEAD_SHARE:
        at = now - timedelta(days=rng.uniform(1, 5))
        _visit(script, tenant_id, me, at, now + timedelta(days=rng.uniform(1, 14)))
        counts["planned ahead"] = counts.get("planned ahead", 0) + 1
    if evicted:
        _eviction(script, now, tenant_id, lease_id)
        counts["eviction warnings"] = counts.get("eviction warnings", 0) + 1
    return tenant_id, dwelling_id


def _visit(
    script: _Script,
    tenant_id: UUID,
    me: Actor,
    planned_at: datetime,
    planned_for: datetime,
    *,
    complete: bool = False,
) -> None:
    visit_id = uuid4()
    m = event_meta(me, planned_at, planned_at + timedelta(seconds=20))
    script.add(
        planned_at,
        _evolve_any,
        visits.plan(visit_id, script.state(tenant_id), planned_for, [me.user_id], m),
    )
    if complete:
        done = event_meta(me, planned_for, planned_for + timedelta(seconds=20))
        script.add(
            planned_for,
            _evolve_any,
            visits.complete(
                script.state(visit_id),
                script.state(tenant_id),
                [me.user_id],
                visits.Observations(wellbeing=visits.Wellbeing.FAIR, note=NOTE),
                done,
            ),
        )


def _eviction(script: _Script, now: datetime, tenant_id: UUID, lease_id: UUID) -> None:
    """Two months in arrears, then an eviction warning 6-50 days ago (NAV notified on the
    husleieloven § 9-11 basis; 70 % acknowledged, as in bench/mixed.py)."""
    rng = script.rng
    warned = now - timedelta(days=rng.uniform(6, 50))
    opened = warned - timedelta(days=70)
    script.add(
        opened,
        _evolve_any,
        rents.open_case(
            script.state(lease_id),
            script.state(tenant_id),
            event_meta(PROPERTY, opened, opened),
        ),
    )
    case_id = rents.rent_case_id_for(lease_id)
    for back in (40, 8):
        t = warned - timedelta(days=back)
        month = (local_date(t).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        if month in script.state(case_id).months_in_arrears:
            continue
        _rent_step(
            script,
            t,
            rents.report_arrears(
                script.state(case_id), month, rng.randint(3000, 9000), event_meta(PROPERTY, t, t)
            ),
            tenant_id,
        )
    _rent_step(
        script,
        warned,
        rents.issue_eviction_warning(
            script.state(case_id), local_date(warned), event_meta(PROPERTY, warned, warned)
        ),
        tenant_id,
    )


def _concerns(
    script: _Script,
    now: datetime,
    followed: Sequence[tuple[UUID, UUID, Service | None, Actor]],
    counts: dict[str, int],
) -> None:
    """Concerns raised in the last 25 days, routed three hours later; 65 % acknowledged a
    day after (half of those resolved), the rest still waiting."""
    rng = script.rng
    for tenant_id, dwelling_id, service, me in rng.sample(list(followed), CONCERNS):
        concern_id = uuid4()
        t = now - timedelta(days=rng.uniform(0.5, 25))
        about = None if rng.random() < 0.2 else tenant_id
        script.add(
            t,
            _evolve_any,
            concerns.raise_concern(
                concern_id,
                about,
                dwelling_id,
                rng.choice(list(concerns.ConcernCategory)),
                "Nabo melder om uro og lukt fra leiligheten.",
                event_meta(PROPERTY, t, t),
            ),
        )
        to = service or Service.CARE
        t += timedelta(hours=3)
        script.add(
            t,
            _evolve_any,
            concerns.route(script.state(concern_id), to, event_meta(PROPERTY, t, t)),
        )
        t += timedelta(days=1)
        if t < now and rng.random() < 0.65:
            by = Actor(me.user_id if service else workers_of(to)[0], to)
            script.add(
                t, _evolve_any, concerns.acknowledge(script.state(concern_id), event_meta(by, t, t))
            )
            if rng.random() < 0.5:
                t += timedelta(hours=2)
                if t < now:
                    script.add(
                        t,
                        _evolve_any,
                        concerns.resolve(
                            script.state(concern_id),
                            concerns.ConcernOutcome.ACTION_TAKEN,
                            "Fulgt opp.",
                            event_meta(by, t, t),
                        ),
                    )
        else:
            counts["concerns waiting"] = counts.get("concerns waiting", 0) + 1
    counts["concerns"] = CONCERNS


def _handovers(
    script: _Script,
    now: datetime,
    followed: Sequence[tuple[UUID, UUID, Service | None, Actor]],
    counts: dict[str, int],
) -> None:
    """Handovers announced in the last ten days for the next 30; half accepted a day after."""
    rng = script.rng
    candidates = [f for f in followed if f[2] is not None]
    for tenant_id, _, service, me in rng.sample(candidates, HANDOVERS):
        assert service is not None
        handover_id = uuid4()
        to = rng.choice([s for s in SERVICES if s is not service])
        t = now - timedelta(days=rng.uniform(1.5, 10))
        effective = local_date(now) + timedelta(days=rng.randint(1, 30))
        script.add(
            t,
            _evolve_any,
            handovers.announce(
                handover_id,
                script.state(tenant_id),
                service,
                to,
                rng.choice(list(handovers.HandoverKind)),
                effective,
                event_meta(me, t, t),
            ),
        )
        if rng.random() < 0.5:
            receiver = Actor(workers_of(to)[0], to)
            t += timedelta(days=1)
            script.add(
                t,
                _evolve_any,
                handovers.accept(
                    script.state(handover_id), receiver.user_id, event_meta(receiver, t, t)
                ),
            )
        else:
            counts["handovers waiting"] = counts.get("handovers waiting", 0) + 1
    counts["handovers"] = HANDOVERS


async def create_staff_and_devices(url: str, now: datetime, seed: int = 14) -> dict[str, int]:
    """The users the rules tell (active, by service and role) and one tablet per field
    worker, a tenth of them silent for 4-15 days."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        members = staff_members()
        for m in members:
            await users.create_user(
                conn,
                username=m.username,
                display_name=m.username,
                service=m.service,
                roles=m.roles,
                password=None,
                now=now - timedelta(days=400),
                user_id=m.user_id,
            )
        stale = 0
        devices = []
        for m in members:
            if Role.FIELD_WORKER not in m.roles:
                continue
            if rng.random() < STALE_DEVICE_SHARE:
                synced = now - timedelta(days=rng.uniform(4, 15))
                stale += 1
            else:
                synced = now - timedelta(hours=rng.uniform(0, 20))
            devices.append((uuid4(), m.user_id, "Nettbrett", now - timedelta(days=60), synced))
        await conn.executemany(
            "INSERT INTO devices (id, user_id, label, registered_at, last_synced_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            devices,
        )
        await conn.execute("ANALYZE")
        return {"users": len(members), "devices": len(devices), "silent devices": stale}
    finally:
        await conn.close()


def complete_visits(database: DatabaseUrl, fixture: Fixture, tenant_ids: Sequence[UUID]) -> None:
    """A visit planned and completed an hour before ``now`` for each tenant, stored through
    the write model (``FollowUpApplication.save``, as bench/fixtures.py does)."""
    app = FollowUpApplication(database.eventsourcing_env())
    try:
        now = fixture.now
        events: list[DomainEvent] = []
        for tenant_id in tenant_ids:
            tenant, me = fixture.overdue.pop(tenant_id)
            at = now - timedelta(hours=2)
            planned = visits.plan(
                uuid4(), tenant, now - timedelta(hours=1), [me.user_id], event_meta(me, at, at)
            )
            visit = visits.evolve(None, planned)
            done_at = now - timedelta(hours=1)
            done = visits.complete(
                visit,
                tenant,
                [me.user_id],
                visits.Observations(wellbeing=visits.Wellbeing.GOOD, note=NOTE),
                event_meta(me, done_at, done_at),
            )
            events += [planned, done]
        app.save(*events)
    finally:
        app.close()


# --- the candidate SELECTs, as the rules send them --------------------------------------


class _Recorder:
    """A connection that records what a rule's ``find`` asks and answers no rows."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.calls.append((sql, args))
        return []


@dataclass(frozen=True)
class Candidate:
    rule: AlertRule
    sql: str
    args: tuple[Any, ...]


async def candidate_queries(runtime: Runtime) -> list[Candidate]:
    """Each rule's candidate SELECT(s), with the arguments it computes at the clock's now."""
    now = runtime.clock()
    out = []
    for rule in RULES:
        recorder = _Recorder()
        await rule.find(cast(asyncpg.Connection, recorder), Staff(), runtime.alert_thresholds, now)
        out += [Candidate(rule.rule, sql, args) for sql, args in recorder.calls]
    return out


async def raw_candidates(
    conn: asyncpg.Connection, queries: Sequence[Candidate]
) -> tuple[float, list[float], int]:
    """Wall seconds for all the candidate SELECTs in turn, each one's, and rows fetched."""
    each = []
    rows = 0
    start = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        rows += len(await conn.fetch(q.sql, *q.args))
        each.append(time.perf_counter() - t0)
    return time.perf_counter() - start, each, rows


async def explain(conn: asyncpg.Connection, q: Candidate) -> str:
    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + q.sql, *q.args)
    return "\n".join("    " + r[0] for r in plan)


# --- CPU -------------------------------------------------------------------------------


def _cpu_by_pid(procs: Sequence[psutil.Process]) -> dict[int, float]:
    out = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            out[proc.pid] = t.user + t.system
    return out


@dataclass
class Sample:
    wall_s: float
    cpu_s: float  # this process, every thread (the write model's thread hop included)
    pg_s: float  # this run's PostgreSQL backends (nan for a server elsewhere)
    runs: list[RuleRun] = field(default_factory=list)
    rows: int = 0

    def total(self, what: str) -> int:
        return sum(getattr(r, what) for r in self.runs)


async def metered(
    postgres: Callable[[], list[psutil.Process]], call: Callable[..., Any], *args: Any
) -> tuple[Sample, Any]:
    procs = await asyncio.to_thread(postgres)
    pg_before = _cpu_by_pid(procs)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    result = await call(*args)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    after = _cpu_by_pid(await asyncio.to_thread(postgres))
    pg = sum(t - pg_before.get(pid, 0.0) for pid, t in after.items()) if after else math.nan
    return Sample(wall, cpu, pg), result


# --- the rounds ------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertsProfile:
    rounds: int
    steady: int  # steady-state runs (and raw baselines) per round


FULL = AlertsProfile(rounds=5, steady=15)
QUICK = AlertsProfile(rounds=3, steady=7)


@dataclass
class AlertRuns:
    first: list[Sample] = field(default_factory=list)
    steady: list[list[Sample]] = field(default_factory=list)  # per round
    raw: list[list[Sample]] = field(default_factory=list)  # per round
    cleared: list[Sample] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    per_query_ms: dict[int, list[float]] = field(default_factory=dict)  # query -> per round


async def open_runtime(database: DatabaseUrl, now: datetime) -> Runtime:
    settings = Settings(database_url=database.url, run_projections=False, run_scheduler=False)
    return await Runtime.open(settings, database, clock=lambda: now)


async def reset_alerts(url: str) -> None:
    """Forget every alert: their events and the alerts read model (between rounds, so each
    round's first run raises them all again; alert ids are derived, so nothing else
    remembers them)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM folgja_events WHERE topic LIKE 'domain.alerts:%'")
            await conn.execute("TRUNCATE alerts, alert_recipients")
    finally:
        await conn.close()


async def measure_rounds(
    db: Database,
    fixture: Fixture,
    profile: AlertsProfile,
    say: Callable[[str], None],
) -> tuple[AlertRuns, list[Candidate], dict[int, str]]:
    url = db.url.url
    runs = AlertRuns()
    raw_conn = await asyncpg.connect(url)
    plans: dict[int, str] = {}
    queries: list[Candidate] = []
    try:
        for r in range(1, profile.rounds + 1):
            if r > 1:
                await reset_alerts(url)
            runtime = await open_runtime(db.url, fixture.now)
            try:
                queries = await candidate_queries(runtime)
                # Warm both connections' statement caches, untimed.
                await raw_candidates(raw_conn, queries)

                say(f"round {r}/{profile.rounds}: (a) first run, every alert raised")
                first, result = await metered(db.postgres_processes, run_time_rules, runtime)
                first.runs = result
                runs.first.append(first)
                say(
                    f"  {first.wall_s * 1000:.0f} ms: found {first.total('found')}, raised "
                    f"{first.total('raised')}"
                )
                await readside.catch_up_rate(url, postgres=None)

                say(f"round {r}/{profile.rounds}: (b) {profile.steady} steady-state runs")
                await run_time_rules(runtime)  # warm, untimed
                steady, raw = [], []
                for _ in range(profile.steady):
                    sample, result = await metered(db.postgres_processes, run_time_rules, runtime)
                    sample.runs = result
                    if sample.total("raised") or sample.total("cleared"):
                        raise RuntimeError(f"a steady-state run changed alerts: {result}")
                    steady.append(sample)
                    base, (_, each, rows) = await metered(
                        db.postgres_processes, raw_candidates, raw_conn, queries
                    )
                    base.rows = rows
                    raw.append(base)
                    for i, seconds in enumerate(each):
                        runs.per_query_ms.setdefault(i, []).append(seconds * 1000)
                runs.steady.append(steady)
                runs.raw.append(raw)
                say(
                    f"  {median([s.wall_s for s in steady]) * 1000:.1f} ms "
                    f"(raw SELECTs {median([s.wall_s for s in raw]) * 1000:.1f} ms)"
                )

                n = max(1, math.ceil(CLEAR_SHARE * len(fixture.overdue)))
                chosen = list(fixture.overdue)[:n]
                say(f"round {r}/{profile.rounds}: (c) {n} overdue tenants visited, then a run")
                await asyncio.to_thread(complete_visits, db.url, fixture, chosen)
                await readside.catch_up_rate(url, postgres=None)
                cleared, result = await metered(db.postgres_processes, run_time_rules, runtime)
                cleared.runs = result
                runs.cleared.append(cleared)
                runs.completed.append(n)
                say(f"  {cleared.wall_s * 1000:.0f} ms: cleared {cleared.total('cleared')}")
                await readside.catch_up_rate(url, postgres=None)
            finally:
                await runtime.close()
        # The plan of every slow candidate SELECT, and of the slowest one in any case.
        p50 = {i: median(runs.per_query_ms[i]) for i in range(len(queries))}
        slowest = max(p50, key=lambda i: p50[i])
        for i, q in enumerate(queries):
            if p50[i] > SLOW_QUERY_MS or i == slowest:
                plans[i] = await explain(raw_conn, q)
    finally:
        await raw_conn.close()
    return runs, queries, plans


def _ratio(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    return [t / b if b else math.nan for t, b in zip(top, bottom, strict=True)]


def alert_lines(runs: AlertRuns, queries: Sequence[Candidate]) -> list[Line]:
    def ms(samples: Sequence[Sample], what: str = "wall_s") -> list[float]:
        return [getattr(s, what) * 1000 for s in samples]

    # Per round: the median of its steady-state samples (and of its raw baselines).
    steady = [median(ms(rs)) for rs in runs.steady]
    raw = [median(ms(rs)) for rs in runs.raw]
    # CPU per run: the mean over the round's samples (psutil counts PostgreSQL's CPU in
    # 10 ms clock ticks, finer than one run's share), then the median of the rounds.
    steady_cpu = [fmean(ms(rs, "cpu_s")) for rs in runs.steady]
    steady_pg = [fmean(ms(rs, "pg_s")) for rs in runs.steady]
    raw_cpu = [fmean(ms(rs, "cpu_s")) for rs in runs.raw]
    raw_pg = [fmean(ms(rs, "pg_s")) for rs in runs.raw]
    first, cleared = ms(runs.first), ms(runs.cleared)

    def counts(samples: Sequence[Sample], what: str) -> list[float]:
        return [float(s.total(what)) for s in samples]

    lines = [
        Line(
            "(a) first run: find + raise every alert (vs raw candidate SELECTs)",
            first,
            "ms",
            raw,
            _ratio(first, raw),
        ),
        Line("    findings", counts(runs.first, "found"), ""),
        Line("    alerts raised", counts(runs.first, "raised"), ""),
        Line(
            "    process CPU (vs raw SELECTs' client CPU)",
            ms(runs.first, "cpu_s"),
            "ms",
            raw_cpu,
            _ratio(ms(runs.first, "cpu_s"), raw_cpu),
        ),
        Line(
            "    PostgreSQL CPU (vs raw SELECTs')",
            ms(runs.first, "pg_s"),
            "ms",
            raw_pg,
            _ratio(ms(runs.first, "pg_s"), raw_pg),
        ),
        Line(
            "(b) steady state: find + compare, nothing written (vs raw SELECTs)",
            steady,
            "ms",
            raw,
            _ratio(steady, raw),
            f"< {TARGET_MS:,.0f} ms",
            median(steady) < TARGET_MS,
        ),
        Line(
            "    findings (all known, none raised or cleared)",
            [float(rs[0].total("found")) for rs in runs.steady],
            "",
        ),
        Line(
            "    process CPU (vs raw SELECTs' client CPU)",
            steady_cpu,
            "ms",
            raw_cpu,
            _ratio(steady_cpu, raw_cpu),
        ),
        Line(
            "    PostgreSQL CPU (vs raw SELECTs')",
            steady_pg,
            "ms",
            raw_pg,
            _ratio(steady_pg, raw_pg),
        ),
        Line(
            "(c) after 1 % of overdue tenants were visited: find + clear (vs raw SELECTs)",
            cleared,
            "ms",
            raw,
            _ratio(cleared, raw),
        ),
        Line("    visits completed", [float(n) for n in runs.completed], ""),
        Line("    alerts cleared", counts(runs.cleared, "cleared"), ""),
        Line(
            "    process CPU (vs raw SELECTs' client CPU)",
            ms(runs.cleared, "cpu_s"),
            "ms",
            raw_cpu,
            _ratio(ms(runs.cleared, "cpu_s"), raw_cpu),
        ),
        Line(
            "    PostgreSQL CPU (vs raw SELECTs')",
            ms(runs.cleared, "pg_s"),
            "ms",
            raw_pg,
            _ratio(ms(runs.cleared, "pg_s"), raw_pg),
        ),
        Line(
            "baseline alone: rows the candidate SELECTs return",
            [float(median([s.rows for s in rs])) for rs in runs.raw],
            "",
        ),
        Line("raw candidate SELECT, one round trip each (p50 over all samples):", [], ""),
    ]
    for i, q in enumerate(queries):
        per = runs.per_query_ms[i]
        lines.append(
            Line(
                f"    {q.rule.value}",
                [median(per)],
                "ms",
                target=f"<= {SLOW_QUERY_MS:.0f} ms",
                met=median(per) <= SLOW_QUERY_MS,
            )
        )
    return lines


def rule_breakdown(runs: AlertRuns) -> str:
    first = runs.first[0].runs
    return ", ".join(f"{r.rule.value} {r.found}" for r in first)


async def alerts_table(db: Database, args: argparse.Namespace, say: Callable[[str], None]) -> str:
    url = db.url.url
    started = time.perf_counter()
    profile = QUICK if args.quick else FULL
    if args.repeats is not None:
        profile = AlertsProfile(rounds=args.repeats, steady=profile.steady)
    now = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    say(f"alerts: a municipality of {TENANTS:,} tenants in follow-up (not timed)")
    staff = await create_staff_and_devices(url, now)
    rows, fixture = await asyncio.to_thread(build, now)
    await copy_into_log(url, rows)
    del rows
    say(f"  {fixture.events:,} events in {time.perf_counter() - started:.1f} s; catching up")
    catch_up = await readside.catch_up_rate(url, postgres=None)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
        in_follow_up = await conn.fetchval("SELECT count(*) FROM caseload WHERE follow_up_active")
    finally:
        await conn.close()
    say(
        f"  read models built at {catch_up.rate:,.0f} events/s; {in_follow_up:,} tenants in "
        f"follow-up ({time.perf_counter() - started:.1f} s)"
    )
    runs, queries, plans = await measure_rounds(db, fixture, profile, say)
    c = fixture.counts | staff
    notes = [
        f"municipality: {in_follow_up:,} tenants in follow-up, {fixture.events:,} events "
        f"(bench/alerts.py); {c['users']} users ({len(SERVICES)} services x "
        f"{WORKERS_PER_SERVICE} field workers + {LEADS_PER_SERVICE} leads, NAV, FBE, "
        f"coordinating unit), {c['devices']} tablets ({c['silent devices']} silent 4-15 days)",
        f"  overdue visits {c.get('overdue', 0)}, safety flags {c.get('flags', 0)}, visits "
        f"planned ahead {c.get('planned ahead', 0)}, eviction warnings "
        f"{c.get('eviction warnings', 0)}, concerns {c['concerns']} "
        f"({c.get('concerns waiting', 0)} unacknowledged), handovers {c['handovers']} "
        f"({c.get('handovers waiting', 0)} unaccepted)",
        f"findings by rule (first run): {rule_breakdown(runs)}",
        f"clock fixed at {fixture.now.isoformat()}; {profile.rounds} rounds, each: alerts "
        "forgotten (their events and read model), (a) once, the projections caught up, "
        f"(b) {profile.steady} times interleaved with the raw baseline, visits completed "
        "through the write model and caught up, (c) once; medians of the rounds (for (b), "
        "of each round's median)",
        "run_time_rules on a Runtime in this process (no HTTP, no scheduler, projections "
        "stopped while timed). Process CPU: time.process_time, every thread (the write "
        "model's thread hop included); PostgreSQL CPU: this run's backends (n/a elsewhere)",
        "baseline: raw asyncpg on its own connection, the rules' candidate SELECTs in turn "
        "(the SQL and arguments captured from each rule's find), rows fetched, no decoding",
        f"total {time.perf_counter() - started:.0f} s",
    ]
    text = render_lines(
        f"Folgja alert time rules, {in_follow_up:,} tenants (issue 14)", alert_lines(runs, queries)
    )
    text += "\n" + "\n".join(notes)
    for i, plan in plans.items():
        p50 = median(runs.per_query_ms[i])
        what = "slow" if p50 > SLOW_QUERY_MS else "slowest"
        text += (
            f"\n\n{what} candidate SELECT ({queries[i].rule.value}, p50 {p50:.2f} ms), "
            f"EXPLAIN (ANALYZE, BUFFERS) after the rounds:\n{plan}"
        )
    return text
