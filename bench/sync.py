"""Offline sync's figures (issue 12, item 8): pull and push against same-run baselines.

Three figures, each against a baseline measured in the same rounds on the same server and
database (rounds interleave them, so drift on a shared machine hits both alike):

1. the initial pull of a field worker's caseload (40 tenants, about 4,000 events behind
   them) on one page, gzipped, against raw asyncpg reading the rows the server reads;
2. an incremental pull with nothing new, against ``GET /auth/me`` with the same token;
3. a push of 100 visit completions, against the same 100 commands sent one by one.

Set-up (not timed) is the fixtures' approach: events made by the domain's rule functions,
stored with :meth:`FollowUpApplication.save`; the users, their tablets and device tokens
through the real HTTP routes (``/auth/login``, ``/devices``, ``/auth/device-token``).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import secrets
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec

from backend.auth import users
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from bench import measure
from bench.fixtures import SAVE_CHUNK, PlannedVisit, VisitPool
from bench.stack import Database, ServerProcess, running_server
from bench.stats import median
from domain import tenant as tenants
from domain import visit as visits
from domain.application import FollowUpApplication
from domain.events import Actor, DomainEvent, event_meta
from domain.municipal_services import Service
from projections.events import EVENTS_TABLE
from sync.client import TabletClient
from sync.protocol import HISTORY_DAYS, HISTORY_MAX_ENTRIES, MAX_ITEMS_PER_PUSH, PullResponse

CASELOAD_TENANTS = 40
# Per caseload tenant: registered, follow-up started, responsibility assigned, this many
# visits planned and completed (two events each), and visits planned ahead:
# 3 + 2 x 48 + 2 = 101 events a tenant, 4,040 behind the caseload.
HISTORY_VISITS = 48
PLANNED_AHEAD = 2
# History spread over this many days back (so part of it is older than the pull's window).
HISTORY_SPAN_DAYS = 120
PUSH_ITEMS = MAX_ITEMS_PER_PUSH  # 100
# The pushing worker's tenants (their planned visits are completed by the push figures).
PUSH_TENANTS = 40
PAGE = 50
SERVICE = Service.OUTREACH_TEAM
ACCEPT_GZIP = {"accept-encoding": "gzip"}
OBSERVATIONS = {
    "wellbeing": "fair",
    "note": "Beboer var hjemme og i godt humør. Kjøleskapet var nesten tomt; "
    "avtalt at NAV-kontakt følger opp søknad om økonomisk stønad. Ny avtale om to uker.",
}


# The reference client (sync/client.py) decodes a pull into the protocol's types.
_PULLED = msgspec.json.Decoder(PullResponse)


@dataclass(frozen=True)
class SyncProfile:
    rounds: int
    pulls: int  # initial pulls (and raw reads) per round
    empty_pulls: int  # empty pulls (and GETs) per round
    pushes: int  # pushes of 100 (and runs of 100 single commands) per round


FULL = SyncProfile(rounds=5, pulls=10, empty_pulls=40, pushes=2)
QUICK = SyncProfile(rounds=3, pulls=5, empty_pulls=15, pushes=1)


# --- set-up (not timed) ----------------------------------------------------------------


@dataclass
class Worker:
    user_id: UUID
    username: str
    password: str
    headers: dict[str, str] = field(default_factory=dict)  # the device token's bearer
    device_id: UUID | None = None


async def create_workers(url: str) -> tuple[Worker, Worker]:
    """Two field workers of the outreach team with passwords: one pulls, one pushes.

    The pushing worker has a caseload of its own, so the pushes never change the tenants
    whose pulls are timed (each pull figure reads the same rows in every round).
    """
    conn = await asyncpg.connect(url)
    try:
        made = []
        for name in ("bench-sync-reader", "bench-sync-pusher"):
            password = secrets.token_urlsafe(24)
            row = await users.create_user(
                conn,
                username=name,
                display_name=f"Benchmark {name}",
                service=SERVICE,
                roles=[Role.FIELD_WORKER],
                password=password,
                now=datetime.now(UTC),
            )
            made.append(Worker(row.id, name, password))
        return made[0], made[1]
    finally:
        await conn.close()


async def register_tablet(client: httpx.AsyncClient, worker: Worker) -> None:
    """As a tablet does: sign in with the password, register, trade the credential."""
    login = await client.post(
        "/auth/login", json={"username": worker.username, "password": worker.password}
    )
    _expect(login, 200, "POST /auth/login")
    on_web = {"authorization": f"Bearer {login.json()['access_token']}"}
    registered = await client.post(
        "/devices", json={"label": f"{worker.username}s nettbrett"}, headers=on_web
    )
    _expect(registered, 201, "POST /devices")
    grant = await client.post(
        "/auth/device-token",
        json={"device_credential": registered.json()["device_credential"]},
    )
    _expect(grant, 200, "POST /auth/device-token")
    worker.device_id = UUID(registered.json()["device_id"])
    worker.headers = {"authorization": f"Bearer {grant.json()['access_token']}"}


@dataclass
class SyncFixture:
    caseload: list[UUID]  # the reader's tenants
    events: int  # events behind them: their own and their visits'
    to_complete: VisitPool  # the pusher's planned visits


def create_caseloads(
    database: DatabaseUrl, reader: UUID, pusher: UUID, planned_for_push: int
) -> SyncFixture:
    """The reader's 40 tenants with ~99 events each; the pusher's tenants with planned visits."""
    app = FollowUpApplication(database.eventsourcing_env())
    try:
        now = datetime.now(UTC)
        start = now - timedelta(days=HISTORY_SPAN_DAYS + 5)
        events: list[DomainEvent] = []
        caseload: list[UUID] = []

        def follow_up(worker: UUID, name: str, at: datetime) -> tenants.Tenant:
            meta = event_meta(Actor(user_id=worker, service=SERVICE), at, now)
            registered = tenants.register(uuid.uuid4(), name, date(1970, 1, 1), meta)
            tenant = tenants.replay([registered])
            assert tenant is not None
            started = tenants.start_follow_up(tenant, 14, at.date(), meta)
            tenant = tenants.evolve(tenant, started)
            assigned = tenants.assign_responsibility(tenant, SERVICE, worker, meta)
            events.extend([registered, started, assigned])
            return tenants.evolve(tenant, assigned)

        step = timedelta(days=HISTORY_SPAN_DAYS) / HISTORY_VISITS
        for i in range(CASELOAD_TENANTS):
            tenant = follow_up(reader, f"Synk Beboer {i}", start)
            caseload.append(tenant.id)
            for v in range(HISTORY_VISITS):
                at = start + step * (v + 1)
                meta = event_meta(Actor(user_id=reader, service=SERVICE), at, now)
                planned = visits.plan(uuid.uuid4(), tenant, at, [reader], meta)
                visit = visits.evolve(None, planned)
                observations = visits.Observations(wellbeing="fair", note=OBSERVATIONS["note"])
                done = visits.complete(visit, tenant, [reader], observations, meta)
                events.extend([planned, done])
            for v in range(PLANNED_AHEAD):
                meta = event_meta(Actor(user_id=reader, service=SERVICE), now, now)
                ahead = now + timedelta(days=7 * (v + 1))
                events.append(visits.plan(uuid.uuid4(), tenant, ahead, [reader], meta))
        behind = len(events)
        pushed = [follow_up(pusher, f"Push Beboer {i}", start) for i in range(PUSH_TENANTS)]
        planned_visits = []
        meta = event_meta(Actor(user_id=pusher, service=SERVICE), now, now)
        for n in range(planned_for_push):
            tenant = pushed[n % len(pushed)]
            event = visits.plan(uuid.uuid4(), tenant, now + timedelta(days=1), [pusher], meta)
            events.append(event)
            planned_visits.append(PlannedVisit(event.originator_id, tenant.id))
        for first in range(0, len(events), SAVE_CHUNK):
            app.save(*events[first : first + SAVE_CHUNK])
        return SyncFixture(caseload, behind, VisitPool(planned_visits))
    finally:
        app.close()


def _expect(response: httpx.Response, status: int, what: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")


# --- the operations --------------------------------------------------------------------


@dataclass
class Block:
    """Sequential samples of one operation: each one's wall time, the CPU over the block."""

    seconds: list[float]
    cpu: dict[str, float]  # group -> CPU seconds per operation
    wire_bytes: list[int] = field(default_factory=list)
    body_bytes: list[int] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return median(self.seconds) * 1000

    def cpu_ms(self, group: str) -> float:
        return self.cpu.get(group, math.nan) * 1000


