"""The read side's figures (issue 4): catch-up, rebuild, and the two heaviest queries.

Each figure has a same-run baseline on the same rows: the raw asyncpg read-and-decode
rate of the log for the projections, a plain ``SELECT`` of the same rows for the queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import resource
import time
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import httpx
import psutil

from backend.auth.roles import Role
from backend.runtime import Projections
from backend.settings import Settings
from bench.identity import bearer_for
from bench.stats import percentile
from domain import risk
from domain.codec import decode_event
from domain.municipal_services import Service
from projections import events as event_log
from projections.caseload_queries import caseload_for_team, caseload_for_worker
from projections.rebuild import rebuild
from projections.registry import all_projections
from projections.risk_timeline_queries import current_risk, risk_series, risk_timeline

READ_BATCH = 500


async def read_and_decode_rate(url: str) -> tuple[float, int]:
    """Events per second: the whole log, ``SELECT`` in batches of 500 and decode each event.

    What any projection must do at least, with nothing written: the ceiling for catch-up.
    """
    conn = await asyncpg.connect(url)
    try:
        position = n = 0
        start = time.perf_counter()
        while True:
            rows = await event_log.fetch_after(conn, position, READ_BATCH)
            if not rows:
                break
            for r in rows:
                decode_event(r["topic"], r["state"], r["originator_id"], r["originator_version"])
            n += len(rows)
            position = rows[-1]["notification_id"]
        return n / (time.perf_counter() - start), n
    finally:
        await conn.close()


async def reset_projections(url: str) -> None:
    """Every projection back to zero: its tables emptied, its tracking and parked rows gone."""
    tables = [t for p in all_projections() for t in p.tables]
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute(f"TRUNCATE {', '.join(tables)}")
            await conn.execute("DELETE FROM projection_tracking")
            await conn.execute("DELETE FROM projection_parked")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


@dataclass(frozen=True)
class CatchUp:
    """A catch-up from zero: its rate, and the CPU it cost per event, by process."""

    rate: float
    events: int
    runner_us: float  # this process: the server's runner, as ``folgja run`` sets it up
    child_us: float  # the child process(es) of FOLGJA_PROJECTION_CHILD
    postgres_us: float  # the embedded PostgreSQL's processes (nan for an outside server)

    @property
    def total_us(self) -> float:
        return self.runner_us + self.child_us + self.postgres_us


def _cpu_seconds(procs: Sequence[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system
    return total


def _children_cpu_seconds() -> float:
    """CPU of this process's children that have exited and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def catch_up_rate(
    url: str,
    timeout_s: float = 600.0,
    postgres: Callable[[], list[psutil.Process]] | None = None,
) -> CatchUp:
    """Events per second: every projection from zero to the head, and its CPU per event.

    The server's own set-up, started the way the server starts it
    (:meth:`backend.runtime.Projections.start` with the settings ``folgja run`` reads from
    the environment): a runner in this process, and the child process for the projections
    ``FOLGJA_PROJECTION_CHILD`` names. The clock starts before the child is started
    (its start-up counts) and stops when the last projection's tracking reaches the head.

    CPU: this process's (the runner; the 20 ms polling below is noise), the child's (counted
    when it has exited), and PostgreSQL's, read while the runners' connections are still
    open (a backend's CPU is gone from the count once it exits).
    """
    settings = Settings.from_env()
    names = [p.name for p in all_projections()]
    own = psutil.Process()
    watch = await asyncpg.connect(url)
    try:
        head = await event_log.head_position(watch)
        pg_before = _cpu_seconds(postgres()) if postgres else math.nan
        own_before = _cpu_seconds([own])
        children_before = _children_cpu_seconds()
        start = time.perf_counter()
        running = await Projections.start(url, settings)
        try:
            deadline = start + timeout_s
            while True:
                done = await watch.fetchval(
                    "SELECT count(*) FROM projection_tracking "
                    "WHERE projection = ANY($1::text[]) AND position >= $2",
                    names,
                    head,
                )
                if done == len(names):
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"catch-up not done within {timeout_s:.0f} s")
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - start
            pg_used = _cpu_seconds(postgres()) - pg_before if postgres else math.nan
            own_used = _cpu_seconds([own]) - own_before
        finally:
            await running.stop()
        child_used = _children_cpu_seconds() - children_before
        parked = await watch.fetchval("SELECT count(*) FROM projection_parked")
        if parked:
            raise RuntimeError(f"catch-up parked {parked} events: the fixture is not valid")
        per_event = 1e6 / head
        return CatchUp(
            head / elapsed, head, own_used * per_event, child_used * per_event, pg_used * per_event
        )
    finally:
        await watch.close()


