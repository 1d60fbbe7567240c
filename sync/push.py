"""Push: a device's items, stored as received, then decided in the device's order.

Every item is stored before anything is decided (field data is never lost). Items are
decided in sequence order, one after another, from the one after the highest decided so
far; an item after a gap waits, stored, until the gap is filled. Each item goes through
the use cases, so the domain decides: applied, applied and marked for review, kept for
review (not applied, with its problem), or refused (the user's role may not do it). An
item that cannot be applied is decided all the same, so it never blocks those behind it.
One device's pushes are decided one at a time (a transaction-scoped PostgreSQL advisory
lock), so a batch sent twice at once is decided once.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread
import asyncpg
import msgspec
from eventsourcing.postgres import PostgresDatastore

from domain import tenant as tenants
from domain import visit as visits
from domain.concern_commands import RaiseConcern
from domain.errors import (
    ConcurrentChange,
    DomainError,
    IllegalStateChange,
    InvalidValue,
    UnknownAggregate,
)
from domain.events import Actor
from domain.lone_work_commands import RecordCheckIn, RecordCheckOut
from domain.tenant import Tenant
from domain.usecases import UseCases
from domain.visit_commands import CompleteVisit, FailVisit, PlanVisit
from domain.write_model import CommandResult, Records, StagedRecords, WriteModel
from sync.outcomes import Decided, ItemReceipt, RunReceipt, marked, write_outcomes
from sync.protocol import (
    DEVICE_CLOCK_SKEW,
    PROTOCOL_VERSION,
    CheckInItem,
    CheckOutItem,
    CompleteVisitItem,
    FailVisitItem,
    ItemCommand,
    ItemOutcome,
    ItemProblem,
    ItemStatus,
    PlanVisitItem,
    PushRequest,
    PushResponse,
    RaiseConcernItem,
)

# A use case that keeps losing a race with the web (someone changing the same record) is
# tried this often before the item is kept for review instead.
ATTEMPTS = 3

_STATUS = {UnknownAggregate: 404, IllegalStateChange: 409, ConcurrentChange: 409}


class Authority(Protocol):
    """What the user behind a device may do (the backend's access policy)."""

    def refusal(self, command: ItemCommand) -> ItemProblem | None:
        """Why the user's roles may not send this command at all; None if they may."""
        ...

    def follows(self, tenant: Tenant) -> bool:
        """Whether the user follows the tenant (holds the full view) as of now."""
        ...


class Pusher(msgspec.Struct, frozen=True, kw_only=True):
    device_id: UUID
    actor: Actor
    now: datetime
    # An item that arrived while the device's clock was further off than this (seconds,
    # either way) is marked DEVICE_CLOCK_SKEW; None: never.
    max_skew_s: int | None = None

    def skew_reasons(self, skew_s: int | None) -> tuple[str, ...]:
        if skew_s is None or self.max_skew_s is None or abs(skew_s) <= self.max_skew_s:
            return ()
        return (DEVICE_CLOCK_SKEW,)


def clock_skew_s(device_time: datetime | None, now: datetime) -> int | None:
    """The device's clock offset, device minus server, in whole seconds (None: unknown).

    Measured from the request's ``device_time``, so it includes the time the request took
    to arrive (a second or so on a slow link); what is marked is hours, not seconds."""
    if device_time is None:
        return None
    return round((device_time - now).total_seconds())


class SequenceError(InvalidValue):
    """A batch whose sequence numbers or ids contradict each other or what is stored."""


def problem_of(error: DomainError) -> ItemProblem:
    status = next((s for t, s in _STATUS.items() if isinstance(error, t)), 422)
    return ItemProblem(status=status, field=error.field, rule=error.rule, detail=error.detail)


def lock_key(device_id: UUID) -> int:
    digest = hashlib.blake2b(b"sync-push:" + device_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def push(
    pool: asyncpg.Pool,
    slots: asyncio.Semaphore,
    model: WriteModel,
    authority: Authority,
    pusher: Pusher,
    request: PushRequest,
) -> PushResponse:
    _check_batch(request)
    device_id = pusher.device_id
    # The device's lock is held by a transaction of its own, on a connection of its own:
    # it ends with that transaction however the push ends (the request pool's connections
    # keep no session state, backend/database.request_pool), while the received items are
    # committed on another connection, where the event store's transactions can see them.
    # A push holds two of the pool's connections at once, so only ``slots`` pushes may be
    # under way together (fewer than the pool holds): were every connection held by a push
    # waiting for its second, none would ever come back (found under 200 tablets at once).
    async with slots, pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT pg_advisory_xact_lock($1)", lock_key(device_id))
        async with pool.acquire() as conn:
            await _check_against_stored(conn, device_id, request)
            await _store_received(conn, pusher, request)
            decided_through = await _decide_in_order(conn, model, authority, pusher)
            outcomes = await outcomes_of(conn, device_id, [i.seq for i in request.items])
    return PushResponse(
        protocol=PROTOCOL_VERSION,
        device_id=device_id,
        decided_through=decided_through,
        outcomes=outcomes,
    )


def _check_batch(request: PushRequest) -> None:
    seqs: dict[int, UUID] = {}
    ids: dict[UUID, int] = {}
    for n, item in enumerate(request.items):
        if seqs.setdefault(item.seq, item.item_id) != item.item_id:
            raise SequenceError(
                f"items[{n}].seq", "one_item_per_seq", f"two items in the batch have seq {item.seq}"
            )
        if ids.setdefault(item.item_id, item.seq) != item.seq:
            raise SequenceError(
                f"items[{n}].item_id",
                "one_seq_per_item",
                "the batch sends the same item_id with two sequence numbers",
            )


async def _check_against_stored(
    conn: asyncpg.Connection, device_id: UUID, request: PushRequest
) -> None:
    rows = await conn.fetch(
        "SELECT device_id, seq, item_id FROM sync_items "
        "WHERE (device_id = $1 AND seq = ANY($2::bigint[])) OR item_id = ANY($3::uuid[])",
        device_id,
        [i.seq for i in request.items],
        [i.item_id for i in request.items],
    )
    by_seq = {r["seq"]: r["item_id"] for r in rows if r["device_id"] == device_id}
    by_id = {r["item_id"]: (r["device_id"], r["seq"]) for r in rows}
    for n, item in enumerate(request.items):
        stored = by_seq.get(item.seq)
        if stored is not None and stored != item.item_id:
            raise SequenceError(
                f"items[{n}].seq",
                "one_item_per_seq",
                f"seq {item.seq} of this device is already another item",
            )
        where = by_id.get(item.item_id)
        if where is not None and where != (device_id, item.seq):
            raise SequenceError(
                f"items[{n}].item_id",
                "unique_id",
                "item_id was already sent with another device or sequence number",
            )


async def _store_received(conn: asyncpg.Connection, pusher: Pusher, request: PushRequest) -> None:
    """Store the items as received, each with the device's clock offset measured now (or,
    when the push carries no ``device_time``, the one last measured)."""
    items = request.items
    skew = clock_skew_s(request.device_time, pusher.now)
    async with conn.transaction():
        await conn.execute(
            """
            INSERT INTO sync_devices AS d (device_id, last_push_at, clock_skew_seconds,
                                           clock_measured_at)
            VALUES ($1, $2::timestamptz, $3::integer,
                    CASE WHEN $3::integer IS NOT NULL THEN $2::timestamptz END)
            ON CONFLICT (device_id) DO UPDATE SET
                last_push_at = excluded.last_push_at,
                clock_skew_seconds = coalesce(excluded.clock_skew_seconds, d.clock_skew_seconds),
                clock_measured_at = coalesce(excluded.clock_measured_at, d.clock_measured_at)
            """,
            pusher.device_id,
            pusher.now,
            skew,
        )
        await conn.execute(
            """
            INSERT INTO sync_items (device_id, seq, item_id, user_id, command_type, command,
                                    tenant_version, occurred_at, received_at,
                                    clock_skew_seconds)
            SELECT $1, s.seq, s.item_id, $2, s.command_type, s.command::jsonb,
                   s.tenant_version, s.occurred_at, $3,
                   (SELECT clock_skew_seconds FROM sync_devices WHERE device_id = $1)
            FROM unnest($4::bigint[], $5::uuid[], $6::text[], $7::text[], $8::int[],
                        $9::timestamptz[]) AS s(seq, item_id, command_type, command,
                                                 tenant_version, occurred_at)
            ON CONFLICT (device_id, seq) DO NOTHING
            """,
            pusher.device_id,
            pusher.actor.user_id,
            pusher.now,
            [i.seq for i in items],
            [i.item_id for i in items],
            [type(i.command).__struct_config__.tag for i in items],
            [msgspec.json.encode(i.command).decode() for i in items],
            [i.tenant_version for i in items],
            [i.occurred_at for i in items],
        )


class _Undecided(msgspec.Struct, frozen=True):
    seq: int
    command: ItemCommand
    occurred_at: datetime
    # Review reasons from outside the domain: the device's clock skew when it arrived.
    also: tuple[str, ...] = ()


async def _decide_in_order(
    conn: asyncpg.Connection, model: WriteModel, authority: Authority, pusher: Pusher
) -> int:
    """Decide every item that follows the last decided one without a gap."""
    through: int = (
        await conn.fetchval(
            "SELECT decided_through FROM sync_devices WHERE device_id = $1", pusher.device_id
        )
        or 0
    )
    rows = await conn.fetch(
        """
        SELECT i.seq, i.command::text AS command, i.occurred_at, i.clock_skew_seconds,
               o.seq IS NOT NULL AS decided
        FROM sync_items i LEFT JOIN sync_outcomes o USING (device_id, seq)
        WHERE i.device_id = $1 AND i.seq > $2
        ORDER BY i.seq
        """,
        pusher.device_id,
        through,
    )
    run: list[_Undecided] = []
    expected = through + 1
    for row in rows:
        if row["seq"] != expected:
            break  # a gap: the rest wait for it
        if not row["decided"]:
            command = msgspec.json.decode(row["command"], type=ItemCommand)
            also = pusher.skew_reasons(row["clock_skew_seconds"])
            run.append(_Undecided(row["seq"], command, row["occurred_at"], also))
        expected += 1
    if run:
        await anyio.to_thread.run_sync(_decide_all, model, authority, pusher, run)
    if expected - 1 != through:
        await conn.execute(
            "UPDATE sync_devices SET decided_through = greatest(decided_through, $2) "
            "WHERE device_id = $1",
            pusher.device_id,
            expected - 1,
        )
    return expected - 1


def _decide_all(
    model: WriteModel, authority: Authority, pusher: Pusher, run: Sequence[_Undecided]
) -> None:
    datastore = model.app.recorder.datastore  # type: ignore[attr-defined]
    assert isinstance(datastore, PostgresDatastore)
    try:
        _decide_run(model, authority, pusher, run, datastore)
    except ConcurrentChange:
        # Someone changed a record the run uses between its reads and its commit: nothing
        # of the run was stored; decide its items one by one, each with fresh reads.
        for item in run:
            decided = _decide(model, authority, pusher, item)
            if decided is not None:
                outcome = marked(decided, item.also)
                write_outcomes(datastore, pusher.device_id, [(item.seq, outcome)], pusher.now)


def _decide_run(
    model: WriteModel,
    authority: Authority,
    pusher: Pusher,
    run: Sequence[_Undecided],
    datastore: PostgresDatastore,
) -> None:
    """Decide the run in memory, in order, and store it in one transaction: every item's
    events and every item's outcome (decision 61). Each item sees what those before it
    did (a visit planned in the run can be completed later in the run)."""
    records = StagedRecords(model)
    _preload(records, run)
    use_cases = UseCases(records)
    alone: list[tuple[int, Decided]] = []
    for item in run:
        receipt = ItemReceipt(pusher.device_id, item.seq, None, pusher.now, item.also)
        records.receipt = None
        staged_before = len(records.staged)
        try:
            result = _apply(use_cases, records, receipt, authority, pusher, item)
        except DomainError as refused:
            alone.append((item.seq, marked(_kept(receipt, refused), item.also)))
            continue
        if isinstance(result, Decided):
            alone.append((item.seq, marked(result, item.also)))
        elif len(records.staged) == staged_before:
            # A creation the log already held (sent over HTTP first, say).
            alone.append((item.seq, marked(_applied_before(receipt, result), item.also)))
    if records.staged:
        records.flush(RunReceipt(pusher.device_id, pusher.now, records.staged, alone))
    else:
        write_outcomes(datastore, pusher.device_id, alone, pusher.now)


def _preload(records: Records, run: Sequence[_Undecided]) -> None:
    """The visits and tenants the run's items name, each kind in one read of the store,
    before any item is decided (not one read per item)."""
    visit_ids = [v for i in run if isinstance(v := getattr(i.command, "visit_id", None), UUID)]
    records.preload(visits.KIND, visit_ids)
    tenant_ids = [t for i in run if isinstance(t := getattr(i.command, "tenant_id", None), UUID)]
    for visit_id in visit_ids:
        visit = records.visit(visit_id)
        if visit is not None:
            tenant_ids.append(visit.tenant_id)
    records.preload(tenants.KIND, tenant_ids)


def _kept(receipt: ItemReceipt, refused: DomainError) -> Decided:
    return Decided(
        status=ItemStatus.KEPT_FOR_REVIEW, tenant_id=receipt.tenant_id, problem=problem_of(refused)
    )


def _applied_before(receipt: ItemReceipt, result: CommandResult) -> Decided:
    return Decided(status=ItemStatus.APPLIED, tenant_id=receipt.tenant_id, position=result.position)


def _decide(
    model: WriteModel, authority: Authority, pusher: Pusher, item: _Undecided
) -> Decided | None:
    """One item decided alone (the run's fallback): its outcome, if it still has to be
    written (None: written with its events)."""
    lost_race: ConcurrentChange | None = None
    for _ in range(ATTEMPTS):
        receipt = ItemReceipt(pusher.device_id, item.seq, None, pusher.now, item.also)
        records = model.records()
        try:
            result = _apply(UseCases(records), records, receipt, authority, pusher, item)
        except ConcurrentChange as error:
            lost_race = error
            continue
        except DomainError as refused:
            return _kept(receipt, refused)
        if isinstance(result, Decided):
            return result
        if receipt.written is not None:
            return None
        return _applied_before(receipt, result)
    assert lost_race is not None
    return Decided(status=ItemStatus.KEPT_FOR_REVIEW, problem=problem_of(lost_race))


def _plain(command: ItemCommand, plain: type[Any], *path_ids: str) -> Any:
    fields = msgspec.structs.asdict(command)
    for name in path_ids:
        del fields[name]
    return plain(**fields)


def _apply(
    uc: UseCases,
    records: Records,
    receipt: ItemReceipt,
    authority: Authority,
    pusher: Pusher,
    item: _Undecided,
) -> CommandResult | Decided:
    command = item.command
    refusal = authority.refusal(command)
    if refusal is not None:
        return Decided(status=ItemStatus.REFUSED, problem=refusal)
    if command.occurred_at is None:
        command = msgspec.structs.replace(command, occurred_at=item.occurred_at)
    actor, now = pusher.actor, pusher.now
    if isinstance(command, PlanVisitItem):
        tenant = records.existing_tenant(command.tenant_id)
        receipt.tenant_id = tenant.id
        if not authority.follows(tenant):
            return Decided(
                status=ItemStatus.KEPT_FOR_REVIEW,
                tenant_id=tenant.id,
                problem=ItemProblem(
                    status=404,
                    field="tenant_id",
                    rule="in_caseload",
                    detail="the user no longer follows this tenant: nothing was planned",
                ),
            )
        records.receipt = receipt
        return uc.visits.plan_visit(tenant.id, _plain(command, PlanVisit, "tenant_id"), actor, now)
    if isinstance(command, CompleteVisitItem | FailVisitItem):
        visit = records.existing_visit(command.visit_id)
        tenant = records.existing_tenant(visit.tenant_id)
        receipt.tenant_id = tenant.id
        also = () if authority.follows(tenant) else ("outside_caseload",)
        records.receipt = receipt
        command = msgspec.structs.replace(command, recorded_offline=True)
        if isinstance(command, CompleteVisitItem):
            cmd = _plain(command, CompleteVisit, "visit_id")
            return uc.visits.complete_visit(visit.id, cmd, actor, now, also_review=also)
        cmd = _plain(command, FailVisit, "visit_id")
        return uc.visits.fail_visit(visit.id, cmd, actor, now, also_review=also)
    if isinstance(command, CheckInItem | CheckOutItem):
        return _apply_lone_work(uc, records, receipt, authority, pusher, command)
    assert isinstance(command, RaiseConcernItem)
    receipt.tenant_id = command.tenant_id
    records.receipt = receipt
    return uc.concerns.raise_concern(_plain(command, RaiseConcern), actor, now)


def _apply_lone_work(
    uc: UseCases,
    records: Records,
    receipt: ItemReceipt,
    authority: Authority,
    pusher: Pusher,
    command: CheckInItem | CheckOutItem,
) -> CommandResult:
    """A check-in or check-out recorded on the device (docs/lone-work.md).

    The worker's own record, not the tenant's: the outcome names no tenant, so it never
    shows among a tenant's items. A check-in recorded offline keeps a two-person breach,
    marked for review (the worker is at the address either way), and so a tenant the user
    no longer follows (``outside_caseload``); anything else the domain refuses is kept for
    review.
    """
    actor, now = pusher.actor, pusher.now
    records.receipt = receipt
    if isinstance(command, CheckOutItem):
        cmd = _plain(command, RecordCheckOut, "check_in_id")
        return uc.lone_work.check_out(command.check_in_id, cmd, actor, now)
    also: tuple[str, ...] = ()
    if command.tenant_id is not None:
        tenant = records.existing_tenant(command.tenant_id)
        also = () if authority.follows(tenant) else ("outside_caseload",)
    offline = msgspec.structs.replace(command, recorded_offline=True)
    return uc.lone_work.check_in(_plain(offline, RecordCheckIn), actor, now, also_review=also)


async def outcomes_of(
    conn: asyncpg.Connection, device_id: UUID, seqs: Sequence[int]
) -> list[ItemOutcome]:
    """The outcome of each of the device's items, in the order asked."""
    rows = await conn.fetch(
        """
        SELECT i.seq, i.item_id, o.status, o.position, o.review_reasons, o.problem::text
        FROM sync_items i LEFT JOIN sync_outcomes o USING (device_id, seq)
        WHERE i.device_id = $1 AND i.seq = ANY($2::bigint[])
        """,
        device_id,
        list(seqs),
    )
    by_seq = {r["seq"]: r for r in rows}
    outcomes = []
    for seq in seqs:
        r = by_seq[seq]
        problem = r["problem"]
        outcomes.append(
            ItemOutcome(
                item_id=r["item_id"],
                seq=seq,
                status=ItemStatus(r["status"] or ItemStatus.WAITING),
                position=r["position"],
                review_reasons=list(r["review_reasons"] or ()),
                problem=None if problem is None else msgspec.json.decode(problem, type=ItemProblem),
            )
        )
    return outcomes