Call = Callable[[], Awaitable[tuple[int, int] | None]]


async def timed_block(
    call: Call,
    n: int,
    meter: measure.CpuMeter,
    settle: Callable[[], Awaitable[None]] | None = None,
) -> Block:
    """``n`` calls one after another; CPU from the first call until ``settle`` returns
    (for writes: until the projections have caught up with what they wrote)."""
    block = Block([], {})
    meter.start()
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        sizes = await call()
        block.seconds.append(time.perf_counter() - t0)
        if sizes is not None:
            block.wire_bytes.append(sizes[0])
            block.body_bytes.append(sizes[1])
    if settle is not None:
        await settle()
    elapsed = time.perf_counter() - start
    cores = meter.stop()
    block.cpu = {g: c * elapsed / n for g, c in cores.items()}
    return block


class Tablet:
    """The reader's tablet pulling over HTTP (httpx; see docs/benchmarks.md)."""

    def __init__(self, client: httpx.AsyncClient, worker: Worker, caseload: Sequence[UUID]):
        self.client = client
        self.headers = {**worker.headers, **ACCEPT_GZIP}
        self.caseload = set(caseload)
        self.cursor: str | None = None
        self.flags_through = 0

    async def _pull(self, body: dict[str, Any]) -> httpx.Response:
        response = await self.client.post("/sync/v1/pull", json=body, headers=self.headers)
        _expect(response, 200, "POST /sync/v1/pull")
        return response

    async def initial_pull(self) -> tuple[int, int]:
        """No cursor (a fresh tablet, or a clean resync): the whole caseload on one page."""
        response = await self._pull({"limit": PAGE})
        answer = _PULLED.decode(response.content)  # as the reference client decodes
        got = {t.tenant_id for t in answer.tenants}
        if got != self.caseload or answer.has_more:
            raise RuntimeError(f"initial pull: {len(got)} tenants, has_more {answer.has_more}")
        if response.headers.get("content-encoding") != "gzip":
            raise RuntimeError("initial pull: the answer was not gzipped")
        self.cursor, self.flags_through = answer.cursor, answer.flags_through
        return response.num_bytes_downloaded, len(response.content)

    async def empty_pull(self) -> tuple[int, int]:
        """With the last cursor and flags_through, nothing having changed since."""
        body = {"cursor": self.cursor, "flags_through": self.flags_through, "limit": PAGE}
        response = await self._pull(body)
        answer = _PULLED.decode(response.content)
        if answer.tenants or answer.purge or answer.safety_flags:
            raise RuntimeError("empty pull: the answer was not empty")
        self.cursor, self.flags_through = answer.cursor, answer.flags_through
        return response.num_bytes_downloaded, len(response.content)

    async def settle_held(self) -> None:
        """Initial pull, then one pull acknowledging its page: the tablet holds its caseload."""
        await self.initial_pull()
        body = {"cursor": self.cursor, "flags_through": self.flags_through, "limit": PAGE}
        answer = (await self._pull(body)).json()
        self.cursor, self.flags_through = answer["cursor"], answer["flags_through"]

    async def me(self) -> None:
        response = await self.client.get("/auth/me", headers=self.headers)
        _expect(response, 200, "GET /auth/me")


