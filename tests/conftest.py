"""Test session: a real PostgreSQL (embedded from the pip wheel, or TEST_DATABASE_URL).

The schema is migrated once into a template database; every test that stores anything
gets its own copy (CREATE DATABASE ... TEMPLATE), so tests never see each other's events.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl, migrate, start_embedded
from backend.settings import Settings


class Clock:
    """A settable clock: the domain never reads time itself, so tests choose it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _admin(server: DatabaseUrl) -> psycopg.Connection:
    return psycopg.connect(server.with_dbname("postgres").url, autocommit=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[DatabaseUrl]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield DatabaseUrl.parse(url)
        return
    with tempfile.TemporaryDirectory(prefix="folgja-test-") as tmp:
        os.chmod(tmp, 0o755)
        yield start_embedded(Path(tmp) / "pgdata", cleanup="delete")


@pytest.fixture(scope="session")
def template_db(pg_server: DatabaseUrl) -> Iterator[str]:
    name = f"folgja_template_{os.getpid()}"
    with _admin(pg_server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    migrate(pg_server.with_dbname(name))
    yield name
    with _admin(pg_server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database(pg_server: DatabaseUrl, template_db: str) -> Iterator[DatabaseUrl]:
    name = f"folgja_t_{uuid.uuid4().hex[:12]}"
    with _admin(pg_server) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield pg_server.with_dbname(name)
    with _admin(pg_server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 6, 15, 30, tzinfo=UTC))


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database.url), database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client
