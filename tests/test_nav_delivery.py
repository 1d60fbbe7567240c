"""NAV delivery outbox: each notification is POSTed to a real local receiver, signed, with
an idempotency key; failures are retried with backoff, dead rows are shown to the admin and
retried by them; an alert about an unacknowledged notification delivers it again.

The receiver is a real HTTP server on 127.0.0.1 that a test scripts answer by answer. Time
is driven through the app's clock (each poll of :func:`until` moves it past the backoff's
cap), never by sleeping out a backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.nav_delivery import backoff_s, signature
from backend.settings import Settings
from domain import alerts
from domain.application import FollowUpApplication
from domain.events import Actor, event_meta
from domain.municipal_services import Service
from projections.nav_outbox import DeliveryKind, delivery_id, enqueue_redelivery
from tests.api import assert_problem, post
from tests.rent_api import consent_to_nav, get_case, registered_tenant, rent_case, step
from tests.sync_server import free_port

SECRET = "test-secret-for-nav"
ADMIN = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "admin"}
CAP_S = 2.0


class Receiver:
    """NAV's endpoint: records every request it reads, then answers as scripted.

    ``script`` holds the next answers: an int (that status), ``"slow"`` (answer 200 after
    ``slow_s``, beyond the client's timeout) or ``"drop"`` (close the connection without
    answering: a 2xx lost on the way). With the script empty it answers ``default``.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int | str] = []
        self.default: int = 200
        self.slow_s = 1.5
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._lock:
                    receiver.requests.append((dict(self.headers.items()), body))
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "drop":
                    self.close_connection = True
                    return
                if answer == "slow":
                    time.sleep(receiver.slow_s)
                    answer = 200
                self.send_response(int(answer))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


def delivering(database: Any, clock: Any, receiver: Receiver, **settings: Any) -> TestClient:
    values: dict[str, Any] = {
        "nav_webhook_url": f"http://127.0.0.1:{receiver.port}/folgja/nav",
        "nav_webhook_secret": SECRET,
        "nav_delivery_timeout_s": 0.5,
        "nav_delivery_max_attempts": 10,
        "nav_delivery_backoff_base_s": 0.5,
        "nav_delivery_backoff_cap_s": CAP_S,
        "nav_delivery_poll_s": 0.05,
        **settings,
    }
    app = create_app(Settings(database_url=database.url, **values), database=database, clock=clock)
    return TestClient(app)


def notify_nav(client: TestClient) -> str:
    """A NAV notification about a new tenant's arrears; answers its id."""
    tenant_id = registered_tenant(client)
    consent_to_nav(client, tenant_id, uuid.uuid4())
    case_id = rent_case(client, tenant_id)
    step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
    return str(get_case(client, case_id)["nav_notices"][0]["notification_id"])


