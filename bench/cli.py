"""`python -m bench`: set up, measure, print the table. See docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import asyncpg

from backend.serve import default_workers
from backend.settings import Settings
from bench import alerts as alerts_bench
from bench import floor as floor_app
from bench import measure, mixed, readside
from bench import sync as sync_bench
from bench import sync_load as sync_load_bench
from bench.fixtures import VisitPool, create_visits
from bench.identity import sign_in_bench_lead
from bench.stack import (
    FLOOR_APP,
    SERVERS,
    Database,
    ServerProcess,
    Watchdog,
    benchmark_database,
    remove_on_abort,
    running_server,
)
from bench.stats import Row, median, percentile, render
from projections.registry import all_projections

THROUGHPUT_TENANTS = 100
# The cheap authenticated GET: the token lookup alone (GET /auth/me answers the principal).
ME = "/auth/me"
VISITS_PER_TIMELINE_TENANT = 8
MS = 1000.0


@dataclass(frozen=True)
class Profile:
    repeats: int
    baseline_connections: int
    baseline_seconds: float
    clients: int
    requests: int
    samples: int
    warmup_requests: int
    warmup_samples: int
    get_requests: int
    server_requests: int
    max_phase_seconds: float


FULL = Profile(
    repeats=3,
    baseline_connections=8,
    baseline_seconds=3.0,
    clients=16,
    requests=3000,
    samples=300,
    warmup_requests=200,
    warmup_samples=20,
    get_requests=3000,
    server_requests=2000,
    max_phase_seconds=45.0,
)
QUICK = Profile(
    repeats=3,
    baseline_connections=8,
    baseline_seconds=1.5,
    clients=16,
    requests=800,
    samples=80,
    warmup_requests=50,
    warmup_samples=10,
    get_requests=1000,
    server_requests=500,
    max_phase_seconds=10.0,
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Folgja benchmarks against a fresh database (embedded PostgreSQL "
        "unless DATABASE_URL names a server; a new database is created on it and dropped).",
    )
    parser.add_argument("--quick", action="store_true", help="smaller counts: about 30 s")
    parser.add_argument(
        "--servers",
        action="store_true",
        help="instead of the main table: granian vs uvicorn on the same app and workload",
    )
    parser.add_argument(
        "--projections",
        action="store_true",
        help="only the read-side table (issue 4): projection catch-up and rebuild over a "
        "200,000-event log, risk timeline and caseload query latency",
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="only the offline sync table (issue 12): initial and empty pull, a push of 100, "
        "each against a same-run baseline",
    )
    parser.add_argument(
        "--alerts",
        action="store_true",
        help="only the alert time rules table (issue 14): first, steady-state and clearing "
        "runs over 10,000 tenants against the raw candidate SELECTs",
    )
    parser.add_argument(
        "--sync-load",
        action="store_true",
        help="only sync under load (issue 13): 25 to 300 tablets at once, each an initial "
        "pull, a push of 20 and three incremental pulls; p50/p99, CPU per sync, the knee",
    )
    parser.add_argument(
        "--events", type=int, help="events in the read-side log (default 200,000; 50,000 quick)"
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default="folgja",
        help="server for the main table (folgja: `folgja run`, as a municipality runs it)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="server worker processes (default: as `folgja run`, one per core)",
    )
    parser.add_argument(
        "--app",
        help="ASGI factory to serve instead of backend.app:app_from_env (what-if variants; "
        "PYTHONPATH is passed on)",
    )
    parser.add_argument(
        "--waits",
        action="store_true",
        help="one more (untimed) completion run, sampling where PostgreSQL backends wait",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        help="seconds after which a hung run is killed (default 600, 180 with --quick)",
    )
    parser.add_argument("--repeats", type=int, help="runs per figure (median is quoted)")
    parser.add_argument("--clients", type=int, help="concurrent HTTP clients for throughput")
    parser.add_argument("--requests", type=int, help="completions per throughput run")
    parser.add_argument("--samples", type=int, help="samples per command-to-visible run")
    tuning = parser.add_argument_group(
        "what-if (serves bench.tuned instead of the product's factory)"
    )
    tuning.add_argument("--es-pool", type=int, help="write model pool size (product: 8)")
    tuning.add_argument("--es-overflow", type=int, help="write model max overflow (product: 8)")
    tuning.add_argument("--read-pool", type=int, help="asyncpg pool max_size (product: 12)")
    tuning.add_argument("--threads", type=int, help="anyio worker threads (anyio default: 40)")
    tuning.add_argument(
        "--switch-interval-ms", type=float, help="sys.setswitchinterval in ms (CPython: 5)"
    )
    return parser.parse_args(argv)


def profile_for(args: argparse.Namespace) -> Profile:
    profile = QUICK if args.quick else FULL
    if args.repeats is not None:
        profile = replace(profile, repeats=args.repeats)
    if args.clients is not None:
        profile = replace(profile, clients=args.clients)
    if args.requests is not None:
        profile = replace(profile, requests=args.requests, server_requests=args.requests)
    if args.samples is not None:
        profile = replace(profile, samples=args.samples)
    return profile


def tuning_env(args: argparse.Namespace) -> dict[str, str]:
    pairs = {
        "BENCH_ES_POOL_SIZE": args.es_pool,
        "BENCH_ES_MAX_OVERFLOW": args.es_overflow,
        "BENCH_READ_POOL_MAX": args.read_pool,
        "BENCH_THREADS": args.threads,
        "BENCH_SWITCH_INTERVAL_MS": args.switch_interval_ms,
    }
    return {k: str(v) for k, v in pairs.items() if v is not None}


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def header(
    db: Database, args: argparse.Namespace, profile: Profile, pg: str, load_before: str
) -> str:
    tuning = tuning_env(args)
    what_if = ", ".join(f"{k}={v}" for k, v in tuning.items()) or "none"
    return "\n".join(
        [
            f"Folgja benchmark{' (quick)' if args.quick else ''}: "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, PostgreSQL {pg} "
            f"({'embedded' if db.embedded else 'DATABASE_URL'}), database {db.url.dbname}",
            f"load average before {load_before}, after {load_average()} (1/5/15 min)",
            (
                ""
                if args.sync or args.alerts or args.sync_load
                else f"medians of {profile.repeats} runs; baseline "
                f"{profile.baseline_connections} connections x {profile.baseline_seconds:g} s; "
            )
            + (
                "read side: catch-up, rebuild, query latency"
                if args.projections
                else "offline sync: pulls and pushes against same-run baselines"
                if args.sync
                else "sync under load: tablets at once against raw asyncpg connections at once"
                if args.sync_load
                else "alert time rules: first, steady-state and clearing runs against the "
                "raw candidate SELECTs"
                if args.alerts
                else f"{profile.clients} clients x {profile.get_requests} GETs of each kind and "
                f"{profile.server_requests} completions per server and run"
                if args.servers
                else f"throughput {profile.clients} clients x {profile.requests} completions; "
                f"visibility {profile.samples} sequential samples"
            )
            + (
                " (in this process: no server, no HTTP)"
                if args.alerts
                else f"; {args.workers} server worker(s); what-if: {what_if}"
                + (f"; app {args.app}" if args.app else "")
            ),
        ]
    )


# --- the main table --------------------------------------------------------------------


@dataclass
class MainRuns:
    baseline: list[float]
    serialised: list[float]
    single: list[float]
    throughput: list[measure.Throughput]
    visible: list[measure.Visibility]
    floor_post: list[measure.Throughput] = field(default_factory=list)
    me_get: list[measure.Throughput] = field(default_factory=list)
    floor_get: list[measure.Throughput] = field(default_factory=list)
    waits: measure.Waits | None = None


async def main_runs(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> MainRuns:
    url = db.url.url
    started = time.perf_counter()
    say("creating tenants and planned visits (not timed)")
    extra = profile.requests if args.waits else 0
    throughput_visits = profile.warmup_requests + profile.repeats * profile.requests + extra
    visible_visits = profile.warmup_samples + profile.repeats * profile.samples
    for_throughput: VisitPool = await asyncio.to_thread(
        create_visits, db.url, tenants_n=THROUGHPUT_TENANTS, visits_n=throughput_visits
    )
    for_visibility: VisitPool = await asyncio.to_thread(
        create_visits,
        db.url,
        tenants_n=math.ceil(visible_visits / VISITS_PER_TIMELINE_TENANT),
        visits_n=visible_visits,
    )
    await sign_in_bench_lead(url)
    say(f"  {throughput_visits + visible_visits} visits in {time.perf_counter() - started:.1f} s")
    await measure.create_scratch(url)
    runs = MainRuns([], [], [], [], [])
    say(f"starting {args.server}")
    async with (
        running_server(
            args.server,
            db.url,
            log_dir,
            tuning=tuning_env(args),
            workers=args.workers,
            app=args.app,
        ) as server,
        running_server(
            args.server, db.url, log_dir, workers=args.workers, app=FLOOR_APP, projections=False
        ) as floor,
    ):

        async def completions(n: int, meter: measure.CpuMeter | None = None) -> measure.Throughput:
            return await measure.completion_throughput(
                server.base_url,
                for_throughput.take(n),
                concurrency=profile.clients,
                max_seconds=profile.max_phase_seconds,
                meter=meter,
            )

        async def floor_posts(n: int, meter: measure.CpuMeter | None = None) -> measure.Throughput:
            return await measure.floor_throughput(
                floor.base_url,
                n,
                concurrency=profile.clients,
                max_seconds=profile.max_phase_seconds,
                meter=meter,
            )

        async def gets(
            base_url: str, path: str, meter: measure.CpuMeter | None = None, n: int = 0
        ) -> measure.Throughput:
            return await measure.get_throughput(
                base_url,
                [path],
                requests=n or profile.get_requests,
                concurrency=profile.clients,
                max_seconds=profile.max_phase_seconds,
                meter=meter,
            )

        bare_get = f"/floor/{floor_app.KNOWN}"
        say("warming up")
        await completions(profile.warmup_requests)
        await floor_posts(profile.warmup_requests)
        await gets(server.base_url, ME, n=profile.warmup_requests)
        await gets(floor.base_url, bare_get, n=profile.warmup_requests)
        await server.wait_caught_up()
        await measure.command_to_visible(
            server.base_url,
            for_visibility.take(profile.warmup_samples),
            max_seconds=profile.max_phase_seconds,
        )
        meter = measure.CpuMeter(
            {
                "server": server.processes,
                "postgres": db.postgres_processes,
                "client": measure.own_process,
            }
        )
        floor_meter = measure.CpuMeter(
            {
                "server": floor.processes,
                "postgres": db.postgres_processes,
                "client": measure.own_process,
            }
        )
        for r in range(1, profile.repeats + 1):
            await server.wait_caught_up()
            say(f"run {r}/{profile.repeats}: baseline inserts")
            for serialised, into in ((False, runs.baseline), (True, runs.serialised)):
                into.append(
                    await measure.insert_rate(
                        url,
                        connections=profile.baseline_connections,
                        seconds=profile.baseline_seconds,
                        serialised=serialised,
                    )
                )
            runs.single.append(
                await measure.insert_rate(url, connections=1, seconds=profile.baseline_seconds)
            )
            say(f"run {r}/{profile.repeats}: completion throughput")
            run = await completions(profile.requests, meter)
            runs.throughput.append(run)
            say(
                f"  {run.rate:.0f} req/s, p50 {run.p50_ms:.1f} ms, p99 {run.p99_ms:.1f} ms"
                + (f", {run.errors} errors" if run.errors else "")
                + (" (time cap hit)" if run.capped else "")
            )
            await server.wait_caught_up()
            say(f"run {r}/{profile.repeats}: command-to-visible latency")
            runs.visible.append(
                await measure.command_to_visible(
                    server.base_url,
                    for_visibility.take(profile.samples),
                    max_seconds=profile.max_phase_seconds,
                )
            )
            await server.wait_caught_up()
            say(f"run {r}/{profile.repeats}: the floor (bare Litestar) and cheap GETs")
            runs.floor_post.append(await floor_posts(profile.requests, floor_meter))
            runs.me_get.append(await gets(server.base_url, ME, meter))
            runs.floor_get.append(await gets(floor.base_url, bare_get, floor_meter))
            say(
                f"  floor POST {runs.floor_post[-1].rate:.0f} req/s, GET {ME} "
                f"{runs.me_get[-1].rate:.0f} req/s, bare GET {runs.floor_get[-1].rate:.0f} req/s"
            )
        if args.waits:
            await server.wait_caught_up()
            say("extra completion run, sampling pg_stat_activity")
            stop = asyncio.Event()
            sampler = asyncio.create_task(measure.sample_waits(url, stop))
            await completions(profile.requests)
            stop.set()
            runs.waits = await sampler
    await measure.drop_scratch(url)
    return runs


def main_rows(runs: MainRuns, profile: Profile) -> list[Row]:
    tp = runs.throughput
    ratios = [100 * run.rate / base for run, base in zip(tp, runs.baseline, strict=True)]
    single = [100 * r.rate / s for r, s in zip(tp, runs.single, strict=True)]
    rows = [
        Row(
            f"1. baseline: INSERT/txn, {profile.baseline_connections} conns",
            runs.baseline,
            "rows/s",
        ),
        Row("   same, serialised like the event store*", runs.serialised, "rows/s"),
        Row("   same, one connection (sequential commits)", runs.single, "rows/s"),
        Row(f"2. POST completion, {profile.clients} clients", [r.rate for r in tp], "req/s"),
        Row("   ratio to baseline", ratios, "%", ">= 10 %", median(ratios) >= 10),
        Row(
            "   ratio to serialised baseline",
            [100 * r.rate / s for r, s in zip(tp, runs.serialised, strict=True)],
            "%",
        ),
        Row(
            "   ratio to one-connection baseline",
            single,
            "%",
            ">= 15 %",
            median(single) >= 15,
        ),
        Row("   latency p50", [r.p50_ms for r in tp], "ms"),
        Row("   latency p99", [r.p99_ms for r in tp], "ms"),
        Row("   CPU cores busy: server", [r.cpu.get("server", math.nan) for r in tp], "cores"),
    ]
    for group in ("server", "postgres", "client"):
        rows.append(
            Row(
                f"   CPU ms per completion: {group}",
                [r.cpu.get(group, math.nan) * r.seconds / r.requests * MS for r in tp],
                "ms",
            )
        )
    rows += floor_rows(runs, profile)
    p50 = [percentile(s.post_to_visible_s, 50) * MS for s in runs.visible]
    rows += [
        Row("3. POST sent -> GET shows it, p50", p50, "ms", "< 50 ms", median(p50) < 50),
        Row("   (issue 4 target)", p50, "ms", "< 20 ms", median(p50) < 20),
        Row(
            "   POST sent -> GET shows it, p99",
            [percentile(s.post_to_visible_s, 99) * MS for s in runs.visible],
            "ms",
        ),
        Row(
            "   POST response -> visible (GET), p50",
            [percentile(s.response_to_visible_s, 50) * MS for s in runs.visible],
            "ms",
        ),
        Row(
            "   POST response -> visible (GET), p99",
            [percentile(s.response_to_visible_s, 99) * MS for s in runs.visible],
            "ms",
        ),
        Row("   POST alone, p50", [percentile(s.post_s, 50) * MS for s in runs.visible], "ms"),
    ]
    rows += cheap_get_rows(runs, profile)
    return rows


def _per_request(runs: list[measure.Throughput], group: str) -> list[float]:
    return [r.cpu_ms_per_request(group) for r in runs]


def _ratio(top: list[float], bottom: list[float]) -> list[float]:
    """Per round (the same round's figures), then the caller's median."""
    return [t / b if b else math.nan for t, b in zip(top, bottom, strict=True)]


def floor_rows(runs: MainRuns, profile: Profile) -> list[Row]:
    """The floor: a bare Litestar POST decoding the same body and INSERTing one row."""
    fp = runs.floor_post
    completion_cpu = _per_request(runs.throughput, "server")
    floor_cpu = _per_request(fp, "server")
    cpu_ratio = _ratio(completion_cpu, floor_cpu)
    return [
        Row(
            f"   floor: bare Litestar POST, one INSERT, {profile.clients} clients**",
            [r.rate for r in fp],
            "req/s",
        ),
        Row("     floor's latency p50", [r.p50_ms for r in fp], "ms"),
        Row("     floor's CPU ms per request: server", floor_cpu, "ms"),
        Row("     floor's CPU ms per request: postgres", _per_request(fp, "postgres"), "ms"),
        Row("     floor's CPU ms per request: client", _per_request(fp, "client"), "ms"),
        Row(
            "   server CPU per completion / floor's",
            cpu_ratio,
            "x",
            "<= 3 x",
            median(cpu_ratio) <= 3,
        ),
        Row(
            "   completions / floor's rate",
            [100 * r.rate / f.rate for r, f in zip(runs.throughput, fp, strict=True)],
            "%",
        ),
    ]


def cheap_get_rows(runs: MainRuns, profile: Profile) -> list[Row]:
    """A cheap authenticated GET against a bare Litestar GET (one SELECT), same run."""
    me_cpu = _per_request(runs.me_get, "server")
    bare_cpu = _per_request(runs.floor_get, "server")
    return [
        Row(
            f"4. GET {ME} (token lookup), {profile.clients} clients",
            [r.rate for r in runs.me_get],
            "req/s",
        ),
        Row("     latency p50", [r.p50_ms for r in runs.me_get], "ms"),
        Row("     server CPU per request", me_cpu, "ms"),
        Row("     postgres CPU per request", _per_request(runs.me_get, "postgres"), "ms"),
        Row(
            f"   bare Litestar GET (one SELECT), {profile.clients} clients**",
            [r.rate for r in runs.floor_get],
            "req/s",
        ),
        Row("     latency p50", [r.p50_ms for r in runs.floor_get], "ms"),
        Row("     server CPU per request", bare_cpu, "ms"),
        Row("     postgres CPU per request", _per_request(runs.floor_get, "postgres"), "ms"),
        Row(f"   server CPU per GET {ME} / bare GET's", _ratio(me_cpu, bare_cpu), "x"),
    ]


def waits_text(waits: measure.Waits) -> str:
    lines = [
        f"Where PostgreSQL backends were during one more completion run "
        f"({waits.samples} samples of pg_stat_activity; mean number of backends):"
    ]
    lines += [f"  {v:5.2f}  {k}" for k, v in waits.backends.items()]
    lines.append(
        f"The event store's table lock was held in {100 * waits.lock_held:.0f} % of samples; "
        "its holder was:"
    )
    lines += [f"  {100 * v:4.0f} %  {k}" for k, v in waits.holder.items()]
    return "\n".join(lines)


async def main_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    started = time.perf_counter()
    runs = await main_runs(db, args, profile, log_dir)
    failures = sum(s.failures for s in runs.visible) + sum(
        r.errors for r in (*runs.throughput, *runs.floor_post, *runs.me_get, *runs.floor_get)
    )
    notes = [
        "* each transaction also takes LOCK TABLE ... IN EXCLUSIVE MODE and NOTIFYs, as the",
        "  eventsourcing recorder does: the ceiling that one global, gap-free order imposes.",
        "** the floor (bench/floor.py): a bare Litestar app served like the product (same server,",
        "  workers, loop, request pool); POST decodes the same CompleteVisit body and INSERTs one",
        "  row; GET answers one SELECT by key. CPU ratios are taken per round, then the median.",
        f"server: {args.server}; failed requests/samples: {failures}; "
        f"total {time.perf_counter() - started:.0f} s",
    ]
    text = render("Folgja benchmark", main_rows(runs, profile)) + "\n" + "\n".join(notes)
    if runs.waits is not None:
        text += "\n\n" + waits_text(runs.waits)
    return text


# --- granian vs uvicorn ------------------------------------------------------------------


async def one_server_run(
    server: ServerProcess, pool: VisitPool, timelines: list[str], profile: Profile
) -> dict[str, float]:
    base, cap, c = server.base_url, profile.max_phase_seconds, profile.clients
    n = profile.get_requests
    meter = measure.CpuMeter({"server": server.processes, "client": measure.own_process})
    await measure.get_throughput(base, ["/ready"], requests=200, concurrency=c, max_seconds=cap)
    await measure.completion_throughput(
        base, pool.take(profile.warmup_requests), concurrency=c, max_seconds=cap
    )
    await server.wait_caught_up()
    ready = await measure.get_throughput(
        base, ["/ready"], requests=n, concurrency=c, max_seconds=cap, meter=meter
    )
    timeline = await measure.get_throughput(
        base, timelines, requests=n, concurrency=c, max_seconds=cap, meter=meter
    )
    run = await measure.completion_throughput(
        base, pool.take(profile.server_requests), concurrency=c, max_seconds=cap, meter=meter
    )
    await server.wait_caught_up()
    errors = ready.errors + timeline.errors + run.errors
    say(
        f"  ready {ready.rate:.0f}, timeline {timeline.rate:.0f}, completion {run.rate:.0f} "
        f"req/s" + (f", {errors} errors" if errors else "")
    )
    figures = {"errors": float(errors), "p50": run.p50_ms, "p99": run.p99_ms}
    for name, result in (("ready", ready), ("timeline", timeline), ("completion", run)):
        figures[name] = result.rate
        figures[f"{name} server cpu"] = result.cpu_ms_per_request("server")
        figures[f"{name} client cpu"] = result.cpu_ms_per_request("client")
    return figures


async def server_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    url = db.url.url
    started = time.perf_counter()
    say("creating tenants and planned visits (not timed)")
    needed = (profile.warmup_requests + profile.server_requests) * len(SERVERS) * profile.repeats
    pool: VisitPool = await asyncio.to_thread(
        create_visits, db.url, tenants_n=THROUGHPUT_TENANTS, visits_n=needed
    )
    # Tenants with a short timeline: registered, follow-up started, four planned visits.
    short: VisitPool = await asyncio.to_thread(create_visits, db.url, tenants_n=50, visits_n=200)
    await sign_in_bench_lead(url)
    timelines = sorted({f"/tenants/{v.tenant_id}/timeline" for v in short.take(200)})
    say(f"  {needed + 200} visits in {time.perf_counter() - started:.1f} s")
    await measure.create_scratch(url)

    baseline: list[float] = []
    figures: dict[str, dict[str, list[float]]] = {kind: {} for kind in SERVERS}
    for r in range(profile.repeats):
        baseline.append(
            await measure.insert_rate(
                url, connections=profile.baseline_connections, seconds=profile.baseline_seconds
            )
        )
        order = SERVERS if r % 2 == 0 else tuple(reversed(SERVERS))
        for kind in order:
            say(f"run {r + 1}/{profile.repeats}: {kind}")
            async with running_server(
                kind,
                db.url,
                log_dir,
                tuning=tuning_env(args),
                workers=args.workers,
                app=args.app,
            ) as server:
                result = await one_server_run(server, pool, timelines, profile)
            for name, value in result.items():
                figures[kind].setdefault(name, []).append(value)
    await measure.drop_scratch(url)

    rows = [Row(f"baseline: INSERT/txn, {profile.baseline_connections} conns", baseline, "rows/s")]
    labels = {
        "ready": ("GET /ready", "req/s"),
        "ready server cpu": ("  server CPU per GET /ready", "ms"),
        "timeline": ("GET /tenants/{id}/timeline", "req/s"),
        "timeline server cpu": ("  server CPU per timeline GET", "ms"),
        "completion": ("POST completion", "req/s"),
        "completion server cpu": ("  server CPU per completion", "ms"),
        "p50": ("  completion latency p50", "ms"),
        "p99": ("  completion latency p99", "ms"),
        "ready client cpu": ("client (httpx) CPU per GET /ready", "ms"),
    }
    for name, (label, unit) in labels.items():
        for kind in SERVERS:
            rows.append(Row(f"{label}, {kind}", figures[kind][name], unit))
        if unit == "req/s":
            ratio = [
                100 * u / g
                for g, u in zip(figures["granian"][name], figures["uvicorn"][name], strict=True)
            ]
            rows.append(Row(f"{label}, uvicorn / granian", ratio, "%"))
    errors = sum(sum(f["errors"]) for f in figures.values())
    note = (
        "Each server is started afresh per run, the order alternating; CPU is per successful "
        f"request.\nfailed requests: {errors:.0f}; total {time.perf_counter() - started:.0f} s"
    )
    title = "granian vs uvicorn (both uvloop; uvicorn with httptools), same app and database"
    return render(title, rows) + "\n" + note


# --- the read side (issue 4) -------------------------------------------------------------

READ_SIDE_EVENTS = 200_000
READ_SIDE_EVENTS_QUICK = 50_000
QUERY_SAMPLES = 200


async def readside_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    url = db.url.url
    started = time.perf_counter()
    wanted = args.events or (READ_SIDE_EVENTS_QUICK if args.quick else READ_SIDE_EVENTS)
    say(f"read side: building a mixed log of {wanted:,} events (not timed)")
    rows, log = await asyncio.to_thread(mixed.build, wanted)
    await mixed.copy_into_log(url, rows)
    del rows
    say(
        f"  {log.events:,} events, {log.tenants:,} tenants in {time.perf_counter() - started:.1f} s"
    )
    raw: list[float] = []
    catch_ups: list[readside.CatchUp] = []
    floor: list[float] = []
    rebuilds: list[float] = []
    for r in range(1, profile.repeats + 1):
        say(f"run {r}/{profile.repeats}: raw read-and-decode, then catch-up from zero")
        rate, _ = await readside.read_and_decode_rate(url)
        raw.append(rate)
        await readside.reset_projections(url)
        run = await readside.catch_up_rate(url, postgres=db.postgres_processes)
        catch_ups.append(run)
        floor.append((await readside.write_floor_rate(url))[0])
        say(
            f"  raw {raw[-1]:,.0f} events/s, catch-up {run.rate:,.0f} events/s "
            f"(CPU per event: runner {run.runner_us:.1f} µs, child {run.child_us:.1f} µs, "
            f"PostgreSQL {run.postgres_us:.1f} µs), "
            f"timeline rows alone {floor[-1]:,.0f} events/s"
        )
    for r in range(1, profile.repeats + 1):
        say(f"run {r}/{profile.repeats}: full rebuild")
        rebuilds.append(await readside.rebuild_seconds(url))
        say(f"  {rebuilds[-1]:.1f} s")
    # The heavy tenant's own contact worker: need-to-know lets them read that tenant.
    worker = log.team_workers[0]
    fixture = await readside.check_fixture(url, log.heavy_tenant, log.team, worker)
    latencies: dict[str, list[readside.Latency]] = {}
    say(f"starting {args.server} for the query figures")
    async with running_server(
        args.server, db.url, log_dir, tuning=tuning_env(args), workers=args.workers, app=args.app
    ) as server:
        conn = await asyncpg.connect(url)
        try:
            async with measure.http_client(server.base_url) as client:
                signed_in = await readside.sign_in(url, log.team, worker)
                calls = readside.query_calls(
                    conn, client, log.heavy_tenant, log.team, worker, signed_in
                )
                for r in range(1, profile.repeats + 1):
                    say(f"run {r}/{profile.repeats}: query latency")
                    for name, call in calls.items():
                        samples = QUERY_SAMPLES // (4 if args.quick else 1)
                        latencies.setdefault(name, []).append(await readside.timed(call, samples))
        finally:
            await conn.close()
    catch_up = [c.rate for c in catch_ups]
    projections = len(all_projections())
    ratio = [100 * c / b for c, b in zip(catch_up, raw, strict=True)]
    cores = os.cpu_count() or 1
    # What 25 % allows: at a quarter of the read+decode rate, each event may take
    # 4 / rate seconds of wall time, that is cores x 4 / rate of CPU if every core is busy.
    budget = [cores * 4e6 / b for b in raw]
    rows = [
        Row(f"4. baseline: read+decode {log.events:,} events", raw, "events/s"),
        Row(f"   catch-up, all {projections} projections from zero", catch_up, "events/s"),
        Row("   ratio to read+decode", ratio, "%", ">= 25 %", median(ratio) >= 25),
        Row("   CPU per event: runner (server process)", [c.runner_us for c in catch_ups], "µs"),
        Row("   CPU per event: child process", [c.child_us for c in catch_ups], "µs"),
        Row("   CPU per event: PostgreSQL", [c.postgres_us for c in catch_ups], "µs"),
        Row("   CPU per event: all", [c.total_us for c in catch_ups], "µs"),
        Row(f"   CPU per event that 25 % allows on {cores} cores**", budget, "µs"),
        Row("   read+decode alone, CPU per event", [1e6 / b for b in raw], "µs"),
        Row("   ceiling: PostgreSQL writing the timeline's rows alone*", floor, "events/s"),
        Row(
            "   ceiling's ratio to read+decode",
            [100 * f / b for f, b in zip(floor, raw, strict=True)],
            "%",
        ),
        Row("   full rebuild, all projections", rebuilds, "s"),
    ]
    labels = {
        "timeline": f"5. risk timeline, tenant with {log.heavy_events:,} events",
        "team": f"6. caseload, team of {TEAM_WORKERS_LABEL} workers / {log.team_tenants} tenants",
        "worker": "   caseload, one worker of that team",
    }
    for kind, label in labels.items():
        rows.append(Row(label, [], ""))
        for how, what in (
            ("raw", "baseline: raw SELECT of the rows"),
            ("functions", "query functions"),
            ("http", "HTTP GET"),
            ("web", "web page (HTML), HTTP GET"),
        ):
            if f"{kind} {how}" not in latencies:
                continue  # no web page shows one worker's caseload
            runs = latencies[f"{kind} {how}"]
            p50 = [x.p50_ms for x in runs]
            target = how != "raw" and kind in ("timeline", "team")
            # Issue 4's target for the API; issue 15's for the pages (they render HTML).
            limit = 20 if how == "web" else 10
            rows.append(
                Row(
                    f"     {what}, p50",
                    p50,
                    "ms",
                    f"< {limit} ms" if target else "",
                    (median(p50) < limit) if target else None,
                )
            )
            rows.append(Row(f"     {what}, p99", [x.p99_ms for x in runs], "ms"))
    child = Settings.from_env().projection_child
    notes = [
        "catch-up: the server's set-up (backend/runtime.py Projections), "
        + (
            f"{', '.join(child)} in a child process, the others in this one"
            if child
            else "every projection in this process"
        )
        + " (FOLGJA_PROJECTION_CHILD)",
        "* the rows risk_timeline (the one row-per-event table) wrote, written again by COPY in "
        "8,000-event transactions with no Python work at all (bench/readside.py "
        "write_floor_rate): no projection code can catch up faster than this",
        "** every core busy for the whole catch-up: cores x 4 / read+decode rate; the runner and "
        "the child each read and decode the whole log (about the read+decode figure each)",
        f"log: {log.events:,} mixed events (bench/mixed.py); {fixture}",
        f"queries: {QUERY_SAMPLES // (4 if args.quick else 1)} sequential samples per figure and "
        f"run; HTTP pages are the default 50 entries (the timeline also returns its "
        f"{log.heavy_events:,}-point series); total {time.perf_counter() - started:.0f} s",
    ]
    return render("Folgja read side (issue 4)", rows) + "\n" + "\n".join(notes)


TEAM_WORKERS_LABEL = mixed.TEAM_WORKERS


# --- offline sync (issue 12) -------------------------------------------------------------


async def sync_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    return await sync_bench.sync_table(db, args, log_dir, say)


async def sync_load_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    return await sync_load_bench.load_table(db, args, log_dir, say)


# --- the alert time rules (issue 14) ----------------------------------------------------


async def alerts_table(
    db: Database, args: argparse.Namespace, profile: Profile, log_dir: Path
) -> str:
    return await alerts_bench.alerts_table(db, args, say)


# --- entry point -------------------------------------------------------------------------


def run_async(coro: Coroutine[Any, Any, str]) -> str:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    args = parse_args(argv)
    profile = profile_for(args)
    if args.servers:
        try:
            import httptools  # noqa: F401
        except ImportError:
            print("--servers needs httptools for uvicorn: pip install httptools", file=sys.stderr)
            return 2
    load_before = load_average()
    watchdog = Watchdog(args.time_limit or (180.0 if args.quick else 600.0))
    try:
        return run(args, profile, load_before)
    finally:
        watchdog.settle()


def run(args: argparse.Namespace, profile: Profile, load_before: str) -> int:
    say("starting PostgreSQL and migrating a fresh database")
    with (
        benchmark_database() as db,
        tempfile.TemporaryDirectory(prefix="folgja-bench-logs-") as logs,
    ):
        remove_on_abort(Path(logs))
        pg = run_async(server_version(db.url.url))
        table = (
            server_table
            if args.servers
            else readside_table
            if args.projections
            else sync_table
            if args.sync
            else sync_load_table
            if args.sync_load
            else alerts_table
            if args.alerts
            else main_table
        )

        async def measured() -> str:
            body = await table(db, args, profile, Path(logs))
            return header(db, args, profile, pg, load_before) + "\n\n" + body

        try:
            text = run_async(measured())
        except RuntimeError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 1
    print(text)
    return 0
