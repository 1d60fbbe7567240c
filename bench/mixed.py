"""Untimed set-up for the read-side figures: a realistic log of mixed events, fast.

Every event is made by the domain's own rule functions (so versions, ids and fields are
what the commands would write), encoded with :func:`domain.codec.encode_state` and
copied straight into ``folgja_events`` with one ``COPY`` (positions follow the copy
order): 200,000 events in well under a minute instead of 2,000 saves.

The mix, per tenant: registration, follow-up, a responsible service and contact worker,
a dwelling (a fifth of them safety-flagged, some flags changed or lifted later), a
lease and the move-in, a rent case, planned visits that are completed, fail at the door or
are cancelled, rent arrears with NAV notifications (sent on consent or the eviction
basis, else withheld) and a few eviction warnings, concerns about the tenant or the
address alone (raised, routed, acknowledged, resolved), and handovers (announced,
accepted, completed, with the responsibility that follows). Each tenant's history is
spread over the last year; the log interleaves all tenants by the time things happened.

Two tenants groups serve the query figures: ``team`` (400 tenants of one service, 40
per contact worker, 10 workers) and ``heavy`` (one tenant with 1,000 timeline events).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from eventsourcing.utils import get_topic

from domain import concern as concerns
from domain import dwelling as dwellings
from domain import handover as handovers
from domain import lease as leases
from domain import nav
from domain import rent as rents
from domain import tenant as tenants
from domain import visit as visits
from domain.codec import encode_state
from domain.events import Actor, DomainEvent, EventMeta, event_meta, local_date
from domain.municipal_services import Service

TEAM = Service.OUTREACH_TEAM
TEAM_WORKERS = 10
TEAM_TENANTS = 400
HEAVY_EVENTS = 1000
OTHER_SERVICES = (
    Service.CARE,
    Service.MENTAL_HEALTH,
    Service.REFUGEE_CENTRE,
    Service.CHILD_AND_YOUTH,
    Service.COORDINATING_UNIT,
)
NOTE = "Beboer var hjemme. Praten gikk greit; avtalt oppfølging av husleie og ny avtale om to uker."


def _worker(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-a000-{n:012d}")


TEAM_WORKER_IDS = [_worker(n) for n in range(TEAM_WORKERS)]
OTHER_WORKERS = {
    s: [_worker(100 + 10 * k + n) for n in range(6)] for k, s in enumerate(OTHER_SERVICES)
}
NAV_WORKER = Actor(_worker(900), Service.NAV)
PROPERTY = Actor(_worker(901), Service.PROPERTY_MANAGER)


@dataclass
class MixedLog:
    """What was written, for the query figures."""

    events: int
    tenants: int
    team: Service
    team_workers: list[UUID]
    team_tenants: int
    heavy_tenant: UUID
    heavy_events: int  # events on the heavy tenant's timeline


@dataclass
class _Step:
    at: datetime
    seq: int
    events: tuple[DomainEvent, ...]


@dataclass
class _Script:
    """One tenant's history as it is written: steps in time order, aggregates' states."""

    rng: random.Random
    steps: list[_Step]
    counter: list[int]
    states: dict[UUID, Any] = field(default_factory=dict)

    def meta(self, actor: Actor, at: datetime) -> EventMeta:
        return event_meta(actor, at, at + timedelta(seconds=20))

    def add(self, at: datetime, evolve: Callable[[Any, Any], Any], *events: DomainEvent) -> None:
        for event in events:
            self.states[event.originator_id] = evolve(self.states.get(event.originator_id), event)
        self.counter[0] += 1
        self.steps.append(_Step(at, self.counter[0], events))

    def state(self, aggregate_id: UUID) -> Any:
        return self.states[aggregate_id]


def _evolve_any(state: Any, event: DomainEvent) -> Any:
    module = event.__class__.__module__
    return _EVOLVE[module](state, event)


_EVOLVE: dict[str, Callable[[Any, Any], Any]] = {
    "domain.tenant_events": tenants.evolve,
    "domain.tenant": tenants.evolve,
    "domain.visit": visits.evolve,
    "domain.dwelling": dwellings.evolve,
    "domain.lease": leases.evolve,
    "domain.rent": rents.evolve,
    "domain.nav": nav.evolve,
    "domain.concern": concerns.evolve,
    "domain.handover": handovers.evolve,
}


def _tenant_history(
    script: _Script,
    number: int,
    start: datetime,
    end: datetime,
    service: Service | None,
    worker: UUID | None,
    visits_n: int,
    *,
    extras: bool = True,
) -> UUID:
    rng = script.rng
    add = script.add
    ev = _evolve_any
    me = Actor(worker or _worker(999), service or Service.OUTREACH_TEAM)
    span = (end - start).total_seconds()

    def at(fraction: float) -> datetime:
        return start + timedelta(seconds=span * fraction)

    tenant_id = uuid4()
    t = at(0.0)
    add(
        t, ev, tenants.register(tenant_id, f"Beboer {number}", date(1980, 1, 1), script.meta(me, t))
    )
    t = at(0.002)
    add(
        t,
        ev,
        tenants.start_follow_up(
            script.state(tenant_id), rng.choice((7, 14, 14, 30)), local_date(t), script.meta(me, t)
        ),
    )
    if service is not None:
        t = at(0.004)
        add(
            t,
            ev,
            tenants.assign_responsibility(
                script.state(tenant_id), service, worker, script.meta(me, t)
            ),
        )
    # A dwelling, let to the tenant.
    dwelling_id, lease_id = uuid4(), uuid4()
    t = at(0.006)
    add(
        t,
        ev,
        dwellings.register(
            dwelling_id,
            f"Testveien {number}",
            f"H0{number % 4 + 1}01",
            "7010",
            dwellings.DwellingOwner.MUNICIPAL,
            script.meta(PROPERTY, t),
        ),
    )
    t = at(0.008)
    started = leases.start(
        lease_id, dwelling_id, tenant_id, local_date(t), None, 36, script.meta(PROPERTY, t)
    )
    let, moved_in = leases.move_in(started, script.state(dwelling_id), script.state(tenant_id))
    add(t, ev, started, let, moved_in)
    case_id = rents.rent_case_id_for(lease_id)
    add(
        t,
        ev,
        rents.open_case(script.state(lease_id), script.state(tenant_id), script.meta(PROPERTY, t)),
    )
    flagged = extras and rng.random() < 0.2
    if flagged:
        t = at(0.05)
        add(
            t,
            ev,
            dwellings.set_flag(
                script.state(dwelling_id),
                rng.choice(list(dwellings.SafetyFlagKind)),
                rng.choice(list(dwellings.SafetyFlagReason)),
                local_date(t) + timedelta(days=180),
                script.meta(PROPERTY, t),
            ),
        )
    # Visits, spread over the rest of the history.
    for n in range(visits_n):
        f = 0.02 + 0.96 * (n + rng.random() * 0.5) / max(visits_n, 1)
        t = at(f)
        visit_id = uuid4()
        add(
            t,
            ev,
            visits.plan(
                visit_id,
                script.state(tenant_id),
                t + timedelta(days=2),
                [me.user_id],
                script.meta(me, t),
            ),
        )
        t2 = t + timedelta(days=2, hours=rng.randint(0, 5))
        roll = rng.random()
        if roll < 0.8:
            done: DomainEvent = visits.complete(
                script.state(visit_id),
                script.state(tenant_id),
                [me.user_id],
                visits.Observations(wellbeing=rng.choice(list(visits.Wellbeing)), note=NOTE),
                script.meta(me, t2),
            )
        else:
            reason = (
                visits.FailureReason.CANCELLED
                if roll > 0.95
                else rng.choice(
                    (visits.FailureReason.NOT_AT_HOME, visits.FailureReason.REFUSED_ENTRY)
                )
            )
            done = visits.fail(
                script.state(visit_id),
                script.state(tenant_id),
                [me.user_id],
                reason,
                script.meta(me, t2),
            )
        add(t2, ev, done)
    if not extras:
        return tenant_id
    # Rent arrears and NAV.
    if rng.random() < 0.3:
        months = rng.randint(1, 3)
        for m in range(months):
            t = at(0.4 + 0.1 * m)
            month = (local_date(t).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
            if month in script.state(case_id).months_in_arrears:
                continue
            _rent_step(
                script,
                t,
                rents.report_arrears(
                    script.state(case_id), month, rng.randint(3000, 9000), script.meta(PROPERTY, t)
                ),
                tenant_id,
            )
        if months >= 2 and rng.random() < 0.4:
            t = at(0.75)
            _rent_step(
                script,
                t,
                rents.issue_eviction_warning(
                    script.state(case_id), local_date(t), script.meta(PROPERTY, t)
                ),
                tenant_id,
            )
        elif rng.random() < 0.5:
            t = at(0.8)
            add(
                t,
                ev,
                rents.clear_arrears(script.state(case_id), local_date(t), script.meta(PROPERTY, t)),
            )
    # Concerns: about the tenant, or about the address alone.
    for c in range(rng.choice((0, 0, 1, 1, 2))):
        t = at(0.3 + 0.25 * c + rng.random() * 0.1)
        concern_id = uuid4()
        address_only = rng.random() < 0.2
        add(
            t,
            ev,
            concerns.raise_concern(
                concern_id,
                None if address_only else tenant_id,
                dwelling_id,
                rng.choice(list(concerns.ConcernCategory)),
                "Nabo melder om uro og lukt fra leiligheten.",
                script.meta(PROPERTY, t),
            ),
        )
        to = service or Service.CARE
        t += timedelta(hours=3)
        add(t, ev, concerns.route(script.state(concern_id), to, script.meta(PROPERTY, t)))
        t += timedelta(days=1)
        add(
            t,
            ev,
            concerns.acknowledge(script.state(concern_id), script.meta(Actor(me.user_id, to), t)),
        )
        if rng.random() < 0.6:
            t += timedelta(days=rng.randint(2, 20))
            add(
                t,
                ev,
                concerns.resolve(
                    script.state(concern_id),
                    concerns.ConcernOutcome.ACTION_TAKEN,
                    "Fulgt opp.",
                    script.meta(Actor(me.user_id, to), t),
                ),
            )
    # A flag changed or lifted later.
    if flagged and rng.random() < 0.5:
        t = at(0.7)
        flag = script.state(dwelling_id).safety_flag
        if rng.random() < 0.5:
            add(
                t,
                ev,
                dwellings.lift_flag(
                    script.state(dwelling_id), "Ikke lenger aktuelt", script.meta(PROPERTY, t)
                ),
            )
        else:
            other = next(k for k in dwellings.SafetyFlagKind if k is not flag.kind)
            add(
                t,
                ev,
                dwellings.change_flag(
                    script.state(dwelling_id),
                    other,
                    flag.reason,
                    local_date(t) + timedelta(days=90),
                    script.meta(PROPERTY, t),
                ),
            )
    # Handovers between other services (the benchmark team keeps its 400 tenants).
    if service is not None and service is not TEAM and rng.random() < 0.15:
        t = at(0.6)
        to_service = rng.choice([s for s in OTHER_SERVICES if s is not service])
        handover_id = uuid4()
        effective = local_date(t) + timedelta(days=5)
        add(
            t,
            ev,
            handovers.announce(
                handover_id,
                script.state(tenant_id),
                service,
                to_service,
                rng.choice(list(handovers.HandoverKind)),
                effective,
                script.meta(me, t),
            ),
        )
        receiver = Actor(OTHER_WORKERS[to_service][0], to_service)
        t += timedelta(days=1)
        add(
            t,
            ev,
            handovers.accept(script.state(handover_id), receiver.user_id, script.meta(receiver, t)),
        )
        t += timedelta(days=5)
        completed = handovers.complete(
            script.state(handover_id), local_date(t), script.meta(receiver, t)
        )
        assigned = tenants.assign_responsibility(
            script.state(tenant_id), to_service, receiver.user_id, completed.meta, handover_id
        )
        add(t, ev, completed, assigned)
    return tenant_id


def _rent_step(script: _Script, t: datetime, event: DomainEvent, tenant_id: UUID) -> None:
    """A rent-case step and what NAV is told about it, in one commit (as the use case)."""
    script.add(t, _evolve_any, event)
    after = script.state(event.originator_id)
    trigger = rents.trigger_of(event)  # type: ignore[arg-type]
    if trigger is None:
        return
    meta = event.meta
    decision = nav.send_or_withhold(
        after.id,
        script.state(tenant_id),
        trigger,
        event.originator_version,
        after.total_owed_nok,
        meta,
    )
    if isinstance(decision, nav.WithheldReason):
        script.add(t, _evolve_any, rents.withhold_nav_notification(after, trigger, decision, meta))
        return
    # The notification, and NAV acknowledging it a day or two later.
    script.steps[-1].events += (decision,)
    script.states[decision.originator_id] = nav.evolve(None, decision)
    if script.rng.random() < 0.7:
        t2 = t + timedelta(days=script.rng.randint(1, 3))
        script.add(
            t2,
            _evolve_any,
            nav.acknowledge(script.state(decision.originator_id), script.meta(NAV_WORKER, t2)),
        )


def build(
    events_n: int, *, seed: int = 4, now: datetime | None = None
) -> tuple[list[tuple[Any, ...]], MixedLog]:
    """At least ``events_n`` events as rows for ``folgja_events``, in log order."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    year_ago = now - timedelta(days=365)
    steps: list[_Step] = []
    counter = [0]
    script = _Script(rng, steps, counter)
    # The heavy tenant: a long history of visits (two events each) and everything else.
    heavy = _tenant_history(
        script, 0, year_ago, now - timedelta(days=1), TEAM, TEAM_WORKER_IDS[0], 0
    )
    # Planned-and-closed visits after the rest, to reach 1,000 timeline events.
    visits_needed = (HEAVY_EVENTS - _timeline_count(steps, heavy)) // 2
    sub = _Script(rng, steps, counter, script.states)
    _more_visits(sub, heavy, year_ago, now - timedelta(days=1), visits_needed)
    number = 1
    total = sum(len(s.events) for s in steps)
    while total < events_n:
        if number <= TEAM_TENANTS - 1:
            service: Service | None = TEAM
            worker: UUID | None = TEAM_WORKER_IDS[number % TEAM_WORKERS]
        elif rng.random() < 0.05:
            service, worker = None, None
        else:
            service = rng.choice(OTHER_SERVICES)
            worker = rng.choice(OTHER_WORKERS[service])
        before = len(steps)
        begin = year_ago + timedelta(days=rng.uniform(0, 120))
        _tenant_history(
            script,
            number,
            begin,
            now - timedelta(days=rng.uniform(0, 10)),
            service,
            worker,
            rng.randint(8, 18),
        )
        total += sum(len(s.events) for s in steps[before:])
        number += 1
    steps.sort(key=lambda s: (s.at, s.seq))
    rows = [
        (e.originator_id, e.originator_version, get_topic(type(e)), encode_state(e))
        for s in steps
        for e in s.events
    ]
    log = MixedLog(
        events=len(rows),
        tenants=number,
        team=TEAM,
        team_workers=TEAM_WORKER_IDS,
        team_tenants=TEAM_TENANTS,
        heavy_tenant=heavy,
        heavy_events=_timeline_count(steps, heavy),
    )
    return rows, log


