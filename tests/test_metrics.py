"""GET /metrics: the log head and each projection's position, lag and parked events, the
scheduled jobs' runs, failures and last success, and request count and latency per route
template.

Prometheus text format, parsed here line by line; lag also stays in /health.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable

import asyncpg
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.database import DatabaseUrl
from backend.settings import Settings
from domain.application import FollowUpApplication
from projections import runner as runner_module
from projections import tracking
from projections.rebuild import _prepare, schema_for
from projections.registry import all_projections
from projections.risk_timeline import RiskTimelineProjection
from tests.api import post
from tests.conftest import Clock
from tests.projection_helpers import write_tenants

TIMELINE = RiskTimelineProjection.name
Samples = dict[tuple[str, str | None], int]
HTTP = "folgja_http_"
JOBS = "folgja_scheduler_"


def parse(text: str) -> Samples:
    """The projection gauges' ``name{projection="x"} value`` lines; every metric declared
    by HELP and TYPE first. Request and job metrics (``folgja_http_*``,
    ``folgja_scheduler_*``) are left to :func:`request_series`."""
    samples: Samples = {}
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind == "gauge" or name.startswith((HTTP, JOBS)), line
            declared.add(name)
            continue
        if line.startswith("#") or not line:
            continue
        series, value = line.rsplit(" ", 1)
        name, _, labels = series.partition("{")
        if name.startswith((HTTP, JOBS)):
            assert any(name.startswith(d) for d in declared), line  # _bucket, _total, ...
            continue
        assert name in declared, line
        projection = None
        if labels:
            key, _, quoted = labels.rstrip("}").partition("=")
            assert key == "projection"
            projection = quoted.strip('"')
        samples[(name, projection)] = int(value)
    return samples


def metrics(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def _until(condition: Callable[[], bool], what: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_lag_and_parked_counts_while_no_runner_runs(
    app: FollowUpApplication, database: DatabaseUrl, clock: Clock
) -> None:
    settings = Settings(database_url=database.url, run_projections=False, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        empty = metrics(client)
        assert empty[("folgja_event_log_head", None)] == 0
        write_tenants(app, 10)  # 51 events
        asyncio.run(
            tracking_park(database, TIMELINE, 7, "some.topic", "ValueError: a bug"),
        )
        found = metrics(client)
        names = [p.name for p in all_projections()]
        assert found[("folgja_event_log_head", None)] == 51
        for name in names:
            assert found[("folgja_projection_position", name)] == 0
            assert found[("folgja_projection_lag_events", name)] == 51
            assert found[("folgja_projection_runner_active", name)] == 0
            parked = 1 if name == TIMELINE else 0
            assert found[("folgja_projection_parked_events", name)] == parked
        # The same in /health.
        health = client.get("/health").json()
        assert {p["projection"]: (p["lag"], p["parked"]) for p in health["projections"]} == {
            name: (51, int(name == TIMELINE)) for name in names
        }


async def tracking_park(
    database: DatabaseUrl, projection: str, position: int, topic: str, error: str
) -> None:
    conn = await asyncpg.connect(database.url)
    try:
        await tracking.park(conn, projection, position, topic, error)
    finally:
        await conn.close()


def test_lag_falls_to_zero_as_the_runner_catches_up(
    app: FollowUpApplication,
    database: DatabaseUrl,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)
    write_tenants(app, 20)  # 102 events, before the server starts
    settings = Settings(database_url=database.url, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        names = [p.name for p in all_projections()]

        def caught_up() -> bool:
            found = metrics(client)
            return all(found[("folgja_projection_lag_events", n)] == 0 for n in names)

        _until(caught_up, "every projection to catch up")
        found = metrics(client)
        for name in names:
            assert found[("folgja_projection_position", name)] == 102
            assert found[("folgja_projection_runner_active", name)] == 1
            assert found[("folgja_projection_parked_events", name)] == 0


def test_a_rebuild_left_behind_shows_its_position(database: DatabaseUrl, clock: Clock) -> None:
    async def leave_a_rebuild() -> None:
        schema = schema_for(TIMELINE)
        conn = await asyncpg.connect(
            database.url, server_settings={"search_path": f"{schema}, public"}
        )
        try:  # what a rebuild that died after 40 events leaves
            await _prepare(conn, RiskTimelineProjection(), schema)
            await tracking.ensure_row(conn, TIMELINE)
            await tracking.advance(conn, TIMELINE, 0, 40, announce=False)
        finally:
            await conn.close()

    asyncio.run(leave_a_rebuild())
    settings = Settings(database_url=database.url, run_projections=False, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        assert metrics(client)[("folgja_projection_rebuild_position", TIMELINE)] == 40
        assert client.get("/health").json()["rebuilds"] == [
            {"projection": TIMELINE, "schema": "rebuild_risk_timeline", "position": 40}
        ]


def request_series(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every sample of one request metric, by its set of labels."""
    found: dict[frozenset[tuple[str, str]], float] = {}
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        labels = series[len(name) + 1 : -1]
        pairs = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels)
        found[frozenset(pairs)] = float(value)
    return found