async def rebuild_seconds(url: str) -> float:
    """Seconds to rebuild every projection from zero and swap it in (those that can be:
    the NAV outbox records deliveries made and refuses, decision 66)."""
    rebuildable = [p for p in all_projections() if getattr(p, "rebuildable", True)]
    start = time.perf_counter()
    results = await rebuild(url, rebuildable)
    elapsed = time.perf_counter() - start
    failed = {k: v for k, v in results.items() if isinstance(v, BaseException)}
    if failed:
        raise RuntimeError(f"rebuild failed: {failed}")
    return elapsed


# --- query latency --------------------------------------------------------------------------


@dataclass
class Latency:
    samples_s: list[float]

    @property
    def p50_ms(self) -> float:
        return percentile(self.samples_s, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.samples_s, 99) * 1000


async def timed(call: Callable[[], Awaitable[object]], n: int) -> Latency:
    """``n`` sequential calls, each timed; a few untimed ones first."""
    for _ in range(max(3, n // 20)):
        await call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - t0)
    return Latency(samples)


@dataclass
class SignedIn:
    """Bearer headers: the followed tenant's contact worker, and a lead of that team."""

    worker: dict[str, str]
    lead: dict[str, str]


# The read side's lead (the worker is the heavy tenant's own contact worker).
BENCH_LEAD = UUID("00000000-0000-4000-8000-0000000000bf")


async def sign_in(url: str, team: Service, worker_id: UUID) -> SignedIn:
    """The worker whose caseload and tenant are read (need to know: a field worker sees
    their own), and a lead of the team, who sees the team's board."""
    conn = await asyncpg.connect(url)
    try:
        worker = await bearer_for(conn, "bench-worker", team, [Role.FIELD_WORKER], worker_id)
        lead = await bearer_for(conn, "bench-lead", team, [Role.TEAM_LEAD], BENCH_LEAD)
    finally:
        await conn.close()
    return SignedIn(worker=worker, lead=lead)


def http_get(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        response = await client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:200]}")
        return response

    return call


RAW_TIMELINE = """
    SELECT position, occurred_at, recorded_at, event_type, summary, level, score,
           reasons, model_version
    FROM risk_timeline WHERE tenant_id = $1 ORDER BY position
"""
RAW_CASELOAD = """
    SELECT c.*, r.level, r.score, r.reasons, r.model_version, r.stable_until
    FROM caseload c LEFT JOIN risk_state r ON r.tenant_id = c.tenant_id
    WHERE c.{who} = $1
"""


def query_calls(
    conn: asyncpg.Connection,
    client: httpx.AsyncClient,
    tenant_id: UUID,
    team: Service,
    worker_id: UUID,
    signed_in: SignedIn,
) -> dict[str, Callable[[], Awaitable[object]]]:
    def now() -> datetime:
        return datetime.now(UTC)

    async def timeline_functions() -> object:
        # What the endpoint does, without HTTP: one page, the risk now, the whole series.
        page = await risk_timeline(conn, tenant_id, None, 50)
        await current_risk(conn, tenant_id, now())
        return page, await risk_series(conn, tenant_id)

    async def team_function() -> object:
        return await caseload_for_team(conn, team, now())

    async def worker_function() -> object:
        return await caseload_for_worker(conn, worker_id, now())

    raw_team = RAW_CASELOAD.format(who="responsible_service")
    raw_worker = RAW_CASELOAD.format(who="contact_worker_id")
    return {
        "timeline raw": lambda: conn.fetch(RAW_TIMELINE, tenant_id),
        "timeline functions": timeline_functions,
        "timeline http": http_get(client, f"/tenants/{tenant_id}/risk-timeline", signed_in.worker),
        "team raw": lambda: conn.fetch(raw_team, team.value),
        "team functions": team_function,
        "team http": http_get(client, f"/caseload/teams/{team.value}", signed_in.lead),
        # The web pages (docs/web.md) for the same data: the lead's tenant page (chart,
        # table, timeline) and the team's caseload page, rendered as HTML. They take the
        # bearer header as the API does (the cookie carries the same token in a browser).
        "timeline web": http_get(client, f"/web/tenants/{tenant_id}", signed_in.lead),
        "team web": http_get(client, "/web/caseload", signed_in.lead),
        "worker raw": lambda: conn.fetch(raw_worker, worker_id),
        "worker functions": worker_function,
        "worker http": http_get(client, f"/caseload/workers/{worker_id}", signed_in.worker),
    }


