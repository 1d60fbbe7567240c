"""The API fuzzed against its own OpenAPI document: no 5xx, nothing the document does not say.

Schemathesis generates requests from the served ``/schema/openapi.json`` (valid and invalid
ones) for every operation, and sends them through the real app (its lifespan, guards,
runtime and projections) on a real database that holds a few records of each kind, as each
role and as nobody. Path parameters and body ``*_id`` fields are often swapped for ids that
exist (of every kind: a tenant's id where a visit's is asked for, too), so the fuzzer gets
past "no such record". Every answer must pass these checks:

* ``not_a_server_error``: no 5xx at all. Before a read that names ``min_position`` every
  projection is let reach the log head, so a 503 (the read model did not catch up in time)
  would be a fault here, not the machine's speed;
* ``status_code_conformance``: the status is documented for the operation;
* ``content_type_conformance``: so is its content type;
* ``response_schema_conformance``: the body matches the documented schema.

Bounded and deterministic: a few derandomized cases per operation, each sent as every
caller (generating cases costs more than answering them), no example database, no
deadlines, no scheduler; the file runs in about a minute.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.auth import sessions
from backend.auth.roles import Role, SignIn
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.municipal_services import Service
from projections import events as event_log
from projections.events import EVENTS_TABLE
from projections.registry import all_projections
from tests.api import SECOND_WORKER, WORKER, planned_visit, tenant_in_follow_up
from tests.conftest import TEST_TOKEN_TTL, Clock, HeaderTokenClient, _admin
from tests.rent_api import consent_to_nav, registered_tenant, rent_case

# Cases per operation, each sent as every caller: with ~75 operations and 7 callers the
# file sends some 4,000 requests.
MAX_EXAMPLES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BASE_URL = "http://testserver.local"
MIN_POSITION = "min_position"
# How long a projection may take to reach the head before a read asks for it.
CATCH_UP_S = 30.0
NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)

# Each role as one user; the team lead is the one who made the records below.
CALLERS: dict[str, tuple[uuid.UUID, Service, Role] | None] = {
    "admin": (uuid.UUID("00000000-0000-4000-8000-0000000000a1"), Service.ADMIN, Role.ADMIN),
    "team_lead": (WORKER, Service.OUTREACH_TEAM, Role.TEAM_LEAD),
    "field_worker": (SECOND_WORKER, Service.OUTREACH_TEAM, Role.FIELD_WORKER),
    "property_manager": (
        uuid.UUID("00000000-0000-4000-8000-0000000000a2"),
        Service.PROPERTY_MANAGER,
        Role.PROPERTY_MANAGER,
    ),
    "nav_officer": (
        uuid.UUID("00000000-0000-4000-8000-0000000000a3"),
        Service.NAV,
        Role.NAV_OFFICER,
    ),
    "service_staff": (
        uuid.UUID("00000000-0000-4000-8000-0000000000a4"),
        Service.CORRECTIONAL_SERVICE,
        Role.SERVICE_STAFF,
    ),
    "anonymous": None,  # no token: whatever the fuzzer sends (nothing, or a bad one)
}


@dataclass
class Fuzz:
    client: HeaderTokenClient
    schema: Any
    spec: dict[str, Any]
    ids: list[str]  # every aggregate in the log, and the callers


@pytest.fixture(scope="module")
def fuzz(pg_server: DatabaseUrl, template_db: str) -> Iterator[Fuzz]:
    """One database with a few records, one app, for the whole file."""
    name = f"folgja_fuzz_{uuid.uuid4().hex[:12]}"
    with _admin(pg_server) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    database = pg_server.with_dbname(name)
    clock = Clock(NOW)
    # A read asking for a position far ahead waits briefly, not the default 5 s.
    settings_ = Settings(
        database_url=database.url, read_your_writes_timeout_s=0.2, run_scheduler=False
    )
    try:
        app = create_app(settings_, database=database, clock=clock)
        with HeaderTokenClient(app) as client:
            _records(client)
            spec = client.get("/schema/openapi.json").json()
            records = _aggregate_ids(client)
            assert len(records) >= 10, records
            ids = records + [str(caller[0]) for caller in CALLERS.values() if caller is not None]
            yield Fuzz(client, schemathesis.openapi.from_dict(spec), spec, ids)
    finally:
        with _admin(pg_server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _records(client: HeaderTokenClient) -> None:
    """A few records of each kind, made through the API as the other tests make them."""
    for _ in range(2):
        tenant_id = tenant_in_follow_up(client)
        planned_visit(client, tenant_id)
        consent_to_nav(client, tenant_id, uuid.uuid4())
        rent_case(client, tenant_id)
    registered_tenant(client)  # not followed up


def _aggregate_ids(client: HeaderTokenClient) -> list[str]:
    async def read() -> list[str]:
        async with client.app.state.runtime.pool.acquire() as conn:
            # In the order they were made: their ids are random, their order is not.
            rows = await conn.fetch(
                f"SELECT originator_id FROM {EVENTS_TABLE} WHERE originator_version = 1 "
                "ORDER BY notification_id"
            )
        return [str(row["originator_id"]) for row in rows]

    ids: list[str] = client.blocking_portal.call(read)
    return ids


def _token(client: HeaderTokenClient, user_id: uuid.UUID, service: Service, role: Role) -> str:
    """A fresh access token of the caller (the user made on first use)."""
    client.token_for(user_id, service, (role,))  # makes the user, as the other tests do

    async def issue() -> str:
        runtime = client.app.state.runtime
        async with runtime.pool.acquire() as conn:
            token: str = await sessions.issue_access(
                conn,
                user_id,
                now=runtime.clock(),
                signed_in_with=SignIn.PASSWORD,
                ttl=TEST_TOKEN_TTL,
            )
        return token

    token: str = client.blocking_portal.call(issue)
    return token


def _projections_caught_up(client: HeaderTokenClient) -> None:
    """Every projection shows every event stored so far (so that a ``min_position`` up to
    the head is answered at once, and a 503 would be a fault, not the machine's speed)."""

    async def wait() -> None:
        runtime = client.app.state.runtime
        async with runtime.pool.acquire() as conn:
            head = await event_log.head_position(conn)
        for projection in all_projections():
            reached = await runtime.waiter.wait_for(projection.name, head, CATCH_UP_S)
            assert reached, f"{projection.name} did not reach {head} in {CATCH_UP_S} s"

    client.blocking_portal.call(wait)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method.upper()) for path, item in spec["paths"].items() for method in item]


