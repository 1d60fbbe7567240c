"""What became of a pushed item, stored so that no crash applies it twice or loses it.

An item that produces events has its outcome written by the event store in the same
transaction as those events (:class:`ItemReceipt`, via ``backend.event_store``): keyed by
(device, sequence number), so a second attempt to decide the same item fails and stores
nothing. An item that produces no events (kept for review, refused, or a creation the log
already holds) has its outcome written on its own; deciding it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import msgspec
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from domain.events import DomainEvent
from domain.write_model import StagedCommit
from sync.protocol import ItemProblem, ItemStatus

_INSERT = """
    INSERT INTO sync_outcomes (device_id, seq, status, tenant_id, position, review_reasons,
                               problem, decided_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


class Decided(msgspec.Struct, frozen=True, kw_only=True):
    status: ItemStatus
    tenant_id: UUID | None = None
    position: int | None = None
    review_reasons: tuple[str, ...] = ()
    problem: ItemProblem | None = None


def marked(decided: Decided, also: tuple[str, ...]) -> Decided:
    """``decided`` with the review reasons ``also`` added: applied becomes applied for
    review; an item kept for review or refused keeps its status."""
    if not also:
        return decided
    reasons = tuple(dict.fromkeys([*decided.review_reasons, *also]))
    status = decided.status
    if status is ItemStatus.APPLIED:
        status = ItemStatus.APPLIED_FOR_REVIEW
    return msgspec.structs.replace(decided, status=status, review_reasons=reasons)


def _row(device_id: UUID, seq: int, decided: Decided, now: datetime) -> tuple[object, ...]:
    problem = None if decided.problem is None else Jsonb(msgspec.to_builtins(decided.problem))
    return (
        device_id,
        seq,
        decided.status.value,
        decided.tenant_id,
        decided.position,
        list(decided.review_reasons),
        problem,
        now,
    )


class ItemReceipt:
    """A :class:`domain.write_model.CommitReceipt`: the item's outcome, with its events."""

    def __init__(
        self,
        device_id: UUID,
        seq: int,
        tenant_id: UUID | None,
        now: datetime,
        also: tuple[str, ...] = (),
    ):
        self.device_id = device_id
        self.seq = seq
        self.tenant_id = tenant_id
        self.now = now
        # Review reasons found outside the domain (the device's clock skew).
        self.also = also
        # Set once the event store has written the outcome (its transaction may still fail:
        # the caller clears it then).
        self.written: Decided | None = None

    def written_with(self, events: Sequence[DomainEvent]) -> _OutcomeWithEvents:
        reasons = tuple(
            dict.fromkeys(
                [*(r for e in events for r in getattr(e, "review_reasons", ()) or ()), *self.also]
            )
        )
        return _OutcomeWithEvents(self, reasons)


class _OutcomeWithEvents:
    def __init__(self, receipt: ItemReceipt, reasons: tuple[str, ...]) -> None:
        self.receipt = receipt
        self.reasons = reasons

    def decided(self, position: int) -> Decided:
        return Decided(
            status=ItemStatus.APPLIED_FOR_REVIEW if self.reasons else ItemStatus.APPLIED,
            tenant_id=self.receipt.tenant_id,
            position=position,
            review_reasons=self.reasons,
        )

    def write(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        r = self.receipt
        decided = self.decided(max(positions))
        cursor.execute(_INSERT, _row(r.device_id, r.seq, decided, r.now))
        r.written = decided


class RunReceipt:
    """The outcomes of a run of items stored in one commit (:class:`StagedRecords`).

    ``staged`` are the run's commits in order, each with its item's outcome-with-events;
    ``alone`` the outcomes of the run's items that wrote no events. All are written in the
    transaction of the run's events.
    """

    def __init__(
        self,
        device_id: UUID,
        now: datetime,
        staged: Sequence[StagedCommit],
        alone: Sequence[tuple[int, Decided]],
    ) -> None:
        self.device_id = device_id
        self.now = now
        self.staged = staged
        self.alone = alone

    def write(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        rows = []
        start = 0
        for commit in self.staged:
            count = len(commit.events)
            outcome = commit.receipt
            assert isinstance(outcome, _OutcomeWithEvents)
            mine = positions[start : start + count]
            start += count
            rows.append(
                _row(self.device_id, outcome.receipt.seq, outcome.decided(max(mine)), self.now)
            )
        rows.extend(_row(self.device_id, seq, decided, self.now) for seq, decided in self.alone)
        cursor.executemany(_INSERT, rows)


def write_outcomes(
    datastore: PostgresDatastore,
    device_id: UUID,
    outcomes: Sequence[tuple[int, Decided]],
    now: datetime,
) -> None:
    """Outcomes with no events of their own; an item decided already keeps its outcome."""
    if not outcomes:
        return
    with datastore.transaction(commit=True) as cursor:
        cursor.executemany(
            _INSERT + " ON CONFLICT (device_id, seq) DO NOTHING",
            [_row(device_id, seq, decided, now) for seq, decided in outcomes],
        )
