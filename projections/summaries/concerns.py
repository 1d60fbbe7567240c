"""Timeline summaries of concern events: category and status only, never the description."""

from __future__ import annotations

from domain.concern import (
    ConcernAcknowledged,
    ConcernEscalated,
    ConcernEvent,
    ConcernRaised,
    ConcernResolved,
    ConcernRouted,
)
from projections.summaries.core import Summary, summarize


def _about(event: ConcernEvent, summary: str) -> Summary | None:
    # A concern about an address alone belongs to no tenant's timeline.
    return None if event.tenant_id is None else (event.tenant_id, summary)


def _category(event: ConcernEvent) -> str:
    return event.category.value.replace("_", " ")


@summarize.register
def _(event: ConcernRaised) -> Summary | None:
    return _about(event, f"Concern raised by {event.raised_by.value}: {_category(event)}")


@summarize.register
def _(event: ConcernRouted) -> Summary | None:
    return _about(event, f"Concern ({_category(event)}) routed to {event.to_service.value}")


@summarize.register
def _(event: ConcernAcknowledged) -> Summary | None:
    return _about(event, f"Concern ({_category(event)}) acknowledged by {event.by_service.value}")


@summarize.register
def _(event: ConcernResolved) -> Summary | None:
    outcome = event.outcome.value.replace("_", " ")
    return _about(event, f"Concern ({_category(event)}) resolved: {outcome}")


@summarize.register
def _(event: ConcernEscalated) -> Summary | None:
    reason = event.reason.value.replace("_", " ")
    to = f", routed to {event.to_service.value}" if event.to_service is not None else ""
    return _about(event, f"Concern ({_category(event)}) escalated: {reason}{to}")
