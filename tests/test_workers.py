"""`folgja run` with two HTTP workers, against the real server and database.

The server is started as users start it (``python -m backend.cli run``, FOLGJA_WORKERS=2)
and observed from outside: which process answers a connection (psutil: the worker holding
the accepted socket), which process holds each advisory lock (pg_locks, and the holder's
client port mapped to the process owning that socket), what is left after SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import psutil
import pytest

from backend.auth import sessions, users
from backend.auth.roles import Role, SignIn
from backend.database import DatabaseUrl
from backend.scheduler import LEADER_LOCK_KEY
from domain.municipal_services import Service
from projections.registry import all_projections
from projections.runner import advisory_key
from tests.sync_server import free_port, until

ROOT = Path(__file__).resolve().parent.parent
# Generous: the server migrates, spawns two workers that import the app, starts the
# projections' child, on two cores shared with other work.
DEADLINE_S = 60.0


def _token(database: DatabaseUrl) -> tuple[uuid.UUID, str]:
    """A team lead of the outreach team and an access token, made in the database."""

    async def go() -> tuple[uuid.UUID, str]:
        conn = await asyncpg.connect(database.url)
        try:
            now = datetime.now(UTC)
            user = await users.create_user(
                conn,
                username="workers-test-lead",
                display_name="Workers Test",
                service=Service.OUTREACH_TEAM,
                roles=[Role.TEAM_LEAD],
                password=None,
                now=now,
            )
            token = await sessions.issue_access(
                conn, user.id, now=now, signed_in_with=SignIn.PASSWORD, ttl=timedelta(hours=1)
            )
            return user.id, token
        finally:
            await conn.close()

    return asyncio.run(go())


class Server:
    """``python -m backend.cli run`` in a session of its own, killed whatever happens."""

    def __init__(self, database: DatabaseUrl, log: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("FOLGJA_")}
        env.update(
            DATABASE_URL=database.url,
            FOLGJA_PORT=str(self.port),
            FOLGJA_WORKERS="2",
            PYTHONPATH=str(ROOT),
        )
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "run"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.main = psutil.Process(self.process.pid)
        self.seen: dict[int, psutil.Process] = {}  # every process of the tree ever listed

    def tree(self) -> list[psutil.Process]:
        """The main process and every process under it."""
        try:
            tree = [self.main, *self.main.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        self.seen.update((p.pid, p) for p in tree)
        return tree

    def owner(self, local_port: int, remote_port: int) -> int | None:
        """The pid in the tree holding a TCP socket from ``local_port`` to ``remote_port``."""
        for process in self.tree():
            try:
                connections = process.net_connections(kind="tcp")
            except psutil.NoSuchProcess:
                continue
            for c in connections:
                ports = (c.laddr.port, c.raddr.port) if c.laddr and c.raddr else None
                if ports == (local_port, remote_port):
                    return process.pid
        return None

    def kill_all(self) -> None:
        self.tree()
        for process in self.seen.values():  # those a killed main left behind too
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Connection:
    """One keep-alive HTTP connection, so one worker answers all its requests."""

    def __init__(self, server: Server, token: str) -> None:
        self._http = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self._auth = {"Authorization": f"Bearer {token}"}
        status, _ = self.request("GET", "/ready")
        assert status == 200
        assert self._http.sock is not None
        local_port = self._http.sock.getsockname()[1]
        # The worker that accepted the connection holds its socket.
        self.worker = until(
            lambda: server.owner(server.port, local_port), "the worker holding a connection"
        )

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = dict(self._auth)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self._http.request(method, path, body=payload, headers=headers)
        response = self._http.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        self._http.close()


async def _lock_holders(conn: asyncpg.Connection, key: int) -> list[tuple[int, int | None]]:
    """(backend pid, client port) of each session holding advisory lock ``key`` in this
    database (pg_locks is server-wide: other tests' databases hold the same keys)."""
    rows = await conn.fetch(
        "SELECT l.pid, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
        key,  # a crc32: below 2**32
    )
    return [(r["pid"], r["client_port"]) for r in rows]


@pytest.fixture
def server(database: DatabaseUrl, tmp_path: Path) -> Iterator[Server]:
    running = Server(database, tmp_path / "server.log")
    try:
        yield running
    finally:
        running.kill_all()


def _gone(tree: list[psutil.Process]) -> bool:
    def alive(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    return not any(alive(p) for p in tree)


def _started(server: Server, token: str) -> list[psutil.Process]:
    """Wait until the server answers and its projections' child runs; the process tree."""

    def ready() -> bool:
        assert server.process.poll() is None, server.output()
        try:
            return Connection(server, token) is not None
        except OSError:
            return False

    until(ready, "the server answering")

    def child_running() -> bool:
        return any("projections" in p.cmdline() for p in server.tree()[1:])

    until(child_running, "the projections' child running")
    return server.tree()


def test_two_workers_serve_and_what_runs_once_runs_once(
    database: DatabaseUrl, server: Server
) -> None:
    user_id, token = _token(database)
    pg_port = database.port
    # Over TCP, a session's client port names the process that opened it; an embedded
    # PostgreSQL is reached over a unix socket, where only the counts are checked.
    over_tcp = not database.host.startswith("/")

    _started(server, token)

    # Two worker processes answer: connections until both have taken one.
    connections: dict[int, list[Connection]] = {}

    def both_workers() -> bool:
        connection = Connection(server, token)
        connections.setdefault(connection.worker, []).append(connection)
        return len(connections) == 2

    until(both_workers, "connections answered by two workers")
    first, second = (group[0] for group in connections.values())
    assert first.worker != server.main.pid and second.worker != server.main.pid
    children = {p.pid: p for p in server.tree()[1:]}
    [child] = [p for p in children.values() if "projections" in p.cmdline()]

    async def holders() -> tuple[dict[str, list[tuple[int, int | None]]], list[Any]]:
        conn = await asyncpg.connect(database.url)
        try:
            per_projection = {
                p.name: await _lock_holders(conn, advisory_key(p.name)) for p in all_projections()
            }
            return per_projection, await _lock_holders(conn, LEADER_LOCK_KEY)
        finally:
            await conn.close()

    def every_lock_taken() -> tuple[dict[str, list[tuple[int, int | None]]], list[Any]] | None:
        per_projection, leader = asyncio.run(holders())
        return (per_projection, leader) if all(per_projection.values()) and leader else None

    per_projection, leaders = until(every_lock_taken, "every projection and a leader running")
    # Each projection runs once; the scheduler has one leader.
    assert {name: len(h) for name, h in per_projection.items()} == dict.fromkeys(per_projection, 1)
    assert len(leaders) == 1
    if over_tcp:  # map each holder's session to the process owning its socket
        runs = {
            name: server.owner(h[0][1], pg_port) for name, h in per_projection.items() if h[0][1]
        }
        assert runs == {
            p.name: child.pid if p.name == "risk_timeline" else server.main.pid
            for p in all_projections()
        }
        assert server.owner(leaders[0][1], pg_port) in {first.worker, second.worker}

    # Read-your-writes whichever worker answers: a command on one worker, the read that
    # asks for its position on the other, both ways round.
    def write_then_read(on: Connection, then: Connection) -> None:
        tenant_id = uuid.uuid4()
        status, done = on.request(
            "POST", "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"}
        )
        assert status == 201, done
        status, entries = then.request(
            "GET", f"/tenants/{tenant_id}/timeline?min_position={done['position']}"
        )
        assert status == 200, entries
        assert [e["event_type"] for e in entries] == ["TenantRegistered"]
        # The caseload waits for two projections: caseload (the main process) and the
        # risk timeline (its child).
        status, done = then.request(
            "POST",
            f"/tenants/{tenant_id}/follow-up",
            {"visit_interval_days": 14, "started_on": "2026-03-01"},
        )
        assert status == 201, done
        status, done = then.request(
            "POST",
            f"/tenants/{tenant_id}/responsibility",
            {"service": "tiltaksteamet", "contact_worker_id": str(user_id)},
        )
        assert status == 201, done
        status, page = on.request(
            "GET", f"/caseload/teams/tiltaksteamet?min_position={done['position']}&limit=200"
        )
        assert status == 200, page
        assert str(tenant_id) in {e["tenant_id"] for e in page["items"]}

    for _ in range(10):
        write_then_read(first, second)
        write_then_read(second, first)

    # A worker dies: projections go on, granian starts another worker.
    leader_worker = server.owner(leaders[0][1], pg_port) if over_tcp else None
    victim = second if leader_worker == first.worker else first
    survivor = first if victim is second else second
    os.kill(victim.worker, signal.SIGKILL)
    for _ in range(3):
        write_then_read(survivor, survivor)

    def replaced() -> int | None:
        try:
            worker = Connection(server, token).worker
        except OSError:
            return None
        return worker if worker not in (first.worker, second.worker) else None

    replacement = until(replaced, "a new worker in place of the killed one")
    assert replacement in [p.pid for p in server.tree()]
    per_projection_after, leaders_after = asyncio.run(holders())
    assert per_projection_after == per_projection  # the same sessions run them
    assert len(leaders_after) == 1

    # SIGTERM to the main process stops everything it started.
    tree = server.tree()
    assert len(tree) >= 4  # main, two workers, the projections' child
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(DEADLINE_S) == 0, server.output()

    until(lambda: _gone(tree), "every process of the server gone")

    def locks_released() -> bool:
        per, leader = asyncio.run(holders())
        return not any(per.values()) and not leader

    until(locks_released, "every lock released")


def test_a_killed_main_process_leaves_nothing_running(
    database: DatabaseUrl, server: Server
) -> None:
    _, token = _token(database)
    tree = _started(server, token)
    assert len(tree) >= 4  # main, two workers, the projections' child
    server.main.kill()  # no chance to stop anything: the others must stop by themselves
    server.process.wait(DEADLINE_S)
    # The workers by the kernel's signal, the child at the end of its standard input.
    until(lambda: _gone(tree), "every process of the killed server gone")
