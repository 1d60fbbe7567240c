"""Timeline summaries of handover events. A decline's reason is free text: never shown."""

from __future__ import annotations

from domain.handover import (
    HandoverAccepted,
    HandoverAnnounced,
    HandoverCompleted,
    HandoverDeclined,
    HandoverLapsed,
    LapseReason,
)
from projections.summaries.core import Summary, summarize


def _words(value: str) -> str:
    return value.replace("_", " ")


@summarize.register
def _(event: HandoverAnnounced) -> Summary:
    return (
        event.tenant_id,
        f"Handover announced ({_words(event.kind.value)}): {event.from_service.value} "
        f"to {event.to_service.value} from {event.effective_on.isoformat()}",
    )


@summarize.register
def _(event: HandoverAccepted) -> Summary:
    return (
        event.tenant_id,
        f"Handover accepted by {event.meta.actor.service.value} with a named contact",
    )


@summarize.register
def _(event: HandoverDeclined) -> Summary:
    return event.tenant_id, f"Handover declined by {event.meta.actor.service.value}"


@summarize.register
def _(event: HandoverCompleted) -> Summary:
    return event.tenant_id, f"Handover completed: {event.to_service.value} is responsible"


@summarize.register
def _(event: HandoverLapsed) -> Summary:
    why = "it was declined" if event.reason is LapseReason.DECLINED else "nobody accepted it"
    return event.tenant_id, f"Handover lapsed on its date: {why}"
