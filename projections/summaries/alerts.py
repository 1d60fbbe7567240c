"""Timeline summaries of alerts about a tenant: the rule and the tier, never a note."""

from __future__ import annotations

from domain.alerts import AlertAcknowledged, AlertCleared, AlertEscalated, AlertRaised
from projections.summaries.core import Summary, summarize


@summarize.register
def _(event: AlertRaised) -> Summary | None:
    if event.tenant_id is None:
        return None
    rule = event.rule.value.replace("_", " ")
    return event.tenant_id, f"Alert raised: {rule} (due since {event.due_since.date()})"


@summarize.register
def _(event: AlertEscalated) -> Summary | None:
    if event.tenant_id is None:
        return None
    return event.tenant_id, f"Alert escalated to tier {event.tier}"


@summarize.register
def _(event: AlertAcknowledged) -> Summary | None:
    return None if event.tenant_id is None else (event.tenant_id, "Alert acknowledged")


@summarize.register
def _(event: AlertCleared) -> Summary | None:
    return None if event.tenant_id is None else (event.tenant_id, "Alert cleared: cause resolved")
