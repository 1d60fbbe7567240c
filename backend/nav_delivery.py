"""NAV delivery: POST each pending row of the outbox (``projections.nav_outbox``) to NAV.

Each request carries:

* a JSON body: the delivery's id and kind, and the notification's facts as NAV's inbox
  shows them (id, tenant id, trigger, basis, amount owed, sent at), never a name or a note;
* ``Idempotency-Key``: the delivery's id, the same on every attempt of that delivery, so
  the receiver recognises a repeat (at-least-once: a delivery whose 2xx answer was lost is
  sent again);
* ``X-Folgja-Timestamp`` (Unix seconds, the wall clock) and ``X-Folgja-Signature:
  sha256=<hex>``, the HMAC-SHA256 of ``f"{timestamp}.{body}"`` under the shared secret.

The worker claims the due rows with ``FOR UPDATE SKIP LOCKED`` in one transaction, POSTs
them, and writes each outcome in that same transaction: a crash while sending rolls the
claim back and the rows are sent again, with the same key. Only a 2xx answer marks a row
delivered. Any other outcome (no connection, a timeout, any other status, 409 and other
4xx included) is a failed attempt: the next is due after a full-jitter exponential
backoff, and after ``max_attempts`` failures the row is ``dead`` until an admin retries it.

A row is sent only while NAV may read its notification (its basis, the law or a consent
in force, still holds in NAV's inbox); a row whose basis has lapsed is made dead
(``basis_lapsed``) without being sent. A row whose notification NAV's inbox does not show
yet waits for it.

It runs in the process that leads the scheduler (decision 66); ``SKIP LOCKED`` keeps two
workers (a leader change, a second server) from sending a row at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import msgspec

from backend.settings import Settings
from domain.events import local_date
from projections.nav_inbox import BASIS_HOLDS

log = logging.getLogger(__name__)

# Rows one claim takes (sent concurrently, in one transaction).
CLAIM_BATCH = 20

CLAIM = f"""
    SELECT o.delivery_id, o.kind, o.payload, o.attempts,
           {BASIS_HOLDS.format(today="$2::date")} AS basis_holds
    FROM nav_outbox o JOIN nav_inbox ON nav_inbox.notification_id = o.notification_id
    WHERE o.state = 'pending' AND o.next_attempt_at <= $1
    ORDER BY o.next_attempt_at, o.delivery_id
    LIMIT $3
    FOR UPDATE OF o SKIP LOCKED
"""
DELIVERED = """
    UPDATE nav_outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = $2,
                          last_error = NULL
    WHERE delivery_id = $1
"""
FAILED = """
    UPDATE nav_outbox SET state = $2, attempts = attempts + 1, next_attempt_at = $3,
                          last_error = $4
    WHERE delivery_id = $1
"""
LAPSED = """
    UPDATE nav_outbox SET state = 'dead', last_error = 'basis_lapsed' WHERE delivery_id = $1
"""


def backoff_s(failures: int, base_s: float, cap_s: float, rand: Callable[[], float]) -> float:
    """Full jitter: a random wait up to ``min(cap, base * 2**(failures - 1))`` seconds."""
    ceiling = min(cap_s, base_s * 2.0 ** min(failures - 1, 64))
    return rand() * ceiling


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def request_of(row: asyncpg.Record, secret: str, now_s: float) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt of a delivery."""
    payload: dict[str, Any] = msgspec.json.decode(row["payload"])
    body = msgspec.json.encode(
        {"delivery_id": str(row["delivery_id"]), "kind": row["kind"], **payload}
    )
    timestamp = str(int(now_s))
    return body, {
        "Content-Type": "application/json",
        "Idempotency-Key": str(row["delivery_id"]),
        "X-Folgja-Timestamp": timestamp,
        "X-Folgja-Signature": signature(secret, timestamp, body),
    }


class NavDeliveryWorker:
    """Sends the outbox's due rows while ``leading()`` says this process leads."""

    def __init__(
        self,
        database_url: str,
        settings: Settings,
        clock: Callable[[], datetime],
        leading: Callable[[], bool],
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._url = database_url
        self._settings = settings
        self._clock = clock
        self._leading = leading
        self.rand = rand
        self._pool: asyncpg.Pool | None = None
        self._client: httpx.AsyncClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        # Its own connection: a claim holds one while its requests are under way, and
        # must never wait for (or starve) the request handlers.
        self._pool = await asyncpg.create_pool(self._url, min_size=0, max_size=1)
        self._client = httpx.AsyncClient(
            timeout=self._settings.nav_delivery_timeout_s, follow_redirects=False
        )
        self._task = asyncio.create_task(self._run(), name="nav-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def wake(self) -> None:
        """Look for due rows now rather than at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            sent = 0
            if self._leading():
                try:
                    sent = await self.deliver_due()
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    # The database went away, a rebuild swapped NAV's inbox: next poll.
                    log.warning("NAV delivery: claim failed (%s)", type(error).__name__)
            if sent >= CLAIM_BATCH:
                continue  # more may be due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.nav_delivery_poll_s)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Claim the due rows, send them, record each outcome; answers the rows claimed."""
        assert self._pool is not None and self._client is not None
        async with self._pool.acquire() as conn, conn.transaction():
            now = self._clock()
            rows = await conn.fetch(CLAIM, now, local_date(now), CLAIM_BATCH)
            lapsed = [r for r in rows if not r["basis_holds"]]
            sendable = [r for r in rows if r["basis_holds"]]
            if lapsed:
                await conn.executemany(LAPSED, [(r["delivery_id"],) for r in lapsed])
            outcomes = await asyncio.gather(*(self._attempt(r) for r in sendable))
            done = self._clock()
            delivered, failed = [], []
            for row, error in zip(sendable, outcomes, strict=True):
                if error is None:
                    delivered.append((row["delivery_id"], done))
                    continue
                failures = row["attempts"] + 1
                dead = failures >= self._settings.nav_delivery_max_attempts
                wait = backoff_s(
                    failures,
                    self._settings.nav_delivery_backoff_base_s,
                    self._settings.nav_delivery_backoff_cap_s,
                    self.rand,
                )
                failed.append(
                    (
                        row["delivery_id"],
                        "dead" if dead else "pending",
                        done + timedelta(seconds=wait),
                        error,
                    )
                )
                if dead:
                    log.warning("NAV delivery %s is dead (%s)", row["delivery_id"], error)
            if delivered:
                await conn.executemany(DELIVERED, delivered)
            if failed:
                await conn.executemany(FAILED, failed)
        return len(rows)

    async def _attempt(self, row: asyncpg.Record) -> str | None:
        """POST one delivery; None on a 2xx, else the status code or the exception class."""
        assert self._client is not None
        body, headers = request_of(row, self._settings.nav_webhook_secret, time.time())
        try:
            response = await self._client.post(
                self._settings.nav_webhook_url, content=body, headers=headers
            )
        except Exception as error:  # refused, reset, timed out: the class, nothing more
            return type(error).__name__
        if 200 <= response.status_code < 300:
            return None
        return str(response.status_code)