def _timeline_count(steps: Sequence[_Step], tenant_id: UUID) -> int:
    from projections.summaries import summarize

    return sum(
        1
        for s in steps
        for e in s.events
        if (about := summarize(e)) is not None and about[0] == tenant_id
    )


def _more_visits(script: _Script, tenant_id: UUID, start: datetime, end: datetime, n: int) -> None:
    rng = script.rng
    me = Actor(TEAM_WORKER_IDS[0], TEAM)
    span = (end - start).total_seconds()
    for k in range(n):
        t = start + timedelta(seconds=span * (0.01 + 0.98 * k / max(n, 1)))
        visit_id = uuid4()
        script.add(
            t,
            _evolve_any,
            visits.plan(
                visit_id,
                script.state(tenant_id),
                t + timedelta(hours=20),
                [me.user_id],
                script.meta(me, t),
            ),
        )
        t2 = t + timedelta(hours=20)
        if rng.random() < 0.8:
            done: DomainEvent = visits.complete(
                script.state(visit_id),
                script.state(tenant_id),
                [me.user_id],
                visits.Observations(wellbeing=visits.Wellbeing.FAIR, note=NOTE),
                script.meta(me, t2),
            )
        else:
            done = visits.fail(
                script.state(visit_id),
                script.state(tenant_id),
                [me.user_id],
                visits.FailureReason.NOT_AT_HOME,
                script.meta(me, t2),
            )
        script.add(t2, _evolve_any, done)


async def copy_into_log(url: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """The rows into ``folgja_events`` in order (positions follow), in one COPY."""
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "folgja_events",
            records=rows,
            columns=["originator_id", "originator_version", "topic", "state"],
        )
        await conn.execute("ANALYZE folgja_events")
    finally:
        await conn.close()