# The rows behind the initial pull, as plain SELECTs: the scope (caseload rows of the
# worker), the tenants' caseload fields, planned visits, open concerns, the newest timeline
# entries within the window, and the tenant aggregates' events. The baseline stays these
# rows although the server now reads less (each tenant's newest entries joined in one
# row, decision 72; the tenants' states from its cache, reading only newer events): it is
# the data the pull is made of, read the plainest way.
RAW_READS = (
    (
        "SELECT * FROM caseload WHERE contact_worker_id = $1 "
        "AND (follow_up_active OR follow_up_ended_on IS NULL)",
        "worker",
    ),
    ("SELECT * FROM caseload_planned_visits WHERE tenant_id = ANY($1::uuid[])", "tenants"),
    (
        "SELECT * FROM concerns WHERE tenant_id = ANY($1::uuid[]) AND status <> 'resolved'",
        "tenants",
    ),
    (
        f"""
        SELECT t.* FROM unnest($1::uuid[]) AS id, LATERAL (
            SELECT tenant_id, position, event_type, occurred_at, summary FROM risk_timeline
            WHERE tenant_id = id AND occurred_at >= now() - interval '{HISTORY_DAYS} days'
            ORDER BY position DESC LIMIT {HISTORY_MAX_ENTRIES}
        ) AS t
        """,
        "tenants",
    ),
    (
        f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE} "
        "WHERE originator_id = ANY($1::uuid[]) ORDER BY originator_id, originator_version",
        "tenants",
    ),
)


