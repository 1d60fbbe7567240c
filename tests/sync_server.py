"""Helpers for sync tests against the real server process (``python -m backend.cli run``)
and the reference client over real HTTP: a server that can be killed and started again on
the same port, users made in the database, tablets registered over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import psutil

from backend.auth import users
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from domain.municipal_services import Service
from sync.client import TabletClient
from sync.pull import FLAGS_SOURCE, SOURCES
from tests.auth_api import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
# Generous: a start migrates, spawns the workers that import the app and the projections'
# child, on two cores shared with other work.
DEADLINE_S = 90.0
T = TypeVar("T")


def until(condition: Callable[[], T | None], what: str, within_s: float = DEADLINE_S) -> T:
    """Wait for ``condition`` to answer something truthy; fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """``python -m backend.cli run`` in a process group of its own, on one port for its
    whole life: killed (SIGKILL, every process of it at once) and started again."""

    def __init__(self, database: DatabaseUrl, log: Path, *, workers: int = 2) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("FOLGJA_")}
        self.env.update(
            DATABASE_URL=database.url,
            FOLGJA_PORT=str(self.port),
            FOLGJA_WORKERS=str(workers),
            PYTHONPATH=str(ROOT),
        )
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}
        self.starts = 0

    def start(self) -> None:
        assert self.process is None
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "backend.cli", "run"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        until(self._ready, "the server answering /ready")

    def _ready(self) -> bool:
        assert self.process is not None
        assert self.process.poll() is None, self.output()
        self._remember()
        try:
            return httpx.get(self.base_url + "/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def _remember(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(psutil.NoSuchProcess):
            main = psutil.Process(self.process.pid)
            for p in [main, *main.children(recursive=True)]:
                self.seen[p.pid] = p

    def kill(self) -> None:
        """SIGKILL to every process of the server at once: no chance to finish anything."""
        assert self.process is not None
        self._remember()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for p in self.seen.values():  # any that left the group
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        self.process.wait(30)
        until(lambda: not any(_alive(p) for p in self.seen.values()), "every process gone")
        self.seen.clear()
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def in_database(database: DatabaseUrl, work: Callable[[asyncpg.Connection], Any]) -> Any:
    """Run ``work(conn)`` (a coroutine function) on a connection of its own."""

    async def go() -> Any:
        conn = await asyncpg.connect(database.url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(go())


def make_user(database: DatabaseUrl, username: str, role: Role) -> uuid.UUID:
    """A user of the outreach team with ``role`` and the tests' password."""

    async def go(conn: asyncpg.Connection) -> uuid.UUID:
        user = await users.create_user(
            conn,
            username=username,
            display_name=username.title(),
            service=Service.OUTREACH_TEAM,
            roles=[role],
            password=PASSWORD,
            now=datetime.now(UTC),
        )
        return user.id

    result: uuid.UUID = in_database(database, go)
    return result


class Web:
    """A user signed in with the password over HTTP (no device)."""

    def __init__(self, base_url: str, username: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        signed_in = self.http.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        self.headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    def post(self, path: str, body: Any) -> Any:
        response = self.http.post(path, json=body, headers=self.headers)
        assert response.status_code in (200, 201), (path, response.status_code, response.text)
        return response.json()

    def get(self, path: str) -> Any:
        response = self.http.get(path, headers=self.headers)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    def close(self) -> None:
        self.http.close()


def tenant_followed_by(lead: Web, worker_id: uuid.UUID) -> uuid.UUID:
    """A tenant in follow-up whose contact worker is ``worker_id``."""
    tenant_id = uuid.uuid4()
    lead.post("/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"})
    lead.post(
        f"/tenants/{tenant_id}/follow-up", {"visit_interval_days": 14, "started_on": "2026-03-01"}
    )
    lead.post(
        f"/tenants/{tenant_id}/responsibility",
        {"service": Service.OUTREACH_TEAM.value, "contact_worker_id": str(worker_id)},
    )
    return tenant_id


class RemoteTablet:
    """A field worker's tablet registered over HTTP, running the reference client."""

    def __init__(
        self,
        database: DatabaseUrl,
        base_url: str,
        username: str,
        db_path: Path,
        *,
        retry_for: float = 120.0,
        seed: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        import random

        self.username = username
        self.user_id = make_user(database, username, Role.FIELD_WORKER)
        self.http = httpx.Client(base_url=base_url, timeout=30)
        web = Web(base_url, username)
        registered = web.http.post("/devices", json={"label": username}, headers=web.headers)
        assert registered.status_code == 201, registered.text
        web.close()
        self.device_id = uuid.UUID(registered.json()["device_id"])
        self.credential = registered.json()["device_credential"]
        self.headers: dict[str, str] = {}
        self.sign_in()
        self.db_path = str(db_path)
        self.client_args: dict[str, Any] = {
            "retry_for": retry_for,
            "rng": random.Random(seed),
            "clock": clock,
        }
        self.app = TabletClient(self.http, self.db_path, lambda: self.headers, **self.client_args)

    def sign_in(self) -> None:
        """A fresh access token from the device credential."""
        grant = self.http.post("/auth/device-token", json={"device_credential": self.credential})
        assert grant.status_code == 200, grant.text
        self.headers = {"Authorization": f"Bearer {grant.json()['access_token']}"}

    def reopen(self) -> TabletClient:
        """The tablet's app started again on the same file (after the file was changed)."""
        self.app.close()
        self.app = TabletClient(self.http, self.db_path, lambda: self.headers, **self.client_args)
        return self.app

    def close(self) -> None:
        self.app.close()
        self.http.close()


def projections_caught_up(database: DatabaseUrl) -> bool:
    """Every read model a pull reads has applied the whole event log."""
    names = [*SOURCES, FLAGS_SOURCE]

    async def go(conn: asyncpg.Connection) -> bool:
        head = await conn.fetchval("SELECT coalesce(max(notification_id), 0) FROM folgja_events")
        caught_up = await conn.fetchval(
            "SELECT count(*) FROM projection_tracking "
            "WHERE projection = ANY($1::text[]) AND position >= $2",
            names,
            head,
        )
        return bool(caught_up == len(names))

    result: bool = in_database(database, go)
    return result
