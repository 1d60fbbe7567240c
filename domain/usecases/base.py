"""Loading and storing aggregates for the use cases; no rules live here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError

from domain.errors import ConcurrentChange, IllegalStateChange, UnknownAggregate
from domain.events import DomainEvent

StateT = TypeVar("StateT")


class CommandResult(msgspec.Struct, frozen=True):
    """What a command answers: the aggregate it touched and the log position it reached."""

    id: UUID
    position: int


class UseCases(Application[UUID]):
    """Helpers shared by every area's use cases."""

    def history(self, aggregate_id: UUID) -> list[Any]:
        return list(self.events.get(aggregate_id))

    def load(
        self, replay: Callable[[Iterable[Any]], StateT | None], aggregate_id: UUID
    ) -> StateT | None:
        return replay(self.history(aggregate_id))

    def load_existing(
        self, replay: Callable[[Iterable[Any]], StateT | None], aggregate_id: UUID, field: str
    ) -> StateT:
        state = self.load(replay, aggregate_id)
        if state is None:
            raise UnknownAggregate(field, "must_exist", f"no record with {field} {aggregate_id}")
        return state

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

    def created(self, aggregate_id: UUID, new: DomainEvent, field: str) -> CommandResult:
        """Store a creating event; a retry with the same id and content is answered again."""
        history = self.history(aggregate_id)
        if not history:
            return self.result(aggregate_id, new)
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
