"""What a projection is: a name, the tables it owns, and a batch writer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import asyncpg
import msgspec

from domain.events import DomainEvent


# gc=False: no reference cycles, and the runner keeps tens of thousands while catching up.
class PositionedEvent(msgspec.Struct, frozen=True, gc=False):
    """A decoded event and its position in the global log (the notification id)."""

    position: int
    event: DomainEvent


class Projection(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> tuple[str, ...]: ...

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        """Write the effects of ``events`` (in log order) inside the caller's transaction."""
        ...
