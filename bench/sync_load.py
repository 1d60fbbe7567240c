"""Sync under load (issue 13, item 5): Monday 08:00, every tablet syncs at once.

Each simulated tablet does what a tablet back from a weekend offline does: an initial pull
of its worker's caseload (no cursor: a fresh or resynced store), a push of 20 visit
completions recorded offline, and three incremental pulls with the cursor it was given.
All tablets start together (one ``asyncio.gather``), against one server on this machine,
at growing counts (25, 50, 100, 200, 300 tablets), so the *knee* shows: the count where the
slowest requests (p99) pass two seconds.

Per count: p50/p99 per request kind, syncs per second, server, PostgreSQL and load-client
CPU per sync, errors, and items lost (pushed but without an ``applied`` outcome: must be
0). The same-run baseline is raw asyncpg on the same database, through a pool the size of
the server's: every tablet's reads and 20 inserts, all at once.

The load client is lean on purpose (one shared httpx client with a connection per tablet,
msgspec to decode): it runs on the same two cores as the server, and its own CPU is
reported beside the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec

from backend.auth import users
from backend.auth.roles import Role
from backend.database import REQUEST_POOL_MAX, DatabaseUrl
from bench import measure
from bench.fixtures import SAVE_CHUNK
from bench.stack import Database, running_server
from bench.stats import median, percentile
from domain import tenant as tenants
from domain import visit as visits
from domain.application import FollowUpApplication
from domain.events import Actor, DomainEvent, event_meta
from domain.municipal_services import Service

TENANTS_PER_WORKER = 10
PUSH_ITEMS = 20
INCREMENTAL_PULLS = 3
COUNTS = (25, 50, 100, 200, 300)
QUICK_COUNTS = (25, 50, 100)
# The reference client's documented timeout (docs/sync-protocol.md, "Limits"): a request
# that takes longer counts as an error here.
CLIENT_TIMEOUT_S = 30.0
KNEE_P99_S = 2.0
SERVICE = Service.OUTREACH_TEAM
OBSERVATIONS = {"wellbeing": "fair", "note": "Hjemme, i godt humør. Ny avtale om to uker."}
KINDS = ("initial pull", "push of 20", "incremental pull")


@dataclass
class LoadWorker:
    user_id: UUID
    username: str
    password: str
    tenants: list[UUID] = field(default_factory=list)
    planned: list[UUID] = field(default_factory=list)  # visits to complete, in order
    headers: dict[str, str] = field(default_factory=dict)
    seq: int = 0


async def create_workers(url: str, n: int) -> list[LoadWorker]:
    conn = await asyncpg.connect(url)
    try:
        made = []
        for i in range(n):
            password = secrets.token_urlsafe(18)
            row = await users.create_user(
                conn,
                username=f"load-{i:03d}",
                display_name=f"Load worker {i}",
                service=SERVICE,
                roles=[Role.FIELD_WORKER],
                password=password,
                now=datetime.now(UTC),
            )
            made.append(LoadWorker(row.id, row.username, password))
        return made
    finally:
        await conn.close()


def create_caseloads(database: DatabaseUrl, workers: Sequence[LoadWorker], rounds: int) -> int:
    """Each worker's tenants in follow-up, and ``rounds`` pushes' worth of planned visits."""
    app = FollowUpApplication(database.eventsourcing_env())
    try:
        now = datetime.now(UTC)
        start = now - timedelta(days=30)
        events: list[DomainEvent] = []
        for worker in workers:
            meta = event_meta(Actor(user_id=worker.user_id, service=SERVICE), start, now)
            held = []
            for i in range(TENANTS_PER_WORKER):
                registered = tenants.register(
                    uuid.uuid4(), f"Last Beboer {i}", date(1970, 1, 1), meta
                )
                tenant = tenants.replay([registered])
                assert tenant is not None
                started = tenants.start_follow_up(tenant, 14, start.date(), meta)
                tenant = tenants.evolve(tenant, started)
                assigned = tenants.assign_responsibility(tenant, SERVICE, worker.user_id, meta)
                events.extend([registered, started, assigned])
                held.append(tenants.evolve(tenant, assigned))
                worker.tenants.append(tenant.id)
            plan_meta = event_meta(Actor(user_id=worker.user_id, service=SERVICE), now, now)
            for n in range(PUSH_ITEMS * rounds):
                tenant = held[n % len(held)]
                when = now + timedelta(days=1)
                planned = visits.plan(uuid.uuid4(), tenant, when, [worker.user_id], plan_meta)
                events.append(planned)
                worker.planned.append(planned.originator_id)
        for first in range(0, len(events), SAVE_CHUNK):
            app.save(*events[first : first + SAVE_CHUNK])
        return len(events)
    finally:
        app.close()


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")


async def register_tablets(client: httpx.AsyncClient, workers: Sequence[LoadWorker]) -> None:
    """As each tablet does once: password sign-in, register the device, trade the credential."""

    async def one(worker: LoadWorker) -> None:
        login = await client.post(
            "/auth/login", json={"username": worker.username, "password": worker.password}
        )
        _expect(login, 200, "POST /auth/login")
        on_web = {"authorization": f"Bearer {login.json()['access_token']}"}
        device = await client.post("/devices", json={"label": "nettbrett"}, headers=on_web)
        _expect(device, 201, "POST /devices")
        grant = await client.post(
            "/auth/device-token",
            json={"device_credential": device.json()["device_credential"]},
        )
        _expect(grant, 200, "POST /auth/device-token")
        worker.headers = {
            "authorization": f"Bearer {grant.json()['access_token']}",
            "accept-encoding": "gzip",
        }

    for first in range(0, len(workers), 20):  # a password check is costly: 20 at a time
        await asyncio.gather(*(one(w) for w in workers[first : first + 20]))


class _Pulled(msgspec.Struct):
    cursor: str
    flags_through: int
    has_more: bool
    tenants: list[msgspec.Raw]


class _Pushed(msgspec.Struct):
    outcomes: list[dict[str, Any]]


@dataclass
class Step:
    tablets: int
    wall_s: float
    latencies: dict[str, list[float]]
    errors: list[str]
    lost: int
    cpu: dict[str, float]  # group -> CPU seconds in all
    raw_wall_s: float = 0.0
    raw_cpu: dict[str, float] = field(default_factory=dict)


async def one_tablet(
    client: httpx.AsyncClient,
    worker: LoadWorker,
    latencies: dict[str, list[float]],
    errors: list[str],
) -> None:
    """Initial pull, a push of 20 completions, three incremental pulls; errors are noted
    (the tablet stops at its first one, as a real one would retry later)."""

    async def call(kind: str, path: str, body: dict[str, Any]) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            response = await client.post(path, json=body, headers=worker.headers)
        except httpx.HTTPError as error:
            errors.append(f"{kind}: {type(error).__name__}")
            return None
        latencies[kind].append(time.perf_counter() - t0)
        if response.status_code != 200:
            errors.append(f"{kind}: {response.status_code}")
            return None
        return response

    pulled = await call("initial pull", "/sync/v1/pull", {"limit": 50})
    if pulled is None:
        return
    state = msgspec.json.decode(pulled.content, type=_Pulled)
    if len(state.tenants) != TENANTS_PER_WORKER or state.has_more:
        errors.append(f"initial pull: {len(state.tenants)} tenants")
        return
    now = datetime.now(UTC) - timedelta(minutes=5)
    items = []
    for visit_id in worker.planned[:PUSH_ITEMS]:
        worker.seq += 1
        items.append(
            {
                "item_id": str(uuid.uuid4()),
                "seq": worker.seq,
                "occurred_at": now.isoformat(),
                "command": {
                    "type": "complete_visit",
                    "visit_id": str(visit_id),
                    "worker_ids": [str(worker.user_id)],
                    "observations": OBSERVATIONS,
                },
            }
        )
    del worker.planned[:PUSH_ITEMS]
    pushed = await call("push of 20", "/sync/v1/push", {"items": items})
    if pushed is None:
        return
    for _ in range(INCREMENTAL_PULLS):
        body = {"cursor": state.cursor, "flags_through": state.flags_through, "limit": 50}
        pulled = await call("incremental pull", "/sync/v1/pull", body)
        if pulled is None:
            return
        state = msgspec.json.decode(pulled.content, type=_Pulled)


async def lost_items(conn: asyncpg.Connection, workers: Sequence[LoadWorker]) -> int:
    """Items pushed by these tablets (up to each one's seq) without an applied outcome."""
    pushed = sum(w.seq for w in workers)
    applied = await conn.fetchval(
        "SELECT count(*) FROM sync_outcomes o JOIN devices d ON d.id = o.device_id "
        "WHERE d.user_id = ANY($1::uuid[]) AND o.status IN ('applied', 'applied_for_review')",
        [w.user_id for w in workers],
    )
    return pushed - int(applied)


async def raw_baseline(url: str, workers: Sequence[LoadWorker]) -> float:
    """The same tablets' reads and writes as raw asyncpg, all at once, through a pool the
    size of the server's request pool: each reads its caseload rows, inserts 20 rows in
    one transaction, and reads its caseload again once per incremental pull."""
    async with asyncpg.create_pool(
        url, min_size=REQUEST_POOL_MAX, max_size=REQUEST_POOL_MAX
    ) as pool:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_load_items (id uuid, body text)")

        async def one(worker: LoadWorker) -> None:
            async with pool.acquire() as conn:
                await conn.fetch(
                    "SELECT * FROM caseload WHERE contact_worker_id = $1", worker.user_id
                )
            async with pool.acquire() as conn, conn.transaction():
                await conn.executemany(
                    "INSERT INTO bench_load_items VALUES ($1, $2)",
                    [(uuid.uuid4(), OBSERVATIONS["note"]) for _ in range(PUSH_ITEMS)],
                )
            for _ in range(INCREMENTAL_PULLS):
                async with pool.acquire() as conn:
                    await conn.fetch(
                        "SELECT tenant_id, position FROM caseload WHERE contact_worker_id = $1",
                        worker.user_id,
                    )

        t0 = time.perf_counter()
        await asyncio.gather(*(one(w) for w in workers))
        return time.perf_counter() - t0


async def run_step(
    base_url: str,
    url: str,
    workers: Sequence[LoadWorker],
    meter: measure.CpuMeter,
    wait_caught_up: Callable[[], Any],
) -> Step:
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: list[str] = []
    limits = httpx.Limits(max_connections=len(workers), max_keepalive_connections=len(workers))
    async with httpx.AsyncClient(
        base_url=base_url, timeout=CLIENT_TIMEOUT_S, limits=limits
    ) as client:
        meter.start()
        t0 = time.perf_counter()
        await asyncio.gather(*(one_tablet(client, w, latencies, errors) for w in workers))
        wall = time.perf_counter() - t0
        cores = meter.stop()
    # After a large step the server may take a while to answer /health (docs/benchmarks.md,
    # "Sync under load").
    await wait_caught_up(600.0, 60.0)
    conn = await asyncpg.connect(url)
    try:
        lost = await lost_items(conn, workers)
    finally:
        await conn.close()
    step = Step(
        len(workers), wall, latencies, errors, lost, {g: c * wall for g, c in cores.items()}
    )
    meter.start()
    step.raw_wall_s = await raw_baseline(url, workers)
    raw_cores = meter.stop()
    step.raw_cpu = {g: c * step.raw_wall_s for g, c in raw_cores.items()}
    return step


def render(steps: Sequence[Step]) -> str:
    lines = [
        "Folgja sync under load (issue 13): every tablet at once; initial pull, push of "
        f"{PUSH_ITEMS}, {INCREMENTAL_PULLS} incremental pulls each",
        "-" * 118,
        f"{'tablets':>7}  {'kind':<17}{'p50':>9}{'p99':>9}  {'syncs/s':>8}  "
        f"{'server CPU/sync':>15}  {'PG CPU/sync':>11}  {'client CPU/sync':>15}  "
        f"{'errors':>6}  {'lost':>4}  {'raw asyncpg':>11}",
        "-" * 118,
    ]
    knee = None
    for s in steps:
        p99s = []
        for i, kind in enumerate(KINDS):
            values = s.latencies[kind]
            p50 = median(values) * 1000 if values else float("nan")
            p99 = percentile(values, 99) * 1000 if values else float("nan")
            p99s.append(p99)
            if i == 0:
                per = 1000 / s.tablets
                first = (
                    f"{s.tablets:>7}  {kind:<17}{p50:>7.0f}ms{p99:>7.0f}ms  "
                    f"{s.tablets / s.wall_s:>8.1f}  "
                    f"{s.cpu.get('server', float('nan')) * per:>13.1f}ms  "
                    f"{s.cpu.get('postgres', float('nan')) * per:>9.1f}ms  "
                    f"{s.cpu.get('client', float('nan')) * per:>13.1f}ms  "
                    f"{len(s.errors):>6}  {s.lost:>4}  {s.raw_wall_s * 1000:>9.0f}ms"
                )
                lines.append(first)
            else:
                lines.append(f"{'':>7}  {kind:<17}{p50:>7.0f}ms{p99:>7.0f}ms")
        if knee is None and max(p99s) > KNEE_P99_S * 1000:
            knee = s.tablets
    lines.append("-" * 118)
    lines.append(
        f"knee (first count whose p99 passes {KNEE_P99_S:g} s): "
        + (f"{knee} tablets" if knee else f"not reached up to {steps[-1].tablets} tablets")
    )
    lines.append(
        "target: 0 errors and 0 lost items, no request over the client timeout "
        f"({CLIENT_TIMEOUT_S:g} s): "
        + (
            "met"
            if all(not s.errors and s.lost == 0 for s in steps)
            else "MISSED ("
            + "; ".join(f"{s.tablets}: {s.errors[:3]}" for s in steps if s.errors)
            + ")"
        )
    )
    lines.append(
        "raw asyncpg: the same tablets all at once through a pool the size of the server's "
        f"({REQUEST_POOL_MAX} connections), each reading its caseload rows, inserting "
        f"{PUSH_ITEMS} rows in one transaction and reading {INCREMENTAL_PULLS} more times "
        "(wall time of the whole step)"
    )
    lines.append(
        "CPU per sync: the step's CPU seconds / tablets (a sync = the five requests above); "
        "client: this bench process (the load client shares the server's two cores)"
    )
    return "\n".join(lines)


async def load_table(
    db: Database, args: argparse.Namespace, log_dir: Path, say: Callable[[str], None]
) -> str:
    counts = QUICK_COUNTS if args.quick else COUNTS
    url = db.url.url
    started = time.perf_counter()
    say(
        f"sync load: {max(counts)} field workers with {TENANTS_PER_WORKER} tenants each (not timed)"
    )
    workers = await create_workers(url, max(counts))
    # Tablet i takes part in every step whose count exceeds i.
    events = await asyncio.to_thread(create_caseloads, db.url, workers, len(counts) + 1)
    say(f"  {events:,} events in {time.perf_counter() - started:.0f} s")
    async with running_server(
        args.server, db.url, log_dir, workers=args.workers, app=args.app
    ) as server:
        await server.wait_caught_up()
        say("registering the tablets")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60.0) as client:
            await register_tablets(client, workers)
        meter = measure.CpuMeter(
            {
                "server": server.processes,
                "postgres": db.postgres_processes,
                "client": measure.own_process,
            }
        )
        say("warming up (5 tablets)")
        await run_step(server.base_url, url, workers[:5], meter, server.wait_caught_up)
        steps = []
        for n in counts:
            say(f"{n} tablets at once")
            step = await run_step(server.base_url, url, workers[:n], meter, server.wait_caught_up)
            worst = max((percentile(v, 99) for v in step.latencies.values() if v), default=0)
            say(
                f"  {step.wall_s:.1f} s, {n / step.wall_s:.1f} syncs/s, worst p99 "
                f"{worst * 1000:.0f} ms, errors {len(step.errors)}, lost {step.lost}"
            )
            steps.append(step)
    return render(steps) + (
        f"\nserver: {args.server}, {args.workers} worker(s); total "
        f"{time.perf_counter() - started:.0f} s"
    )
