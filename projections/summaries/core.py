"""The one summarize() every area registers its events with."""

from __future__ import annotations

from functools import singledispatch
from uuid import UUID

from domain.events import DomainEvent

Summary = tuple[UUID, str]


@singledispatch
def summarize(event: DomainEvent) -> Summary | None:
    """The tenant an event is about and a one-line summary; None if it is about no tenant.

    Summaries never contain free-text notes, names or health details: they are safe on
    any board whose reader may see the tenant, and never end up in logs.
    """
    return None