def reference_sync(base_url: str, worker: Worker, caseload: Sequence[UUID]) -> None:
    """A fresh reference tablet (sync/client.py, a SQLite store in a temporary folder)
    syncs the whole caseload: pages pulled and stored, each with its cursor, one SQLite
    transaction each. The same device as the reader's tablet: a pull without a cursor is
    its clean resync, so it runs after a round's pulls."""
    with tempfile.TemporaryDirectory() as folder, httpx.Client(base_url=base_url) as http:
        tablet = TabletClient(http, str(Path(folder) / "tablet.db"), worker.headers)
        try:
            tablet.sync()
            held = set(tablet.tenant_ids())
        finally:
            tablet.close()
    if held != set(caseload):
        raise RuntimeError(f"reference client: {len(held)} tenants after a full sync")


async def raw_read(conn: asyncpg.Connection, worker: UUID, caseload: list[UUID]) -> int:
    """One raw read of what the initial pull reads; the number of rows."""
    rows = 0
    for sql, arg in RAW_READS:
        rows += len(await conn.fetch(sql, worker if arg == "worker" else caseload))
    return rows


class Pusher:
    """The pushing worker's tablet: pushes of 100 completions, or the same one by one."""

    def __init__(self, client: httpx.AsyncClient, worker: Worker, pool: VisitPool) -> None:
        self.client = client
        self.worker = worker
        self.pool = pool
        self.seq = 0

    def _occurred_at(self) -> str:
        # The server's clock is the real one: a few minutes ago, as a tablet back online.
        return (datetime.now(UTC) - timedelta(minutes=3)).isoformat()

    async def push(self) -> None:
        items = []
        for planned in self.pool.take(PUSH_ITEMS):
            self.seq += 1
            items.append(
                {
                    "item_id": str(uuid.uuid4()),
                    "seq": self.seq,
                    "occurred_at": self._occurred_at(),
                    "command": {
                        "type": "complete_visit",
                        "visit_id": str(planned.visit_id),
                        "worker_ids": [str(self.worker.user_id)],
                        "observations": OBSERVATIONS,
                    },
                }
            )
        response = await self.client.post(
            "/sync/v1/push",
            json={"items": items},
            headers={**self.worker.headers, **ACCEPT_GZIP},
        )
        _expect(response, 200, "POST /sync/v1/push")
        outcomes = response.json()["outcomes"]
        statuses = {o["status"] for o in outcomes}
        if len(outcomes) != PUSH_ITEMS or not statuses <= {"applied", "applied_for_review"}:
            raise RuntimeError(f"push: {len(outcomes)} outcomes, statuses {sorted(statuses)}")

    async def one_by_one(self) -> None:
        for planned in self.pool.take(PUSH_ITEMS):
            body = {
                "worker_ids": [str(self.worker.user_id)],
                "observations": OBSERVATIONS,
                "occurred_at": self._occurred_at(),
                "recorded_offline": True,
            }
            response = await self.client.post(
                f"/visits/{planned.visit_id}/completion", json=body, headers=self.worker.headers
            )
            _expect(response, 201, "POST /visits/{id}/completion")


