"""Loading and storing aggregates for the use cases; no rules live here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from domain.commands import Command
from domain.dates import check_dates
from domain.errors import ConcurrentChange, IllegalStateChange
from domain.events import Actor, DomainEvent, EventMeta, event_meta, local_date
from domain.staff import NoStaffDirectory, StaffDirectory, StaffMember

StateT = TypeVar("StateT")


class CommandResult(msgspec.Struct, frozen=True):
    """What a command answers: the aggregate it touched and the log position it reached."""

    id: UUID
    position: int


class UseCases(Application[UUID]):
    """Helpers shared by every area's use cases."""

    # Who the users named in commands are; the backend wires the sign-in's user table.
    staff: StaffDirectory = NoStaffDirectory()

    def history(self, aggregate_id: UUID) -> list[Any]:
        return list(self.events.get(aggregate_id))

    def load(
        self,
        replay: Callable[[Iterable[Any]], StateT | None],
        aggregate_id: UUID,
        born: type[DomainEvent],
    ) -> StateT | None:
        """The aggregate's state, or None if no record of this kind has the id.

        ``born`` is the event that starts this kind of record. An id of another kind of
        record (a dwelling's id where a tenant's is asked for) is answered as no record at
        all: never replayed into the wrong aggregate, and not told apart from an id that
        does not exist, so ids cannot be probed.
        """
        history = self.history(aggregate_id)
        if not history or not isinstance(history[0], born):
            return None
        return replay(history)

    def meta(self, cmd: Command, actor: Actor, now: datetime) -> EventMeta:
        """The command's provenance, once its dates and times are in their ranges."""
        check_dates(cmd, local_date(now))
        return event_meta(actor, cmd.occurred_at, now)

    def staff_members(self, ids: Iterable[UUID | None]) -> Mapping[UUID, StaffMember]:
        return self.staff.members({i for i in ids if i is not None})

    def commit(self, *events: DomainEvent) -> int:
        """Store events atomically; answer the highest log position they got."""
        try:
            recordings = self.save(*events)
        except IntegrityError as error:
            raise ConcurrentChange(
                "id", "no_concurrent_change", "the record changed meanwhile; read it and retry"
            ) from error
        return max(r.notification.id for r in recordings)

    def result(self, aggregate_id: UUID, *events: DomainEvent) -> CommandResult:
        return CommandResult(aggregate_id, self.commit(*events))

    def current_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def created(
        self, aggregate_id: UUID, new: DomainEvent, field: str, *then: DomainEvent
    ) -> CommandResult:
        """Store a creating event (and ``then``, what follows from it in the same commit);
        a retry with the same id and content is answered again."""
        history = self.history(aggregate_id)
        if not history:
            return self.result(aggregate_id, new, *then)
        first = history[0]
        if type(first) is type(new) and same_fact(first, new):
            return CommandResult(aggregate_id, self.current_position())
        raise IllegalStateChange(field, "unique_id", f"{field} is already used for another record")


def same_fact(stored: DomainEvent, new: DomainEvent) -> bool:
    """Equal apart from provenance: a retried command restates the same fact."""

    def fact(event: DomainEvent) -> dict[str, Any]:
        fields = msgspec.structs.asdict(event)
        del fields["meta"]
        return fields

    return fact(stored) == fact(new)