async def check_fixture(url: str, tenant_id: UUID, team: Service, worker_id: UUID) -> str:
    """What the query figures read: rows per tenant timeline, team and worker caseload."""
    conn = await asyncpg.connect(url)
    try:
        timeline = await conn.fetchval(
            "SELECT count(*) FROM risk_timeline WHERE tenant_id = $1", tenant_id
        )
        team_rows = await conn.fetchval(
            "SELECT count(*) FROM caseload WHERE responsible_service = $1", team.value
        )
        workers = await conn.fetchval(
            "SELECT count(DISTINCT contact_worker_id) FROM caseload WHERE responsible_service = $1",
            team.value,
        )
        worker_rows = await conn.fetchval(
            "SELECT count(*) FROM caseload WHERE contact_worker_id = $1", worker_id
        )
        stale = await conn.fetchval(
            "SELECT count(*) FROM risk_state WHERE model_version <> $1 OR "
            "(stable_until IS NOT NULL AND stable_until <= now())",
            risk.RISK_MODEL_VERSION,
        )
        return (
            f"risk timeline tenant: {timeline} rows; team {team.value}: {team_rows} tenants, "
            f"{workers} workers; worker: {worker_rows} tenants; "
            f"risk states to assess again now: {stale}"
        )
    finally:
        await conn.close()


# --- the ceiling the design puts on catch-up --------------------------------------------------

# The projection tables with one row per event about a tenant (the others update a row
# per tenant, concern, handover, ...).
ROW_PER_EVENT_TABLES = ("risk_timeline",)
FLOOR_BATCH_EVENTS = 8000


async def write_floor_rate(url: str) -> tuple[float, int]:
    """Events per second if the projections' Python cost were zero.

    The exact rows the row-per-event table got for this log (read back after a catch-up)
    are written again by PostgreSQL alone: COPY into an empty copy of the table (same
    columns and indexes, logged), one transaction per 8,000 events (the runner's largest
    batch), ``synchronous_commit`` off as the runner has it. The upserts of the other
    projections are left out, so the true ceiling is lower still.
    """
    conn = await asyncpg.connect(url)
    try:
        head = await event_log.head_position(conn)
        # Per table: its columns, its rows in log order, and each row's position.
        copies: dict[str, tuple[list[str], list[tuple[object, ...]], list[int]]] = {}
        for table in ROW_PER_EVENT_TABLES:
            columns = [
                r["attname"]
                for r in await conn.fetch(
                    "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass "
                    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                    table,
                )
            ]
            rows = await conn.fetch(f"SELECT {', '.join(columns)} FROM {table} ORDER BY position")
            copies[table] = (columns, [tuple(r) for r in rows], [r["position"] for r in rows])
            await conn.execute(f"DROP TABLE IF EXISTS floor_{table}")
            await conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
        await conn.execute("CHECKPOINT")
        cursors = dict.fromkeys(copies, 0)
        start = time.perf_counter()
        for end in range(FLOOR_BATCH_EVENTS, head + FLOOR_BATCH_EVENTS, FLOOR_BATCH_EVENTS):
            async with conn.transaction():
                await conn.execute("SET LOCAL synchronous_commit = off")
                for table, (columns, rows, positions) in copies.items():
                    first = cursors[table]
                    last = bisect_right(positions, end)
                    if last > first:
                        await conn.copy_records_to_table(
                            f"floor_{table}", records=rows[first:last], columns=columns
                        )
                    cursors[table] = last
        elapsed = time.perf_counter() - start
        for table in copies:
            await conn.execute(f"DROP TABLE floor_{table}")
        return head / elapsed, head
    finally:
        await conn.close()
