"""The measurements. Each returns the figures of one run; the caller repeats and takes medians."""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import httpx
import psutil

from bench.fixtures import COMPLETION, HEADERS, PlannedVisit
from bench.stats import percentile

# --- 1. baseline: raw single-row transactions ------------------------------------------

SCRATCH = "bench_scratch_events"
SCRATCH_DDL = f"""
    CREATE TABLE IF NOT EXISTS {SCRATCH} (
        originator_id uuid NOT NULL,
        originator_version bigint NOT NULL,
        topic text,
        state bytea,
        notification_id bigserial,
        PRIMARY KEY (originator_id, originator_version)
    );
    CREATE UNIQUE INDEX IF NOT EXISTS {SCRATCH}_notification_id_idx
        ON {SCRATCH} (notification_id ASC);
"""
INSERT = (
    f"INSERT INTO {SCRATCH} (originator_id, originator_version, topic, state) "
    "VALUES ($1, 1, $2, $3)"
)
TOPIC = "domain.visit:VisitCompleted"
# About the size of a stored VisitCompleted event.
STATE = os.urandom(420)


async def create_scratch(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCRATCH_DDL)
    finally:
        await conn.close()


async def drop_scratch(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    finally:
        await conn.close()


async def insert_rate(
    url: str, *, connections: int, seconds: float, serialised: bool = False
) -> float:
    """Rows per second: each connection commits one INSERT per transaction, for ``seconds``.

    ``serialised`` also does what the event store does in each writing transaction: take
    the table's EXCLUSIVE lock and NOTIFY, so commits queue one behind another.
    """
    conns = [await asyncpg.connect(url) for _ in range(connections)]
    try:
        start = time.perf_counter()
        deadline = start + seconds

        async def one(conn: asyncpg.Connection) -> int:
            n = 0
            while time.perf_counter() < deadline:
                if serialised:
                    async with conn.transaction():
                        await conn.execute(f"LOCK TABLE {SCRATCH} IN EXCLUSIVE MODE")
                        await conn.execute(f"NOTIFY {SCRATCH}")
                        await conn.execute(INSERT, uuid.uuid4(), TOPIC, STATE)
                else:
                    await conn.execute(INSERT, uuid.uuid4(), TOPIC, STATE)
                n += 1
            return n

        counts = await asyncio.gather(*(one(c) for c in conns))
        return sum(counts) / (time.perf_counter() - start)
    finally:
        for conn in conns:
            await conn.close()


# --- CPU accounting ----------------------------------------------------------------------


@dataclass
class CpuMeter:
    """CPU seconds used by groups of processes over a span, as cores busy on average."""

    groups: dict[str, Callable[[], list[psutil.Process]]]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _t0: float = 0.0

    @staticmethod
    def _times(procs: list[psutil.Process]) -> dict[int, float]:
        out = {}
        for proc in procs:
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def start(self) -> None:
        self._t0 = time.perf_counter()
        self._start = {name: self._times(get()) for name, get in self.groups.items()}

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self._t0
        cores = {}
        for name, get in self.groups.items():
            now = self._times(get())
            before = self._start.get(name, {})
            used = sum(t - before.get(pid, 0.0) for pid, t in now.items())
            if not now and not before:
                cores[name] = math.nan  # nothing to meter (a PostgreSQL elsewhere)
                continue
            cores[name] = used / elapsed if elapsed > 0 else 0.0
        return cores


def own_process() -> list[psutil.Process]:
    return [psutil.Process()]


# --- 2. command throughput, and GET throughput -------------------------------------------


@dataclass
class Throughput:
    requests: int
    seconds: float
    latencies_s: list[float]
    errors: int
    capped: bool
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cpu_ms_per_request(self, group: str) -> float:
        """CPU milliseconds ``group`` spent per successful request (NaN if not metered)."""
        if group not in self.cpu or not self.requests:
            return math.nan
        return self.cpu[group] * self.seconds / self.requests * 1000

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_s, 50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_s, 99) * 1000


def http_client(base_url: str) -> httpx.AsyncClient:
    """One client per simulated user, with one keep-alive connection.

    Sixteen users sharing one client with sixteen connections cost the bench process more
    than twice the CPU per request (httpcore's pool bookkeeping), which on two cores is
    taken straight from the server being measured.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=30.0,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def closed_loop(
    base_url: str,
    send: Send,
    *,
    requests: int,
    concurrency: int,
    expect: int,
    max_seconds: float,
    meter: CpuMeter | None = None,
) -> Throughput:
    """``concurrency`` users, each sending its next request as soon as its last returns."""
    counter = iter(range(requests))
    latencies: list[float] = []
    errors = 0
    capped = False
    clients = [http_client(base_url) for _ in range(concurrency)]

    async def one_user(client: httpx.AsyncClient) -> None:
        nonlocal errors, capped
        for i in counter:
            if time.perf_counter() > deadline:
                capped = True
                return
            t0 = time.perf_counter()
            try:
                response = await send(client, i)
                ok = response.status_code == expect
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - t0)
            if not ok:
                errors += 1

    try:
        if meter:
            meter.start()
        start = time.perf_counter()
        deadline = start + max_seconds
        await asyncio.gather(*(one_user(client) for client in clients))
        seconds = time.perf_counter() - start
        cpu = meter.stop() if meter else {}
    finally:
        for client in clients:
            await client.aclose()
    return Throughput(len(latencies) - errors, seconds, latencies, errors, capped, cpu)


async def completion_throughput(
    base_url: str,
    planned: Sequence[PlannedVisit],
    *,
    concurrency: int,
    max_seconds: float,
    meter: CpuMeter | None = None,
) -> Throughput:
    def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        path = f"/visits/{planned[i].visit_id}/completion"
        return client.post(path, json=COMPLETION, headers=HEADERS)

    return await closed_loop(
        base_url,
        send,
        requests=len(planned),
        concurrency=concurrency,
        expect=201,
        max_seconds=max_seconds,
        meter=meter,
    )


async def floor_throughput(
    base_url: str,
    requests: int,
    *,
    concurrency: int,
    max_seconds: float,
    meter: CpuMeter | None = None,
) -> Throughput:
    """The floor's POST (bench/floor.py): the same body as a completion, a new id each."""
    ids = [uuid.uuid4() for _ in range(requests)]

    def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return client.post(f"/visits/{ids[i]}/completion", json=COMPLETION, headers=HEADERS)

    return await closed_loop(
        base_url,
        send,
        requests=requests,
        concurrency=concurrency,
        expect=201,
        max_seconds=max_seconds,
        meter=meter,
    )


