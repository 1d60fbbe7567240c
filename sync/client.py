"""The reference client: a field tablet that works offline and syncs over HTTP.

A tablet simulator speaking sync protocol v1 (docs/sync-protocol.md), used by the tests
and the benchmark. It imports nothing from ``backend/``: only the wire structs of
:mod:`sync.protocol`, ``msgspec`` and an ``httpx.Client`` (the tests pass Litestar's
``TestClient``, which is one). Its state lives in a SQLite file (:mod:`sync.client_store`).

**Killed between any two steps.** Every step that changes the file is one SQLite
transaction: :meth:`TabletClient.record` (the item and the next ``seq``), storing a push's
outcomes, and storing a pull page (flags, ``flags_through``, purges and the purge
acknowledgements to send, tenants, ``decided_through`` and the cursor, together). A new
``TabletClient`` on the same file continues where the last committed step left off:

* killed before a push's outcomes are stored: the items are sent again and the server
  answers the outcomes it stored (the same item is never applied twice);
* killed before a pull page is stored: the old cursor is sent again; the server counts a
  page's tenants as held only once the cursor that came with the page comes back, so the
  page is sent again, never lost;
* killed after purging a tenant but before the server heard of it: the acknowledgement
  waits in ``purge_acks`` and goes with the next pull.

**Errors.** A refused request raises :class:`SyncRefused` (its problem+json kept) and
changes nothing locally. A ``422`` on ``cursor`` with rule ``known_cursor`` (the server no
longer knows the cursor) makes a clean resync: the cursor and every local tenant are
dropped and the pull is made again without a cursor; the outbox is never touched by it.

**Server or database away.** A ``503`` (PostgreSQL down or restarting: nothing was
half-written) and a connection that fails (refused, reset, cut before the answer) are
tried again with the same request, after pauses that grow (full jitter: a random pause up
to a doubling bound, at least the ``Retry-After`` the server asked for), for up to
``retry_for`` seconds; then the last error is raised. The same request is always safe to
send again: a push is answered the stored outcomes, a pull with the same cursor sends the
page again.

**Offline lease run out.** A ``401`` with ``Folgja-Device-Action: reauthenticate`` raises
:class:`ReauthenticationNeeded` and changes nothing: the worker signs in with the
password on the device, and the outbox is then pushed as it was.

**Revoked device.** A ``401`` with ``Folgja-Device-Action: wipe`` deletes everything on the
tablet, *including unsent outbox items*, and raises :class:`DeviceWiped`. The choice is
deliberate: revocation is for a lost or stolen tablet, and unsent items (visit notes,
concerns) are tenant data as sensitive as the tenants themselves; a thief must not keep
them by keeping the tablet offline. The server keeps every item it received; what was
never sent is lost with the device, as with a tablet dropped in the sea.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import httpx
import msgspec

from sync.client_store import ClientStore
from sync.protocol import (
    DEFAULT_PAGE_TENANTS,
    MAX_ITEMS_PER_PUSH,
    MAX_PURGED_PER_PULL,
    PROTOCOL_VERSION,
    ItemCommand,
    ItemStatus,
    PullResponse,
    PushResponse,
    SafetyFlagRecord,
    TenantRecord,
    TimelineRecord,
    holdings_checksum,
)

BASE = f"/sync/v{PROTOCOL_VERSION}"
DEVICE_ACTION_HEADER = "Folgja-Device-Action"
# Outcomes that are final: the item is not sent again.
DECIDED = frozenset(s.value for s in ItemStatus if s is not ItemStatus.WAITING)
# sync() stops after this many pulls in one go (a guard, never reached in practice).
MAX_PULLS_PER_SYNC = 10_000
# Pauses between tries of a request the server could not answer (503, no connection).
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
UNAVAILABLE = 503

T = TypeVar("T")
Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]


class SyncRefused(Exception):
    """The server refused a request (a problem+json); nothing was stored locally."""

    def __init__(self, status: int, problem: Any) -> None:
        super().__init__(f"{status}: {problem}")
        self.status = status
        self.problem = problem

    def rule(self) -> tuple[str, str] | None:
        """The (field, rule) of the first error named, if any."""
        try:
            first = self.problem["errors"][0]
            return str(first["field"]), str(first["rule"])
        except (KeyError, IndexError, TypeError):
            return None


class DeviceWiped(SyncRefused):
    """The device was revoked: everything on it has been deleted."""


class ReauthenticationNeeded(SyncRefused):
    """The device's offline lease ran out (401, ``Folgja-Device-Action: reauthenticate``):
    the worker must sign in with the password on the device. Nothing on the tablet was
    changed; the outbox goes, unchanged, with the first sync after the sign-in."""


class OutboxEntry(msgspec.Struct, frozen=True, kw_only=True):
    item_id: UUID
    seq: int
    command: dict[str, Any]
    occurred_at: datetime
    tenant_version: int | None
    # None: not answered yet; ``waiting``; or a final status (see DECIDED).
    status: str | None
    outcome: dict[str, Any] | None


class TabletClient:
    """A tablet: an outbox of items recorded offline, and the tenants and flags it holds."""

    def __init__(
        self,
        http: httpx.Client,
        db_path: str,
        headers: Headers,
        *,
        page_size: int = DEFAULT_PAGE_TENANTS,
        clock: Callable[[], datetime] | None = None,
        retry_for: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        """``retry_for``: how long to keep trying a request the server could not answer
        (503, a failed connection), in seconds; 0 tries once."""
        self.http = http
        self.retry_for = retry_for
        self._rng = rng or random.Random()
        # How many tries failed and were made again (for tests and logs).
        self.retries = 0
        # How many clean resyncs this client made (the server's instruction, or a cursor
        # it no longer knows), and how many outbox items it gave new sequence numbers.
        self.resyncs = 0
        self.resync_reasons: list[str] = []
        self.renumbered = 0
        self.store = ClientStore(db_path)
        self._headers = headers
        self.page_size = page_size
        self.clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        self.store.close()

    # --- recording offline ----------------------------------------------------------

    def record(
        self,
        command: Mapping[str, Any],
        tenant_version: int | None = None,
        *,
        occurred_at: datetime | None = None,
        item_id: UUID | None = None,
    ) -> UUID:
        """Put a command (``{"type": "complete_visit", ...}``) in the outbox; its id."""
        msgspec.convert(dict(command), ItemCommand)  # a command the protocol knows
        item_id = item_id or uuid.uuid4()
        when = occurred_at or self.clock()
        with self.store.transaction() as db:
            # Never a seq the server has decided: after an old copy of the store was put
            # back, the server knows seqs this file never handed out.
            (seq,) = db.execute("SELECT max(next_seq, decided_through + 1) FROM device").fetchone()
            db.execute(
                "INSERT INTO outbox (item_id, seq, command, occurred_at, tenant_version) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    str(item_id),
                    seq,
                    msgspec.json.encode(dict(command)).decode(),
                    when.isoformat(),
                    tenant_version,
                ),
            )
            db.execute("UPDATE device SET next_seq = ?", (seq + 1,))
        return item_id

    # --- push -----------------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[OutboxEntry]:
        """Items not yet decided by the server, in ``seq`` order."""
        return [e for e in self.outbox() if e.status not in DECIDED][:limit]

    def send_push(self, entries: Sequence[OutboxEntry]) -> PushResponse:
        """Send these items; store nothing (a response lost on the way)."""
        body = {
            "items": [
                {
                    "item_id": str(e.item_id),
                    "seq": e.seq,
                    "tenant_version": e.tenant_version,
                    "occurred_at": e.occurred_at.isoformat(),
                    "command": e.command,
                }
                for e in entries
            ],
            "device_time": self.clock().isoformat(),
        }
        return self._post("/push", body, PushResponse)

    def store_push(self, response: PushResponse) -> list[dict[str, Any]]:
        """Store a push response's outcomes (one transaction); them, as plain dicts."""
        outcomes = [msgspec.to_builtins(o) for o in response.outcomes]
        with self.store.transaction() as db:
            for outcome in outcomes:
                db.execute(
                    "UPDATE outbox SET status = ?, outcome = ? WHERE item_id = ? "
                    "AND (status IS NULL OR status = ?)",
                    (
                        outcome["status"],
                        msgspec.json.encode(outcome).decode(),
                        outcome["item_id"],
                        ItemStatus.WAITING.value,
                    ),
                )
            db.execute(
                "UPDATE device SET decided_through = max(decided_through, ?)",
                (response.decided_through,),
            )
        return outcomes

    def push(self, entries: Sequence[OutboxEntry] | None = None) -> list[dict[str, Any]]:
        """Send undecided items (or these), at most MAX_ITEMS_PER_PUSH a request.

        An item the server refuses because its ``seq`` is another item's there (only after
        an old copy of the store was put back: the server has items this copy never
        numbered) gets a new ``seq`` after every one the device knows of, with every item
        recorded after it, and is sent again: it was never stored, and is never dropped.
        """
        todo = list(self.pending() if entries is None else entries)
        outcomes: list[dict[str, Any]] = []
        while todo:
            batch = todo[:MAX_ITEMS_PER_PUSH]
            try:
                response = self.send_push(batch)
            except SyncRefused as refused:
                taken = self._seq_taken(refused, batch)
                if taken is None:
                    raise
                self._renumber_from(taken)
                ids = {e.item_id for e in todo}
                todo = [e for e in self.pending() if e.item_id in ids]
                continue
            outcomes.extend(self.store_push(response))
            todo = todo[MAX_ITEMS_PER_PUSH:]
        return outcomes

    @staticmethod
    def _seq_taken(refused: SyncRefused, batch: Sequence[OutboxEntry]) -> int | None:
        """The seq of the item the server refused as ``one_item_per_seq`` (None: another
        refusal)."""
        rule = refused.rule()
        if refused.status != 422 or rule is None or rule[1] != "one_item_per_seq":
            return None
        field = rule[0]
        if not (field.startswith("items[") and field.endswith("].seq")):
            return None
        n = int(field.removeprefix("items[").removesuffix("].seq"))
        return batch[n].seq if 0 <= n < len(batch) else None

    def _renumber_from(self, seq: int) -> None:
        """Give the never-answered items from ``seq`` on new seqs after every seq known,
        in their order (one transaction)."""
        with self.store.transaction() as db:
            (start,) = db.execute(
                "SELECT max(next_seq, decided_through + 1) FROM device"
            ).fetchone()
            rows = db.execute(
                "SELECT item_id FROM outbox WHERE seq >= ? AND status IS NULL ORDER BY seq",
                (seq,),
            ).fetchall()
            for n, (item_id,) in enumerate(rows):
                db.execute("UPDATE outbox SET seq = ? WHERE item_id = ?", (start + n, item_id))
            db.execute("UPDATE device SET next_seq = ?", (start + len(rows),))
        self.renumbered += len(rows)

    # --- pull -----------------------------------------------------------------------

    def fetch_page(self) -> PullResponse:
        """Ask for the next page; store nothing (a tablet killed before storing it)."""
        cursor, flags_through, _ = self._device()
        try:
            page = self._post("/pull", self._pull_body(cursor, flags_through), PullResponse)
        except DeviceWiped:
            raise
        except SyncRefused as refused:
            if cursor is None or refused.rule() != ("cursor", "known_cursor"):
                raise
            self.resync(why=f"known_cursor {cursor}")
            return self._post("/pull", self._pull_body(None, flags_through), PullResponse)
        if not page.resync:
            return page
        # What this tablet holds is not what the server sent it (a damaged store, an old
        # copy put back): replace all of it, flags included; the outbox stays.
        self.resync(flags=True, why="checksum")
        return self._post("/pull", self._pull_body(None, 0), PullResponse)

    def _pull_body(self, cursor: str | None, flags_through: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "flags_through": flags_through,
            "purged": self.purge_acks()[:MAX_PURGED_PER_PULL],
            "limit": self.page_size,
            "device_time": self.clock().isoformat(),
        }
        if cursor is not None:
            body["cursor"] = cursor
            body["checksum"] = self.checksum()
        return body

    def checksum(self) -> str:
        """:func:`sync.protocol.holdings_checksum` of the tenants this tablet holds."""
        rows = self.store.db.execute(
            "SELECT tenant_id, json_extract(record, '$.version') FROM tenants"
        ).fetchall()
        return holdings_checksum((UUID(t), int(v)) for t, v in rows)

    def store_page(self, page: PullResponse, acked: Sequence[str] = ()) -> None:
        """Store a page with its cursor, in one transaction."""
        with self.store.transaction() as db:
            for flag in page.safety_flags:
                self._store_flag(db, flag)
            for done in acked:
                db.execute("DELETE FROM purge_acks WHERE tenant_id = ?", (done,))
            for gone in page.purge:
                db.execute("DELETE FROM tenants WHERE tenant_id = ?", (str(gone),))
                db.execute("INSERT OR IGNORE INTO purge_acks (tenant_id) VALUES (?)", (str(gone),))
            for tenant in page.tenants:
                self._store_tenant(db, tenant)
            db.execute(
                "UPDATE device SET cursor = ?, flags_through = max(flags_through, ?), "
                "decided_through = max(decided_through, ?)",
                (page.cursor, page.flags_through, page.decided_through),
            )

    def pull_page(self) -> bool:
        """Pull one page and store it; whether more pages follow."""
        acked = self.purge_acks()[:MAX_PURGED_PER_PULL]
        page = self.fetch_page()
        self.store_page(page, acked)
        return page.has_more

    def sync(self) -> None:
        """Push, then pull until no page follows and no purge is left unacknowledged."""
        self.push()
        for _ in range(MAX_PULLS_PER_SYNC):
            if not self.pull_page() and not self.purge_acks():
                return
        raise RuntimeError("sync did not finish")

    def resync(self, *, flags: bool = False, why: str = "asked") -> None:
        """Drop the cursor and every tenant (a clean resync), and with ``flags`` every flag
        and ``flags_through`` too; the outbox stays."""
        with self.store.transaction() as db:
            db.execute("DELETE FROM tenants")
            db.execute("DELETE FROM purge_acks")
            db.execute("UPDATE device SET cursor = NULL")
            if flags:
                db.execute("DELETE FROM flags")
                db.execute("UPDATE device SET flags_through = 0")
        self.resyncs += 1
        self.resync_reasons.append(why)

    def wipe(self) -> None:
        """Delete everything on the tablet (the device was revoked)."""
        with self.store.transaction() as db:
            for table in ("outbox", "tenants", "flags", "purge_acks"):
                db.execute(f"DELETE FROM {table}")
            db.execute("UPDATE device SET cursor = NULL, flags_through = 0, decided_through = 0")

    # --- readers --------------------------------------------------------------------

    def outbox(self) -> list[OutboxEntry]:
        rows = self.store.db.execute(
            "SELECT item_id, seq, command, occurred_at, tenant_version, status, outcome "
            "FROM outbox ORDER BY seq"
        ).fetchall()
        return [
            OutboxEntry(
                item_id=UUID(r[0]),
                seq=r[1],
                command=msgspec.json.decode(r[2]),
                occurred_at=datetime.fromisoformat(r[3]),
                tenant_version=r[4],
                status=r[5],
                outcome=None if r[6] is None else msgspec.json.decode(r[6]),
            )
            for r in rows
        ]

    def tenant_ids(self) -> set[UUID]:
        return {UUID(r[0]) for r in self.store.db.execute("SELECT tenant_id FROM tenants")}

    def tenant(self, tenant_id: UUID) -> TenantRecord | None:
        row = self.store.db.execute(
            "SELECT record FROM tenants WHERE tenant_id = ?", (str(tenant_id),)
        ).fetchone()
        return None if row is None else msgspec.json.decode(row[0], type=TenantRecord)

    def flags(self) -> dict[UUID, SafetyFlagRecord]:
        """The active safety flag of each flagged address."""
        return {
            UUID(r[0]): msgspec.json.decode(r[1], type=SafetyFlagRecord)
            for r in self.store.db.execute("SELECT dwelling_id, record FROM flags")
        }

    def purge_acks(self) -> list[str]:
        rows = self.store.db.execute("SELECT tenant_id FROM purge_acks ORDER BY tenant_id")
        return [r[0] for r in rows]

    @property
    def cursor(self) -> str | None:
        return self._device()[0]

    @property
    def flags_through(self) -> int:
        return self._device()[1]

    @property
    def decided_through(self) -> int:
        return self._device()[2]

    # --- internals ------------------------------------------------------------------

    def _device(self) -> tuple[str | None, int, int]:
        row = self.store.db.execute(
            "SELECT cursor, flags_through, decided_through FROM device"
        ).fetchone()
        return row[0], row[1], row[2]

    def _send(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST, tried again while the server cannot answer (see the module's text)."""
        deadline = time.monotonic() + self.retry_for
        bound = RETRY_FIRST_S
        while True:
            headers = self._headers() if callable(self._headers) else self._headers
            wait_at_least = 0.0
            try:
                response = self.http.post(BASE + path, json=body, headers=dict(headers))
            except httpx.TransportError:
                if time.monotonic() >= deadline:
                    raise
            else:
                if response.status_code != UNAVAILABLE or time.monotonic() >= deadline:
                    return response
                try:
                    wait_at_least = float(response.headers.get("Retry-After", "0"))
                except ValueError:
                    wait_at_least = 0.0
            self.retries += 1
            pause = max(wait_at_least, self._rng.uniform(0, bound))
            time.sleep(max(0.0, min(pause, deadline - time.monotonic())))
            bound = min(RETRY_MAX_S, bound * 2)

    def _post(self, path: str, body: dict[str, Any], answer: type[T]) -> T:
        response = self._send(path, body)
        if response.status_code == 200:
            return msgspec.json.decode(response.content, type=answer)
        try:
            problem = response.json()
        except ValueError:
            problem = response.text
        if response.status_code == 401 and response.headers.get(DEVICE_ACTION_HEADER) == "wipe":
            self.wipe()
            raise DeviceWiped(response.status_code, problem)
        if (
            response.status_code == 401
            and response.headers.get(DEVICE_ACTION_HEADER) == "reauthenticate"
        ):
            raise ReauthenticationNeeded(response.status_code, problem)
        raise SyncRefused(response.status_code, problem)

    @staticmethod
    def _store_flag(db: Any, flag: SafetyFlagRecord) -> None:
        dwelling = str(flag.dwelling_id)
        if flag.kind is None:
            db.execute("DELETE FROM flags WHERE dwelling_id = ?", (dwelling,))
            return
        db.execute(
            "INSERT INTO flags (dwelling_id, record) VALUES (?, ?) "
            "ON CONFLICT (dwelling_id) DO UPDATE SET record = excluded.record",
            (dwelling, msgspec.json.encode(flag).decode()),
        )

    @staticmethod
    def _store_tenant(db: Any, tenant: TenantRecord) -> None:
        """Planned visits and open concerns replace; the timeline is merged by position."""
        tenant_id = str(tenant.tenant_id)
        row = db.execute("SELECT record FROM tenants WHERE tenant_id = ?", (tenant_id,)).fetchone()
        timeline: dict[int, TimelineRecord] = {}
        complete = tenant.timeline_complete
        if row is not None:
            held = msgspec.json.decode(row[0], type=TenantRecord)
            timeline = {e.position: e for e in held.timeline}
            complete = complete and held.timeline_complete
        timeline.update({e.position: e for e in tenant.timeline})
        merged = msgspec.structs.replace(
            tenant, timeline=[timeline[p] for p in sorted(timeline)], timeline_complete=complete
        )
        db.execute(
            "INSERT INTO tenants (tenant_id, record) VALUES (?, ?) "
            "ON CONFLICT (tenant_id) DO UPDATE SET record = excluded.record",
            (tenant_id, msgspec.json.encode(merged).decode()),
        )