def _uuid_path_parameters(spec: dict[str, Any], path: str, method: str) -> list[str]:
    parameters = spec["paths"][path][method.lower()].get("parameters", [])
    return [
        p["name"]
        for p in parameters
        if p["in"] == "path" and p.get("schema", {}).get("format") == "uuid"
    ]


def _request(case: Any, token: str | None) -> dict[str, Any]:
    """The case as arguments of the test client (httpx)."""
    sent = case.as_transport_kwargs(base_url=BASE_URL)
    headers = dict(sent.get("headers") or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request: dict[str, Any] = {
        "method": sent["method"],
        "url": sent["url"],
        "headers": headers,
        "params": sent.get("params") or None,
    }
    if "json" in sent:
        request["content"] = json.dumps(sent["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif sent.get("data") is not None:
        data = sent["data"]
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    return request


def _with_real_ids(case: Any, data: st.DataObject, names: list[str], ids: list[str]) -> None:
    """Often, ids that exist instead of random ones: in the path and the body's ``*_id``."""
    pick = st.one_of(st.none(), st.sampled_from(ids))
    for name in names:
        chosen = data.draw(pick, label=name)
        if chosen is not None:
            case.path_parameters[name] = chosen
    if isinstance(case.body, dict):
        for key in sorted(case.body):
            if key.endswith("_id") and isinstance(case.body[key], str):
                chosen = data.draw(pick, label=f"body.{key}")
                if chosen is not None:
                    case.body[key] = chosen


def _spec_of_fresh_app() -> dict[str, Any]:
    """The document, from an app not started (for the test ids, at collection)."""
    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused"))
    spec: dict[str, Any] = app.openapi_schema.to_schema()
    return spec


OPERATIONS = _operations(_spec_of_fresh_app())


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_answer_is_documented_and_none_is_a_server_error(
    fuzz: Fuzz, path: str, method: str
) -> None:
    operation = fuzz.schema[path][method]
    tokens = {
        caller: None if who is None else _token(fuzz.client, *who)
        for caller, who in CALLERS.items()
    }
    names = _uuid_path_parameters(fuzz.spec, path, method)
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        _with_real_ids(case, data, names, fuzz.ids)
        for caller, token in tokens.items():  # one case, sent as each caller in turn
            if MIN_POSITION in (case.query or {}):
                _projections_caught_up(fuzz.client)
            request = _request(case, token)
            response = fuzz.client.request(**request)
            try:
                case.validate_response(response, checks=CHECKS, headers=request["headers"])
            except Exception as failure:
                failure.add_note(f"as {caller}: {request['method']} {request['url']}")
                raise

    run()