async def get_throughput(
    base_url: str,
    paths: Sequence[str],
    *,
    requests: int,
    concurrency: int,
    max_seconds: float,
    meter: CpuMeter | None = None,
) -> Throughput:
    def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return client.get(paths[i % len(paths)], headers=HEADERS)

    return await closed_loop(
        base_url,
        send,
        requests=requests,
        concurrency=concurrency,
        expect=200,
        max_seconds=max_seconds,
        meter=meter,
    )


# --- 3. command-to-visible latency -------------------------------------------------------


@dataclass
class Visibility:
    post_to_visible_s: list[float]
    response_to_visible_s: list[float]
    post_s: list[float]
    failures: int


async def command_to_visible(
    base_url: str, planned: Sequence[PlannedVisit], *, max_seconds: float
) -> Visibility:
    """One client, one sample at a time: complete a visit, then read the tenant's timeline
    with ``min_position`` set to the position the command returned, until it shows the event.
    """
    result = Visibility([], [], [], 0)
    deadline = time.perf_counter() + max_seconds
    async with http_client(base_url) as client:
        for visit in planned:
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            posted = await client.post(
                f"/visits/{visit.visit_id}/completion", json=COMPLETION, headers=HEADERS
            )
            t1 = time.perf_counter()
            if posted.status_code != 201:
                result.failures += 1
                continue
            position = posted.json()["position"]
            read = await client.get(
                f"/tenants/{visit.tenant_id}/timeline",
                params={"min_position": position},
                headers=HEADERS,
            )
            t2 = time.perf_counter()
            if read.status_code != 200 or not any(
                entry["position"] == position for entry in read.json()
            ):
                result.failures += 1
                continue
            result.post_to_visible_s.append(t2 - t0)
            result.response_to_visible_s.append(t2 - t1)
            result.post_s.append(t1 - t0)
    return result


# --- where the event store's writers wait (diagnostic, --waits) --------------------------

ACTIVITY = """
    SELECT a.state, a.wait_event_type, a.wait_event,
           EXISTS (
               SELECT 1 FROM pg_locks l
               WHERE l.pid = a.pid AND l.granted AND l.mode = 'ExclusiveLock'
                 AND l.relation = 'folgja_events'::regclass
           ) AS holds_lock
    FROM pg_stat_activity a
    WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
      AND a.backend_type = 'client backend'
"""


def wait_category(state: str | None, kind: str | None, event: str | None) -> str:
    if state == "idle":
        return "idle connection (pool, listener)"
    if state and state.startswith("idle in transaction"):
        return "in a transaction, waiting for the app"
    if kind == "Lock" and event == "relation":
        return "waiting for the event store's table lock"
    if kind == "Lock" and event == "object":
        return "committing: waiting for the NOTIFY queue lock"
    if event in ("WalSync", "WalWrite", "WALSync", "WALWrite"):
        return "committing: flushing WAL"
    if kind == "LWLock":
        return f"waiting for LWLock {event}"
    return "running SQL"


@dataclass
class Waits:
    samples: int
    backends: dict[str, float]  # category -> mean number of backends in it
    lock_held: float  # share of samples in which some transaction held the table lock
    holder: dict[str, float]  # holder's category -> share of samples


async def sample_waits(url: str, stop: asyncio.Event, interval_s: float = 0.005) -> Waits:
    """Sample pg_stat_activity until ``stop``: how many backends are in which state, and
    what the transaction holding the event store's table lock is doing."""
    conn = await asyncpg.connect(url)
    backends: dict[str, int] = {}
    holder: dict[str, int] = {}
    samples = held = 0
    try:
        while not stop.is_set():
            rows = await conn.fetch(ACTIVITY)
            samples += 1
            for row in rows:
                category = wait_category(row["state"], row["wait_event_type"], row["wait_event"])
                backends[category] = backends.get(category, 0) + 1
                if row["holds_lock"]:
                    held += 1
                    holder[category] = holder.get(category, 0) + 1
            await asyncio.sleep(interval_s)
    finally:
        await conn.close()
    n = max(samples, 1)
    return Waits(
        samples,
        {k: v / n for k, v in sorted(backends.items(), key=lambda kv: -kv[1])},
        held / n,
        {k: v / n for k, v in sorted(holder.items(), key=lambda kv: -kv[1])},
    )