# --- a run -----------------------------------------------------------------------------


@dataclass
class SyncRuns:
    initial: list[Block] = field(default_factory=list)
    raw: list[Block] = field(default_factory=list)
    empty: list[Block] = field(default_factory=list)
    me: list[Block] = field(default_factory=list)
    push: list[Block] = field(default_factory=list)
    single: list[Block] = field(default_factory=list)
    client: list[Block] = field(default_factory=list)
    raw_rows: int = 0


async def measure_rounds(
    server: ServerProcess,
    url: str,
    fixture: SyncFixture,
    reader: Worker,
    pusher: Worker,
    profile: SyncProfile,
    meter: measure.CpuMeter,
    say: Callable[[str], None],
) -> SyncRuns:
    runs = SyncRuns()
    conn = await asyncpg.connect(url)
    try:
        async with (
            measure.http_client(server.base_url) as reading,
            measure.http_client(server.base_url) as pushing,
        ):
            tablet = Tablet(reading, reader, fixture.caseload)
            pushing_tablet = Pusher(pushing, pusher, fixture.to_complete)

            async def read() -> None:
                runs.raw_rows = await raw_read(conn, reader.user_id, fixture.caseload)

            async def me() -> None:
                await tablet.me()

            say("warming up")
            for _ in range(3):
                await tablet.initial_pull()
                await read()
            await tablet.settle_held()
            for _ in range(5):
                await tablet.empty_pull()
                await me()
            await pushing_tablet.push()
            await pushing_tablet.one_by_one()
            await server.wait_caught_up()

            for r in range(profile.rounds):
                say(f"round {r + 1}/{profile.rounds}")
                pulls: list[tuple[str, Call, int]] = [
                    ("initial", tablet.initial_pull, profile.pulls),
                    ("raw", read, profile.pulls),
                ]
                if r % 2:
                    pulls.reverse()
                for name, call, n in pulls:
                    getattr(runs, name).append(await timed_block(call, n, meter))
                await tablet.settle_held()
                gets: list[tuple[str, Call, int]] = [
                    ("empty", tablet.empty_pull, profile.empty_pulls),
                    ("me", me, profile.empty_pulls),
                ]
                if r % 2:
                    gets.reverse()
                for name, call, n in gets:
                    getattr(runs, name).append(await timed_block(call, n, meter))
                writes: list[tuple[str, Call]] = [
                    ("push", pushing_tablet.push),
                    ("single", pushing_tablet.one_by_one),
                ]
                if r % 2:
                    writes.reverse()
                for name, call in writes:
                    await server.wait_caught_up()
                    block = await timed_block(call, profile.pushes, meter, server.wait_caught_up)
                    getattr(runs, name).append(block)

                async def client_sync() -> None:
                    await asyncio.to_thread(
                        reference_sync, server.base_url, reader, fixture.caseload
                    )

                runs.client.append(await timed_block(client_sync, 1, meter))
                say(
                    f"  initial pull {runs.initial[-1].p50_ms:.1f} ms (raw read "
                    f"{runs.raw[-1].p50_ms:.1f} ms), empty pull {runs.empty[-1].p50_ms:.1f} ms "
                    f"(GET /auth/me {runs.me[-1].p50_ms:.1f} ms), push of {PUSH_ITEMS} "
                    f"{runs.push[-1].p50_ms:.0f} ms (one by one {runs.single[-1].p50_ms:.0f} ms)"
                )
    finally:
        await conn.close()
    return runs


def planned_visits_needed(profile: SyncProfile) -> int:
    """A push and a one-by-one run per round and sample, plus one of each to warm up."""
    return 2 * PUSH_ITEMS * (profile.rounds * profile.pushes + 1)


# --- the table -------------------------------------------------------------------------


