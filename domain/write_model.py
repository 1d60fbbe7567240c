"""The write model: records loaded by kind, events committed, one request at a time.

:class:`WriteModel` is the event store as the use cases need it (load a record of a kind,
commit events), over the eventsourcing library's PostgreSQL recorder. It keeps the latest
state of recently used records, so loading one reads only the events stored since
(a tenant's history grows without bound; its load does not). :class:`Records` is one
request's view: each record is loaded at most once, whoever asks (the need-to-know check,
then the command).

No clock reads here: ``now`` is always passed in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain import concern as concerns
from domain import dwelling as dwellings
from domain import handover as handovers
from domain import lease as leases
from domain import lone_work
from domain import nav as navs
from domain import rent as rents
from domain import tenant as tenants
from domain import visit as visits
from domain.application import FollowUpApplication
from domain.commands import Command
from domain.dates import check_dates
from domain.errors import ConcurrentChange, IllegalStateChange
from domain.events import Actor, DomainEvent, EventMeta, event_meta, local_date
from domain.kinds import Kind
from domain.staff import NoStaffDirectory, StaffDirectory, StaffMember

StateT = TypeVar("StateT")

# Records whose latest state is kept; one entry is a few hundred bytes to a few kB.
DEFAULT_CACHE_SIZE = 20_000


class CommandResult(msgspec.Struct, frozen=True):
    """What a command answers: the record it touched and the log position it reached."""

    id: UUID
    position: int


class _Cached(msgspec.Struct, frozen=True, gc=False):
    kind: Kind[Any]
    state: Any
    version: int


class Held:
    """Records as the write model held them at one moment (:meth:`WriteModel.held`)."""

    def __init__(self, record_ids: Sequence[UUID], entries: dict[UUID, _Cached | None]) -> None:
        self.record_ids = record_ids
        self.entries = entries

    def after(self) -> list[tuple[UUID, int]]:
        """Each record with the version held (0: none): its events after that are wanted."""
        return [(i, 0 if c is None else c.version) for i, c in self.entries.items()]


class WriteModel:
    """Loads records by kind and commits events; shared by every request and thread."""

    def __init__(
        self,
        app: FollowUpApplication,
        staff: StaffDirectory | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self.app = app
        self.staff: StaffDirectory = staff or NoStaffDirectory()
        self._cache: OrderedDict[UUID, _Cached] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def close(self) -> None:
        self.app.close()

    def records(self) -> Records:
        return Records(self)

    def load(self, kind: Kind[StateT], record_id: UUID) -> StateT | None:
        """The record's state, or None if no record of this kind has the id.

        An id of another kind of record (a dwelling's id where a tenant's is asked for)
        is answered as no record at all: never replayed into the wrong aggregate, and not
        told apart from an id nobody used, so ids cannot be probed.
        """
        with self._lock:
            cached = self._cache.get(record_id)
        if cached is not None and cached.kind is not kind:
            return None
        version = 0 if cached is None else cached.version
        # Only what was stored since the state we hold (all of it, the first time).
        newer = (
            self.app.events.get(record_id, gt=version)
            if version
            else self.app.events.get(record_id)
        )
        return self._folded(kind, record_id, cached, newer)

    def load_many(self, kind: Kind[StateT], record_ids: Sequence[UUID]) -> list[StateT | None]:
        """Several records' states, as :meth:`load` answers each, in one read of the store
        where the event store can (its recorder's ``select_events_after``)."""
        select = getattr(self.app.recorder, "select_events_after", None)
        if select is None:
            return [self.load(kind, record_id) for record_id in record_ids]
        held = self.held(record_ids)
        return self.fold_many(kind, held, select(held.after()))

    def held(self, record_ids: Sequence[UUID]) -> Held:
        """What the model holds of these records now: read the events stored after it
        (:meth:`Held.after`) however the caller can, and fold them in (:meth:`fold_many`).
        An event-loop caller reads them on its own connection, not in a thread."""
        with self._lock:
            return Held(record_ids, {i: self._cache.get(i) for i in record_ids})

    def fold_many(
        self, kind: Kind[StateT], held: Held, stored: Iterable[StoredEvent]
    ) -> list[StateT | None]:
        """Each record's state: what was held, brought up to date with the events stored
        after it (``stored``: by record, oldest first, as ``Held.after`` asked)."""
        newer: dict[UUID, list[Any]] = {}
        for event in stored:
            domain_event = self.app.mapper.to_domain_event(event)
            newer.setdefault(domain_event.originator_id, []).append(domain_event)
        cached = held.entries
        return [
            None
            if cached[i] is not None and cached[i].kind is not kind  # type: ignore[union-attr]
            else self._folded(kind, i, cached[i], newer.get(i, ()))
            for i in held.record_ids
        ]

    def _folded(
        self, kind: Kind[StateT], record_id: UUID, cached: _Cached | None, newer: Iterable[Any]
    ) -> StateT | None:
        """The cached state (if any) brought up to date with the events stored since."""
        state: StateT | None = None if cached is None else cached.state
        version = 0 if cached is None else cached.version
        for event in newer:
            if state is None and not isinstance(event, kind.born):
                return None
            state = kind.evolve(state, event)
            version = event.originator_version
        if state is not None and (cached is None or version != cached.version):
            self._remember(record_id, _Cached(kind, state, version))
        return state

    def _remember(self, record_id: UUID, entry: _Cached) -> None:
        with self._lock:
            current = self._cache.get(record_id)
            if current is None or current.version < entry.version:
                self._cache[record_id] = entry
            self._cache.move_to_end(record_id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def first_event(self, record_id: UUID) -> DomainEvent | None:
        for first in self.app.events.get(record_id, limit=1):
            return first  # type: ignore[return-value]
        return None

    def commit(self, *events: DomainEvent, receipt: object = None) -> int:
        """Store events atomically; answer the highest log position they got.

        A ``receipt`` is stored by the event store in the same transaction (a device's
        item outcome, :mod:`sync.outcomes`): both are stored, or neither.
        """
        kwargs = {} if receipt is None else {"receipt": receipt}
        try:
            recordings = self.app.save(*events, **kwargs)
        except IntegrityError as error:
            raise ConcurrentChange(
                "id", "no_concurrent_change", "the record changed meanwhile; read it and retry"
            ) from error
        return max(r.notification.id for r in recordings)

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def staff_members(self, ids: Iterable[UUID | None]) -> Mapping[UUID, StaffMember]:
        return self.staff.members({i for i in ids if i is not None})


class CommitReceipt(Protocol):
    """Something the event store writes in the same transaction as a commit's events."""

    def written_with(self, events: Sequence[DomainEvent]) -> object:
        """What to store with ``events`` (the event store knows how to write it)."""
        ...


class Records:
    """One request's records: each loaded at most once, whichever code asks first."""

    def __init__(self, model: WriteModel, receipt: CommitReceipt | None = None) -> None:
        self.model = model
        self._loaded: dict[UUID, tuple[Kind[Any], Any]] = {}
        # Who the users named so far are (None: not a user), asked once per request.
        self._staff: dict[UUID, StaffMember | None] = {}
        # Set by a caller whose commit must carry a receipt (the sync push).
        self.receipt = receipt

    def load(self, kind: Kind[StateT], record_id: UUID) -> StateT | None:
        if record_id in self._loaded:
            loaded_kind, state = self._loaded[record_id]
            return state if loaded_kind is kind else None
        state = self.model.load(kind, record_id)
        if state is not None:
            self._loaded[record_id] = (kind, state)
        return state

    def preload(self, kind: Kind[Any], record_ids: Iterable[UUID]) -> None:
        """Load the records of ``kind`` among ``record_ids`` in one read of the store, for
        the commands about to use them (a push's items: one read, not one per item)."""
        wanted = [i for i in dict.fromkeys(record_ids) if i not in self._loaded]
        if not wanted:
            return
        for record_id, state in zip(wanted, self.model.load_many(kind, wanted), strict=True):
            if state is not None:
                self._loaded[record_id] = (kind, state)

    # Each kind, by name: ``None`` if there is none (of that kind).

    def tenant(self, record_id: UUID) -> tenants.Tenant | None:
        return self.load(tenants.KIND, record_id)

    def visit(self, record_id: UUID) -> visits.Visit | None:
        return self.load(visits.KIND, record_id)

    def dwelling(self, record_id: UUID) -> dwellings.Dwelling | None:
        return self.load(dwellings.KIND, record_id)

    def lease(self, record_id: UUID) -> leases.Lease | None:
        return self.load(leases.KIND, record_id)

    def concern(self, record_id: UUID) -> concerns.Concern | None:
        return self.load(concerns.KIND, record_id)

    def handover(self, record_id: UUID) -> handovers.Handover | None:
        return self.load(handovers.KIND, record_id)

    def rent_case(self, record_id: UUID) -> rents.RentCase | None:
        return self.load(rents.KIND, record_id)

    def nav_notification(self, record_id: UUID) -> navs.NavNotification | None:
        return self.load(navs.KIND, record_id)

    def check_in(self, record_id: UUID) -> lone_work.CheckIn | None:
        return self.load(lone_work.KIND, record_id)

    # ... or refused: 404 naming the field, as for an id nobody used.

    def existing_tenant(self, record_id: UUID) -> tenants.Tenant:
        return tenants.require(self.tenant(record_id), record_id)

    def existing_visit(self, record_id: UUID) -> visits.Visit:
        return visits.require(self.visit(record_id), record_id)

    def existing_dwelling(self, record_id: UUID) -> dwellings.Dwelling:
        return dwellings.require(self.dwelling(record_id), record_id)

    def existing_lease(self, record_id: UUID) -> leases.Lease:
        return leases.require(self.lease(record_id), record_id)

    def existing_concern(self, record_id: UUID) -> concerns.Concern:
        return concerns.require(self.concern(record_id), record_id)

    def existing_handover(self, record_id: UUID) -> handovers.Handover:
        return handovers.require(self.handover(record_id), record_id)

    def existing_rent_case(self, record_id: UUID) -> rents.RentCase:
        return rents.require(self.rent_case(record_id), record_id)

    def existing_nav_notification(self, record_id: UUID) -> navs.NavNotification:
        return navs.require(self.nav_notification(record_id), record_id)

    def existing_check_in(self, record_id: UUID) -> lone_work.CheckIn:
        return lone_work.require(self.check_in(record_id), record_id)

    # --- storing ---------------------------------------------------------------------------

    def meta(self, cmd: Command, actor: Actor, now: datetime) -> EventMeta:
        """The command's provenance, once its dates and times are in their ranges."""
        check_dates(cmd, local_date(now))
        return event_meta(actor, cmd.occurred_at, now)

    def staff_members(self, ids: Iterable[UUID | None]) -> Mapping[UUID, StaffMember]:
        wanted = {i for i in ids if i is not None}
        missing = wanted - self._staff.keys()
        if missing:
            found = self.model.staff_members(missing)
            for user_id in missing:
                self._staff[user_id] = found.get(user_id)
        return {i: member for i in wanted if (member := self._staff[i]) is not None}

    def head(self) -> int:
        return self.model.head()

    def exists(self, record_id: UUID) -> bool:
        """Whether any record has the id (of any kind)."""
        return record_id in self._loaded or self.first_event(record_id) is not None

    def first_event(self, record_id: UUID) -> DomainEvent | None:
        return self.model.first_event(record_id)

    def commit(self, *events: DomainEvent) -> int:
        receipt = None if self.receipt is None else self.receipt.written_with(events)
        position = self.model.commit(*events, receipt=receipt)
        for event in events:  # changed: loaded afresh if asked again
            self._loaded.pop(event.originator_id, None)
        return position

    def result(self, record_id: UUID, *events: DomainEvent) -> CommandResult:
        return CommandResult(record_id, self.commit(*events))

    def created(
        self, record_id: UUID, new: DomainEvent, field: str, *then: DomainEvent
    ) -> CommandResult:
        """Store a creating event (and ``then``, what follows from it in the same commit);
        a retry with the same id and content is answered again."""
        first = self.first_event(record_id)
        if first is None:
            return self.result(record_id, new, *then)
        if type(first) is type(new) and same_fact(first, new):
            return CommandResult(record_id, self.head())
        raise IllegalStateChange(field, "unique_id", f"{field} is already used for another record")


def same_fact(stored: DomainEvent, new: DomainEvent) -> bool:
    """Equal apart from provenance: a retried command restates the same fact."""

    def fact(event: DomainEvent) -> dict[str, Any]:
        fields = msgspec.structs.asdict(event)
        del fields["meta"]
        return fields

    return fact(stored) == fact(new)


class StagedCommit(msgspec.Struct, frozen=True):
    """One command's events, staged, and what its receipt makes of them."""

    events: tuple[DomainEvent, ...]
    receipt: object


class StagedRecords(Records):
    """Records whose commits are staged, then stored together by :meth:`flush`.

    For a run of commands stored in one transaction (a device's pushed items): each
    command sees what the commands before it staged (their records evolve in place), and
    :meth:`flush` stores every staged event in one commit, with one receipt that is
    handed each command's own receipt and events. Positions are known only after the
    flush, so a staged command's result has position 0.
    """

    def __init__(self, model: WriteModel) -> None:
        super().__init__(model)
        self.staged: list[StagedCommit] = []
        # Records first made by a staged event (not loaded from the store).
        self._born: dict[UUID, list[DomainEvent]] = {}

    def load(self, kind: Kind[StateT], record_id: UUID) -> StateT | None:
        if record_id in self._loaded or record_id not in self._born:
            return super().load(kind, record_id)
        state: StateT | None = None
        for event in self._born[record_id]:
            if state is None and not isinstance(event, kind.born):
                return None
            state = kind.evolve(state, event)
        if state is not None:
            self._loaded[record_id] = (kind, state)
        return state

    def first_event(self, record_id: UUID) -> DomainEvent | None:
        born = self._born.get(record_id)
        return born[0] if born else super().first_event(record_id)

    def commit(self, *events: DomainEvent) -> int:
        receipt = None if self.receipt is None else self.receipt.written_with(events)
        self.staged.append(StagedCommit(tuple(events), receipt))
        for event in events:
            loaded = self._loaded.get(event.originator_id)
            if loaded is not None:
                kind, state = loaded
                self._loaded[event.originator_id] = (kind, kind.evolve(state, event))
            else:
                self._born.setdefault(event.originator_id, []).append(event)
        return 0

    def flush(self, receipt: object) -> int:
        """Store every staged event in one commit with ``receipt``; the highest position.

        Nothing staged: nothing stored (0). A conflict with a concurrent writer raises
        :class:`ConcurrentChange` and stores nothing.
        """
        events = [e for commit in self.staged for e in commit.events]
        if not events:
            return 0
        return self.model.commit(*events, receipt=receipt)
