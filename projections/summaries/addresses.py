"""One-line summaries of facts about an address, for the timelines of the people living there.

``summarize`` answers for events about a tenant; these are about a dwelling (its safety
flag, a concern naming only the address), so a projection that knows who lives where
puts them on each resident's timeline. Like every summary: categories and dates only,
never the free text (a flag's lifting reason, a concern's description or outcome text).
"""

from __future__ import annotations

from domain.concern import (
    ConcernAcknowledged,
    ConcernEscalated,
    ConcernEvent,
    ConcernRaised,
    ConcernResolved,
    ConcernRouted,
)
from domain.dwelling import (
    SafetyFlagChanged,
    SafetyFlagKind,
    SafetyFlagLifted,
    SafetyFlagReason,
    SafetyFlagReviewed,
    SafetyFlagSet,
)
from domain.events import DomainEvent

FLAG_KIND = {SafetyFlagKind.TWO_PERSON: "two-person", SafetyFlagKind.NO_ENTRY: "no-entry"}
FLAG_REASON = {
    SafetyFlagReason.THREATS_VIOLENCE: "threats/violence",
    SafetyFlagReason.WEAPONS: "weapons",
    SafetyFlagReason.AGGRESSIVE_ANIMAL: "aggressive animal",
    SafetyFlagReason.DRUG_ENVIRONMENT: "drug environment",
    SafetyFlagReason.INFECTION_HYGIENE: "infection/hygiene",
    SafetyFlagReason.OTHER: "other",
}

SAFETY_FLAG_EVENTS = (SafetyFlagSet, SafetyFlagChanged, SafetyFlagReviewed, SafetyFlagLifted)


def _category(event: ConcernEvent) -> str:
    return event.category.value.replace("_", " ")


def address_summary(event: DomainEvent) -> str | None:
    """A resident's timeline line for a fact about their address; None if it is not one."""
    match event:
        case SafetyFlagSet():
            return f"Address flagged {FLAG_KIND[event.kind]} ({FLAG_REASON[event.reason]})"
        case SafetyFlagChanged():
            return f"Address flag changed to {FLAG_KIND[event.kind]} ({FLAG_REASON[event.reason]})"
        case SafetyFlagReviewed():
            return f"Address flag reviewed and kept; next review {event.review_on.isoformat()}"
        case SafetyFlagLifted():
            return "Address flag lifted"
        case ConcernRaised():
            return (
                f"Concern about the address raised by {event.raised_by.value}: {_category(event)}"
            )
        case ConcernRouted():
            return f"Address concern ({_category(event)}) routed to {event.to_service.value}"
        case ConcernAcknowledged():
            return f"Address concern ({_category(event)}) acknowledged by {event.by_service.value}"
        case ConcernResolved():
            outcome = event.outcome.value.replace("_", " ")
            return f"Address concern ({_category(event)}) resolved: {outcome}"
        case ConcernEscalated():
            reason = event.reason.value.replace("_", " ")
            return f"Address concern ({_category(event)}) escalated: {reason}"
    return None
