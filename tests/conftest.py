"""Test session: a real PostgreSQL (embedded from the pip wheel, or TEST_DATABASE_URL).

The schema is migrated once into a template database; every test that stores anything
gets its own copy (CREATE DATABASE ... TEMPLATE), so tests never see each other's events.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import litestar.testing
import psycopg
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.auth import sessions, users
from backend.auth.roles import Role, SignIn
from backend.database import DatabaseUrl, migrate, start_embedded, stop_embedded
from backend.settings import Settings
from backend.staff_directory import open_write_model
from domain.application import FollowUpApplication
from domain.municipal_services import Service
from domain.write_model import WriteModel

# --- identity headers → real bearer tokens -------------------------------------------------
#
# The HTTP tests were written when a caller named themselves in two headers,
# ``x-folgja-user`` and ``x-folgja-service``. The app no longer reads them: every route but
# the public ones needs a bearer token, and the event actor is the token's user. As a TEST
# CONVENIENCE, the test client turns such headers into a real token: on first sight of a
# user id it creates that user (same id and service, a role by service) in the app's own
# database, issues an access token through ``backend.auth.sessions`` (on the app's pool, in
# the app's event loop, timed by the app's clock), and sends ``Authorization: Bearer``
# *instead of* the headers. The server therefore still verifies the token on every request
# (hash lookup, expiry, user, device); only the sign-in step is skipped. A request that
# already carries an Authorization header, or identity headers that are not a UUID and a
# known service, is sent unchanged (and so is refused 401 like any unauthenticated call).
#
# Reads and the operator routes used to need no identity at all, and many tests still call
# them without headers: such a GET (outside /auth, /admin and /devices, whose tests check
# the 401 of a missing token) or a call under /projections/ is sent as DEFAULT_READER, a
# team lead of tiltaksteamet, or where that role has no access (NAV's inbox, the
# operators' routes) as the role the route is for (DEFAULT_READER_BY_PREFIX). Any other
# request without identity (a POST with no headers,
# or anything while ``client.anonymous`` is set) goes out without a token.

USER_HEADER = "x-folgja-user"
SERVICE_HEADER = "x-folgja-service"
# Optional: the user's roles (comma-separated), where the role by service below is not the
# one a test needs.
ROLE_HEADER = "x-folgja-role"
ROLE_BY_SERVICE = {
    Service.OUTREACH_TEAM: Role.TEAM_LEAD,
    Service.PROPERTY_MANAGER: Role.PROPERTY_MANAGER,
    Service.NAV: Role.NAV_OFFICER,
    Service.ADMIN: Role.ADMIN,
}
# tests/api.py's WORKER and SECOND_WORKER (not imported: conftest comes first).
TEAM_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
TEAM_SECOND_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
DEFAULT_READER = (uuid.UUID("00000000-0000-4000-8000-0000000000fe"), Service.OUTREACH_TEAM)
# Where the team lead has no access, header-less calls go as the role the route is for.
DEFAULT_READER_BY_PREFIX = {
    "/nav-inbox": (uuid.UUID("00000000-0000-4000-8000-0000000000fd"), Service.NAV),
    "/projections/": (uuid.UUID("00000000-0000-4000-8000-0000000000fc"), Service.ADMIN),
}
NO_DEFAULT_READER = ("/auth", "/admin", "/devices")
# Long enough for any test, however far it moves the app's clock.
TEST_TOKEN_TTL = timedelta(days=3650)


class HeaderTokenClient(TestClient):  # type: ignore[type-arg]
    """A TestClient that signs identity headers in as a real bearer token (see above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[uuid.UUID, str] = {}
        self._services: dict[uuid.UUID, tuple[Service, tuple[Role, ...]]] = {}
        self._token_lock = threading.Lock()
        # True: every request goes out exactly as given (no token added).
        self.anonymous = False

    def build_request(self, *args: Any, **kwargs: Any) -> httpx.Request:
        request = super().build_request(*args, **kwargs)
        self._enrol_team_named_in(request)
        headers = request.headers
        if "authorization" in headers or self.anonymous:
            return request
        if USER_HEADER not in headers and SERVICE_HEADER not in headers:
            path = request.url.path
            if path.startswith("/projections/") or (
                request.method == "GET" and not path.startswith(NO_DEFAULT_READER)
            ):
                reader = next(
                    (r for p, r in DEFAULT_READER_BY_PREFIX.items() if path.startswith(p)),
                    DEFAULT_READER,
                )
                headers["authorization"] = f"Bearer {self.token_for(*reader)}"
            return request
        try:
            user_id = uuid.UUID(headers.get(USER_HEADER, ""))
            service = Service(headers.get(SERVICE_HEADER, ""))
            roles = (
                tuple(Role(r) for r in headers[ROLE_HEADER].split(","))
                if ROLE_HEADER in headers
                else None
            )
        except ValueError:
            return request  # not an identity: sent as it is, refused as unauthenticated
        for name in (USER_HEADER, SERVICE_HEADER, ROLE_HEADER):
            if name in headers:
                del headers[name]
        headers["authorization"] = f"Bearer {self.token_for(user_id, service, roles)}"
        return request

    def _enrol_team_named_in(self, request: httpx.Request) -> None:
        """The outreach team's two workers of tests/api.py are real users of the app's
        database from the first request that names them (a visit's workers, a contact),
        as they would be in a municipality: commands may only name real colleagues."""
        try:
            body = request.content
        except httpx.RequestNotRead:
            return  # a streamed body names nobody we make
        for worker in (TEAM_WORKER, TEAM_SECOND_WORKER):
            if str(worker).encode() in body and worker not in self._services:
                self.colleague(user_id=worker)

    def token_for(
        self, user_id: uuid.UUID, service: Service, roles: tuple[Role, ...] | None = None
    ) -> str:
        """An access token of ``user_id`` acting for ``service`` (the user made if new)."""
        roles = roles or (ROLE_BY_SERVICE.get(service, Role.SERVICE_STAFF),)
        with self._token_lock:
            if self._services.get(user_id) != (service, roles):
                self.blocking_portal.call(self._enrol, user_id, service, roles)
                self._services[user_id] = (service, roles)
            return self._tokens[user_id]

    def colleague(
        self,
        service: Service = Service.OUTREACH_TEAM,
        role: Role | None = None,
        user_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A real, active user whom a command may name (a worker on a visit, a contact).

        The role is by service unless given (a team lead of tiltaksteamet, service staff
        of the other follow-up services).
        """
        user_id = user_id or uuid.uuid4()
        self.token_for(user_id, service, (role,) if role else None)
        return user_id

    def enrol(self, headers: dict[str, str]) -> str:
        """Make the user these identity headers name (as their first request would), so a
        command may name them before they act; answers the user's id."""
        roles = headers.get(ROLE_HEADER)
        self.token_for(
            uuid.UUID(headers[USER_HEADER]),
            Service(headers[SERVICE_HEADER]),
            tuple(Role(r) for r in roles.split(",")) if roles else None,
        )
        return headers[USER_HEADER]

    async def _enrol(self, user_id: uuid.UUID, service: Service, wanted: tuple[Role, ...]) -> None:
        runtime = self.app.state.runtime
        roles = sorted(r.value for r in wanted)
        now = runtime.clock()
        async with runtime.pool.acquire() as conn:
            existing = await users.user_by_id(conn, user_id)
            if existing is None:
                await users.create_user(
                    conn,
                    username=f"u-{user_id.hex}",
                    display_name=f"Test user {user_id.hex[:8]}",
                    service=service,
                    roles=[Role(r) for r in roles],
                    password=None,
                    now=now,
                    user_id=user_id,
                )
            elif existing.service is not service or sorted(existing.roles) != roles:
                # One user acts for one service: a test that lets the same id act for
                # another service (or role) moves the user there (the token names the
                # user; service and roles are read from the user's row on every request).
                await conn.execute(
                    "UPDATE users SET service = $2, roles = $3 WHERE id = $1",
                    user_id,
                    service.value,
                    roles,
                )
            if user_id not in self._tokens:
                self._tokens[user_id] = await sessions.issue_access(
                    conn, user_id, now=now, signed_in_with=SignIn.PASSWORD, ttl=TEST_TOKEN_TTL
                )


# Tests that build their own app and client (``from litestar.testing import TestClient``)
# get the same convenience: conftest is imported before any test module.
litestar.testing.TestClient = HeaderTokenClient  # type: ignore[misc]


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
        data = Path(tmp) / "pgdata"
        try:
            yield start_embedded(data, cleanup="stop")
        finally:
            stop_embedded(data)  # before the folder goes: a server without it can't be stopped


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
    with HeaderTokenClient(app) as test_client:
        yield test_client


@pytest.fixture
def app(database: DatabaseUrl) -> Iterator[FollowUpApplication]:
    """The event store on this test's database (the library's application), for tests that
    store events made by the pure rules."""
    application = FollowUpApplication(database.eventsourcing_env())
    yield application
    application.close()


@pytest.fixture
def write_model(database: DatabaseUrl) -> Iterator[WriteModel]:
    """The write model on this test's database, with the users table as its staff."""
    model = open_write_model(database.eventsourcing_env())
    yield model
    model.close()


@pytest.fixture
async def pool(database: DatabaseUrl) -> AsyncIterator[asyncpg.Pool]:
    """An asyncpg pool on this test's database, for projection and read-model tests."""
    connections = await asyncpg.create_pool(database.url, min_size=1, max_size=10)
    yield connections
    await connections.close()
