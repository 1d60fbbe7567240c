"""A kind of record in the event log (a tenant, a visit, ...): how its history starts and folds.

Every record's id is a UUID in one event store, so an id alone does not say what it is.
Loading through a :class:`Kind` answers "no such record" for an id whose history starts
with another kind's event, instead of replaying it into the wrong aggregate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain.events import DomainEvent

StateT = TypeVar("StateT")


@dataclass(frozen=True, eq=False)
class Kind(Generic[StateT]):
    name: str
    # The event that starts a record of this kind (its version 1).
    born: type[DomainEvent]
    # One event applied to the state so far (None before the first).
    evolve: Callable[[StateT | None, Any], StateT]