@dataclass
class Line:
    figure: str
    runs: list[float]  # per round
    unit: str
    baseline: list[float] = field(default_factory=list)
    ratio: list[float] = field(default_factory=list)  # per round, figure / baseline
    target: str = ""
    met: bool | None = None


def _fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "ms":
        return (
            f"{value:.2f} ms"
            if value < 10
            else f"{value:.1f} ms"
            if value < 100
            else (f"{value:,.0f} ms")
        )
    if unit == "x":
        return f"{value:.2f} x"
    if unit == "B":
        return f"{value:,.0f} B"
    if value == int(value):  # a count
        return f"{value:,.0f} {unit}".rstrip()
    return f"{value:,.1f} {unit}".rstrip()


def render_lines(title: str, lines: Sequence[Line]) -> str:
    head = ["figure", "median", "baseline median", "ratio", "target", "met"]
    cells = []
    for line in lines:
        cells.append(
            [
                line.figure,
                _fmt(median(line.runs), line.unit) if line.runs else "",
                _fmt(median(line.baseline), line.unit) if line.baseline else "",
                _fmt(median(line.ratio), "x") if line.ratio else "",
                line.target,
                "" if line.met is None else "met" if line.met else "MISSED",
            ]
        )
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    rule = "  ".join("-" * w for w in widths)
    titles = "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()
    out = [title, rule, titles, rule]
    for c in cells:
        out.append(
            "  ".join(
                v.rjust(w) if i in (1, 2, 3) else v.ljust(w)
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            ).rstrip()
        )
    out.append(rule)
    return "\n".join(out)