def test_requests_are_counted_per_route_template_never_per_path(client: TestClient) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    for tenant_id in (first, second):
        post(client, "/tenants", {"tenant_id": str(tenant_id), "full_name": "Test Beboer"})
    for tenant_id in (first, second):
        response = client.get(f"/tenants/{tenant_id}")
        assert response.status_code == 200, response.text
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    parse(text)  # the projection gauges are all still there, well-formed
    template = {("method", "GET"), ("path", "/tenants/{tenant_id}"), ("status_code", "200")}
    counts = request_series(text, "folgja_http_requests_total")
    [count] = [v for labels, v in counts.items() if template <= labels]
    assert count == 2
    created = {("method", "POST"), ("path", "/tenants"), ("status_code", "201")}
    assert [v for labels, v in counts.items() if created <= labels] == [2]
    # The latency histogram of the same template saw the same two requests.
    latencies = request_series(text, "folgja_http_request_duration_seconds_count")
    assert [v for labels, v in latencies.items() if template <= labels] == [2]
    buckets = request_series(text, "folgja_http_request_duration_seconds_bucket")
    assert [v for labels, v in buckets.items() if template | {("le", "+Inf")} <= labels] == [2]
    # No raw path, no id: labels are templates only.
    for tenant_id in (first, second):
        assert str(tenant_id) not in text
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text)


def test_each_app_counts_only_its_own_requests(database: DatabaseUrl, clock: Clock) -> None:
    settings = Settings(database_url=database.url, run_projections=False, run_scheduler=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as one:
        assert one.get("/ready").status_code == 200
        assert one.get("/ready").status_code == 200
    with TestClient(create_app(settings, database=database, clock=clock)) as other:
        assert other.get("/ready").status_code == 200
        counts = request_series(other.get("/metrics").text, "folgja_http_requests_total")
        ready = {("method", "GET"), ("path", "/ready"), ("status_code", "200")}
        assert [v for labels, v in counts.items() if ready <= labels] == [1]


def test_each_job_shows_its_runs_failures_and_last_success(
    database: DatabaseUrl, clock: Clock
) -> None:
    settings = Settings(database_url=database.url, run_projections=False)
    with TestClient(create_app(settings, database=database, clock=clock)) as client:
        scheduler = client.app.state.runtime.scheduler
        names = scheduler.jobs.names()
        before = client.get("/metrics").text
        parse(before)  # the projection gauges are still well-formed beside the job series
        assert request_series(before, "folgja_scheduler_job_runs_total") == {
            frozenset({("job", name)}): 0.0 for name in names
        }
        success = request_series(before, "folgja_scheduler_job_last_success_timestamp_seconds")
        assert set(success.values()) == {0.0}  # never yet
        assert "# TYPE folgja_scheduler_job_runs_total counter" in before
        assert "\nfolgja_scheduler_leader 1.0\n" in before  # this app's scheduler elected itself

        started = time.time()
        assert client.blocking_portal.call(scheduler.tick) is True
        assert client.blocking_portal.call(scheduler.tick) is True
        after = client.get("/metrics").text
        assert request_series(after, "folgja_scheduler_job_runs_total") == {
            frozenset({("job", name)}): 2.0 for name in names
        }
        assert request_series(after, "folgja_scheduler_job_failures_total") == {
            frozenset({("job", name)}): 0.0 for name in names
        }
        success = request_series(after, "folgja_scheduler_job_last_success_timestamp_seconds")
        assert len(success) == len(names)
        assert all(value >= started - 1 for value in success.values())
    # Not leading: a process without a scheduler says so.
    off = Settings(database_url=database.url, run_projections=False, run_scheduler=False)
    with TestClient(create_app(off, database=database, clock=clock)) as client:
        text = client.get("/metrics").text
        assert "\nfolgja_scheduler_leader 0.0\n" in text
        assert request_series(text, "folgja_scheduler_job_runs_total") == {
            frozenset({("job", name)}): 2.0 for name in names
        }