def deliveries(client: TestClient, state: str | None = None) -> list[dict[str, Any]]:
    query = f"?state={state}" if state else ""
    answer = client.get(f"/admin/nav-deliveries{query}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def until(
    what: Callable[[], Any], clock: Any = None, *, deadline_s: float = 30.0, step_s: float = 0.05
) -> Any:
    """Poll ``what`` until it answers something true; each poll moves the clock past the
    backoff's cap, so a retry is due at once. Fails at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        found = what()
        if found:
            return found
        assert time.monotonic() < end, "not reached before the deadline"
        if clock is not None:
            clock.advance(seconds=CAP_S)
        time.sleep(step_s)


def the_delivery(client: TestClient, notification_id: str, state: str) -> dict[str, Any] | None:
    return next(
        (d for d in deliveries(client, state) if d["notification_id"] == notification_id), None
    )


def test_a_notification_is_delivered_signed_with_its_key_and_only_what_nav_may_see(
    database, clock, receiver
):
    receiver.start()
    with delivering(database, clock, receiver) as client:
        notification_id = notify_nav(client)
        done = until(lambda: the_delivery(client, notification_id, "delivered"))

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    timestamp = headers["X-Folgja-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert headers["X-Folgja-Signature"] == "sha256=" + expected.hexdigest()
    assert abs(int(timestamp) - time.time()) < 60  # the wall clock, for NAV's freshness check
    assert headers["Idempotency-Key"] == done["delivery_id"]
    assert headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert set(sent) == {
        "delivery_id",
        "kind",
        "notification_id",
        "tenant_id",
        "trigger",
        "basis",
        "total_owed_nok",
        "sent_at",
    }
    assert (sent["notification_id"], sent["kind"], sent["trigger"], sent["basis"]) == (
        notification_id,
        "delivery",
        "arrears_reported",
        "consent",
    )
    assert sent["total_owed_nok"] == 8500
    assert (done["kind"], done["attempts"], done["last_error"]) == ("delivery", 1, None)
    # A signature over another body or timestamp differs (the receiver can check).
    assert signature(SECRET, timestamp, body + b" ") != headers["X-Folgja-Signature"]


def test_the_receiver_down_for_a_while_then_up_gets_everything(database, clock, receiver):
    with delivering(database, clock, receiver) as client:
        sent = [notify_nav(client) for _ in range(3)]

        def failing_again() -> bool:
            pending = deliveries(client, "pending")
            return len(pending) == 3 and all(d["attempts"] >= 2 for d in pending)

        until(failing_again, clock)
        assert {d["last_error"] for d in deliveries(client, "pending")} == {"ConnectError"}
        receiver.start()
        until(lambda: len(deliveries(client, "delivered")) == 3, clock)
        assert deliveries(client) == deliveries(client, "delivered")

    assert sorted(b["notification_id"] for b in receiver.bodies()) == sorted(sent)


def test_a_500_is_retried_with_the_same_key_until_a_200(database, clock, receiver):
    receiver.script = [500, 503]
    receiver.start()
    with delivering(database, clock, receiver) as client:
        notification_id = notify_nav(client)
        done = until(lambda: the_delivery(client, notification_id, "delivered"), clock)

    keys = [h["Idempotency-Key"] for h, _ in receiver.requests]
    assert keys == [done["delivery_id"]] * 3
    assert done["attempts"] == 3 and done["last_error"] is None


def test_an_answer_slower_than_the_timeout_is_retried(database, clock, receiver):
    receiver.script = ["slow"]
    receiver.start()
    with delivering(database, clock, receiver, nav_delivery_timeout_s=0.3) as client:
        notification_id = notify_nav(client)
        first = until(
            lambda: (d := the_delivery(client, notification_id, "pending")) and d["attempts"]
        )
        assert first == 1
        assert the_delivery(client, notification_id, "pending")["last_error"] == "ReadTimeout"
        done = until(lambda: the_delivery(client, notification_id, "delivered"), clock)

    assert done["attempts"] == 2
    assert len({h["Idempotency-Key"] for h, _ in receiver.requests}) == 1


def test_a_lost_answer_is_sent_again_and_recognised_by_its_key(database, clock, receiver):
    receiver.script = ["drop"]  # received and recorded, but the 2xx never arrives
    receiver.start()
    with delivering(database, clock, receiver) as client:
        notification_id = notify_nav(client)
        done = until(lambda: the_delivery(client, notification_id, "delivered"), clock)

    (first, _), (second, _) = receiver.requests
    assert first["Idempotency-Key"] == second["Idempotency-Key"] == done["delivery_id"]
    # The receiver sees one notification twice, and may drop the second by its key.
    assert len({b["notification_id"] for b in receiver.bodies()}) == 1
    assert done["attempts"] == 2


def test_dead_after_the_last_attempt_shown_to_the_admin_and_retried_by_them(
    database, clock, receiver
):
    receiver.default = 500
    receiver.start()
    with delivering(database, clock, receiver, nav_delivery_max_attempts=3) as client:
        notification_id = notify_nav(client)
        dead = until(lambda: the_delivery(client, notification_id, "dead"), clock)
        assert (dead["attempts"], dead["last_error"]) == (3, "500")
        assert deliveries(client, "pending") == []
        assert len(receiver.requests) == 3
        # Nothing more is sent to a dead delivery, however long one waits.
        for _ in range(5):
            clock.advance(seconds=3600)
            time.sleep(0.05)
        assert len(receiver.requests) == 3

        receiver.default = 200
        url = f"/admin/nav-deliveries/{dead['delivery_id']}/retry"
        retried = client.post(url, headers=ADMIN)
        assert retried.status_code == 200, retried.text
        assert (retried.json()["state"], retried.json()["attempts"]) == ("pending", 0)
        done = until(lambda: the_delivery(client, notification_id, "delivered"), clock)
        assert done["attempts"] == 1

        again = client.post(url, headers=ADMIN)
        assert_problem(again, 409, "delivery_id", "dead")
        unknown = client.post(f"/admin/nav-deliveries/{uuid.uuid4()}/retry", headers=ADMIN)
        assert_problem(unknown, 404, "delivery_id", "must_exist")
    assert {h["Idempotency-Key"] for h, _ in receiver.requests} == {dead["delivery_id"]}


def test_only_the_admin_sees_deliveries_and_bad_queries_name_the_field(database, clock, receiver):
    with delivering(database, clock, receiver) as client:
        lead = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "tiltaksteamet"}
        nav = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "nav"}
        for headers in (lead, nav):
            refused = client.get("/admin/nav-deliveries", headers=headers)
            assert_problem(refused, 403, "authorization", "role_required")
            refused = client.post(f"/admin/nav-deliveries/{uuid.uuid4()}/retry", headers=headers)
            assert_problem(refused, 403, "authorization", "role_required")
        bad = client.get("/admin/nav-deliveries?state=lost", headers=ADMIN)
        assert bad.status_code == 422 and "state" in bad.text, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        bad = client.get("/admin/nav-deliveries?cursor=nonsense", headers=ADMIN)
        assert_problem(bad, 422, "cursor", "valid_cursor")


def test_pages_of_deliveries(database, clock, receiver):
    # No receiver: everything stays pending.
    with delivering(database, clock, receiver) as client:
        for _ in range(3):
            notify_nav(client)
            clock.advance(minutes=1)
        until(lambda: len(deliveries(client, "pending")) == 3)
        first = client.get("/admin/nav-deliveries?limit=2", headers=ADMIN).json()
        cursor = first["next_cursor"]
        second = client.get(f"/admin/nav-deliveries?limit=2&cursor={cursor}", headers=ADMIN).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None
    ids = [d["delivery_id"] for d in first["items"] + second["items"]]
    assert len(set(ids)) == 3


def test_a_notification_whose_consent_was_withdrawn_is_not_sent(database, clock, receiver):
    with delivering(database, clock, receiver) as client:
        tenant_id = registered_tenant(client)
        consent_id = uuid.uuid4()
        consent_to_nav(client, tenant_id, consent_id)
        case_id = rent_case(client, tenant_id)
        step(client, case_id, "arrears", {"month": "2026-02", "amount_nok": 8500})
        notification_id = str(get_case(client, case_id)["nav_notices"][0]["notification_id"])
        until(lambda: (d := the_delivery(client, notification_id, "pending")) and d["attempts"])
        post(
            client,
            f"/tenants/{tenant_id}/consents/{consent_id}/withdrawal",
            {"withdrawn_on": "2026-03-06"},
        )
        receiver.start()
        dead = until(lambda: the_delivery(client, notification_id, "dead"), clock)
    assert dead["last_error"] == "basis_lapsed"
    assert receiver.requests == []


def test_an_unacknowledged_notification_alert_delivers_it_again_with_its_own_key(
    database, clock, receiver
):
    receiver.start()
    with delivering(database, clock, receiver) as client:
        notification_id = notify_nav(client)
        first = until(lambda: the_delivery(client, notification_id, "delivered"))
        finding = alerts.Finding(
            rule=alerts.AlertRule.NAV_NOTIFICATION_UNACKNOWLEDGED,
            subject_id=uuid.UUID(notification_id),
            period="2026-03-06",
            due_since=clock.now,
            tiers=((uuid.uuid4(),),),
        )
        actor = Actor(user_id=uuid.uuid4(), service=Service.OUTREACH_TEAM)
        raised = alerts.raise_alert(finding, event_meta(actor, None, clock.now))
        store = FollowUpApplication(database.eventsourcing_env())
        try:
            store.save(raised)
        finally:
            store.close()

        def redelivered() -> list[dict[str, Any]]:
            return [
                d
                for d in deliveries(client, "delivered")
                if d["notification_id"] == notification_id and d["kind"] == "redelivery"
            ]

        (again,) = until(redelivered)

    assert again["delivery_id"] != first["delivery_id"]
    assert [b["kind"] for b in receiver.bodies()] == ["delivery", "redelivery"]
    keys = [h["Idempotency-Key"] for h, _ in receiver.requests]
    assert keys == [first["delivery_id"], again["delivery_id"]]
    assert again["delivery_id"] == str(
        delivery_id(uuid.UUID(notification_id), DeliveryKind.REDELIVERY, raised.originator_id)
    )
    first_body, second_body = receiver.bodies()
    for field in ("notification_id", "tenant_id", "trigger", "basis", "total_owed_nok"):
        assert first_body[field] == second_body[field]


async def test_a_redelivery_is_enqueued_once_and_only_for_a_delivered_notification(pool):
    notification_id, alert_id = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    async with pool.acquire() as conn:
        assert await enqueue_redelivery(conn, notification_id, alert_id, at, 1) is None
        await conn.execute(
            """
            INSERT INTO nav_outbox (delivery_id, notification_id, kind, payload,
                                    next_attempt_at, created_at, position)
            VALUES ($1, $2, 'delivery', '{"notification_id": "x"}', $3, $3, 1)
            """,
            delivery_id(notification_id, DeliveryKind.DELIVERY),
            notification_id,
            at,
        )
        key = await enqueue_redelivery(conn, notification_id, alert_id, at, 2)
        assert key == delivery_id(notification_id, DeliveryKind.REDELIVERY, alert_id)
        assert await enqueue_redelivery(conn, notification_id, alert_id, at, 2) == key
        rows = await conn.fetch(
            "SELECT kind, payload, state FROM nav_outbox WHERE notification_id = $1 ORDER BY kind",
            notification_id,
        )
    assert [(r["kind"], r["state"]) for r in rows] == [
        ("delivery", "pending"),
        ("redelivery", "pending"),
    ]
    assert rows[0]["payload"] == rows[1]["payload"]


async def test_two_workers_claim_disjoint_rows(database, pool, receiver):
    """SKIP LOCKED: two processes' claims at once send each row once."""
    from backend.nav_delivery import CLAIM

    at = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    async with pool.acquire() as conn:
        for n in range(4):
            await conn.execute(
                """
                INSERT INTO nav_outbox (delivery_id, notification_id, kind, payload,
                                        next_attempt_at, created_at, position)
                VALUES ($1, $2, 'delivery', '{}', $3, $3, $4)
                """,
                uuid.uuid4(),
                uuid.uuid4(),
                at,
                n,
            )
            await conn.execute(
                """
                INSERT INTO nav_inbox (notification_id, tenant_id, rent_case_id, trigger,
                                       basis, total_owed_nok, sent_at, position)
                SELECT notification_id, gen_random_uuid(), gen_random_uuid(),
                       'eviction_warning', 'husleieloven_9_11', 0, $1, $2
                FROM nav_outbox WHERE position = $2
                """,
                at,
                n,
            )
    one: asyncpg.Connection = await asyncpg.connect(database.url)
    two: asyncpg.Connection = await asyncpg.connect(database.url)
    try:
        first = one.transaction()
        await first.start()
        claimed_one = await one.fetch(CLAIM, at, at.date(), 3)
        claimed_two = await two.fetch(CLAIM, at, at.date(), 3)
        await first.rollback()
    finally:
        await one.close()
        await two.close()
    assert len(claimed_one) == 3 and len(claimed_two) == 1
    assert not {r["delivery_id"] for r in claimed_one} & {r["delivery_id"] for r in claimed_two}


def test_full_jitter_backoff_stays_under_its_growing_ceiling() -> None:
    assert backoff_s(1, 30, 3600, lambda: 1.0) == 30
    assert backoff_s(3, 30, 3600, lambda: 1.0) == 120
    assert backoff_s(20, 30, 3600, lambda: 1.0) == 3600
    assert backoff_s(500, 30, 3600, lambda: 1.0) == 3600
    assert backoff_s(3, 30, 3600, lambda: 0.0) == 0
    assert backoff_s(3, 30, 3600, lambda: 0.5) == 60


async def test_the_outbox_is_not_rebuilt(database):
    from projections.nav_outbox import NavOutboxProjection
    from projections.rebuild import RebuildRefused, rebuild
    from projections.registry import all_projections, rebuildable

    outcome = await rebuild(database.url, [NavOutboxProjection()])
    assert isinstance(outcome["nav_outbox"], RebuildRefused)
    assert [p.name for p in all_projections() if not rebuildable(p)] == ["nav_outbox"]