def _ratio(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    return [t / b if b else math.nan for t, b in zip(top, bottom, strict=True)]


def sync_lines(runs: SyncRuns, profile: SyncProfile) -> list[Line]:
    initial = [b.p50_ms for b in runs.initial]
    raw = [b.p50_ms for b in runs.raw]
    empty = [b.p50_ms for b in runs.empty]
    me = [b.p50_ms for b in runs.me]
    push = [b.p50_ms for b in runs.push]
    single = [b.p50_ms for b in runs.single]
    client = [b.p50_ms for b in runs.client]
    wire = [float(median([float(x) for x in b.wire_bytes])) for b in runs.initial]
    body = [float(median([float(x) for x in b.body_bytes])) for b in runs.initial]
    pull_ratio = _ratio(initial, raw)
    empty_ratio = _ratio(empty, me)
    speed_up = _ratio(single, push)

    def cpu(blocks: list[Block], group: str, per: int = 1) -> list[float]:
        return [b.cpu_ms(group) / per for b in blocks]

    return [
        Line(
            f"1. initial pull, {CASELOAD_TENANTS} tenants on one page (vs raw asyncpg read)",
            initial,
            "ms",
            raw,
            pull_ratio,
            "<= 3 x",
            median(pull_ratio) <= 3,
        ),
        Line("   bytes on the wire, gzip (vs uncompressed)", wire, "B", body, _ratio(wire, body)),
        Line(
            "   reference client (sync/client.py): fresh tablet's full sync (vs initial pull)",
            client,
            "ms",
            initial,
            _ratio(client, initial),
        ),
        Line(
            "   server CPU per pull (vs per raw read: n/a)",
            cpu(runs.initial, "server"),
            "ms",
        ),
        Line(
            "   PostgreSQL CPU per pull (vs per raw read)",
            cpu(runs.initial, "postgres"),
            "ms",
            cpu(runs.raw, "postgres"),
            _ratio(cpu(runs.initial, "postgres"), cpu(runs.raw, "postgres")),
        ),
        Line(
            "2. empty incremental pull (vs GET /auth/me, same token)",
            empty,
            "ms",
            me,
            empty_ratio,
            "<= 2 x",
            median(empty_ratio) <= 2,
        ),
        Line(
            "   server CPU per request",
            cpu(runs.empty, "server"),
            "ms",
            cpu(runs.me, "server"),
            _ratio(cpu(runs.empty, "server"), cpu(runs.me, "server")),
        ),
        Line(
            "   PostgreSQL CPU per request",
            cpu(runs.empty, "postgres"),
            "ms",
            cpu(runs.me, "postgres"),
            _ratio(cpu(runs.empty, "postgres"), cpu(runs.me, "postgres")),
        ),
        Line(
            f"3. push of {PUSH_ITEMS} completions (vs {PUSH_ITEMS} POSTs one by one)*",
            push,
            "ms",
            single,
            speed_up,
            ">= 3 x faster",
            median(speed_up) >= 3,
        ),
        Line(
            "   server CPU per item, projections included (vs per single command)**",
            cpu(runs.push, "server", PUSH_ITEMS),
            "ms",
            cpu(runs.single, "server", PUSH_ITEMS),
            _ratio(cpu(runs.single, "server"), cpu(runs.push, "server")),
            "<= 0.5 ms (issue 13)",
            median(cpu(runs.push, "server", PUSH_ITEMS)) <= 0.5,
        ),
        Line(
            "   PostgreSQL CPU per item**",
            cpu(runs.push, "postgres", PUSH_ITEMS),
            "ms",
            cpu(runs.single, "postgres", PUSH_ITEMS),
            _ratio(cpu(runs.single, "postgres"), cpu(runs.push, "postgres")),
        ),
    ]


def sync_notes(runs: SyncRuns, profile: SyncProfile, fixture: SyncFixture) -> list[str]:
    return [
        f"caseload: {CASELOAD_TENANTS} tenants, {fixture.events:,} events behind them (their "
        f"own and their visits'); the raw read returns {runs.raw_rows:,} rows "
        "(bench/sync.py RAW_READS)",
        f"medians of {profile.rounds} interleaved rounds; in each, the median of "
        f"{profile.pulls} initial pulls / raw reads, {profile.empty_pulls} empty pulls / GETs, "
        f"{profile.pushes} push(es) / one-by-one run(s); ratios per round, then the median",
        "* the speed-up is one-by-one time / push time (higher is better), each on a fresh "
        f"set of {PUSH_ITEMS} planned visits of a second field worker's own caseload",
        "** CPU from the first request until the projections have caught up with what it "
        "wrote; ratio column: one-by-one CPU / push CPU",
        "PostgreSQL CPU: the backends of this run's database (n/a for a server elsewhere)",
    ]


async def sync_table(
    db: Database,
    args: argparse.Namespace,
    log_dir: Path,
    say: Callable[[str], None],
) -> str:
    """Set up, start the server, measure the rounds, and the table with its notes."""
    url = db.url.url
    started = time.perf_counter()
    profile = QUICK if args.quick else FULL
    if args.repeats is not None:
        profile = replace(profile, rounds=args.repeats)
    say("sync: two field workers, their caseloads and planned visits (not timed)")
    reader, pusher = await create_workers(url)
    fixture = await asyncio.to_thread(
        create_caseloads, db.url, reader.user_id, pusher.user_id, planned_visits_needed(profile)
    )
    say(f"  {fixture.events:,} events behind the caseload in {time.perf_counter() - started:.1f} s")
    say(f"starting {args.server}")
    async with running_server(
        args.server, db.url, log_dir, workers=args.workers, app=args.app
    ) as server:
        async with measure.http_client(server.base_url) as client:
            for worker in (reader, pusher):
                await register_tablet(client, worker)
        await server.wait_caught_up()
        meter = measure.CpuMeter({"server": server.processes, "postgres": db.postgres_processes})
        runs = await measure_rounds(server, url, fixture, reader, pusher, profile, meter, say)
    notes = sync_notes(runs, profile, fixture)
    notes.append(
        "HTTP: httpx, one keep-alive connection per tablet; the reference client's line is one "
        "whole sync of a fresh sync/client.py tablet a round (its pulls, its SQLite store); "
        f"server: {args.server}, {args.workers} worker(s); total "
        f"{time.perf_counter() - started:.0f} s"
    )
    return render_lines("Folgja offline sync (issue 12)", sync_lines(runs, profile)) + (
        "\n" + "\n".join(notes)
    )
