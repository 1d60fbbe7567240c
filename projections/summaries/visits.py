"""Timeline summaries of visit events."""

from __future__ import annotations

from domain.visit import VisitCompleted, VisitFailed, VisitPlanned
from projections.summaries.core import Summary, summarize


@summarize.register
def _(event: VisitPlanned) -> Summary:
    when = event.planned_for.isoformat(timespec="minutes")
    return event.tenant_id, f"Visit planned for {when} ({len(event.worker_ids)} worker(s))"


@summarize.register
def _(event: VisitCompleted) -> Summary:
    return event.tenant_id, f"Visit completed; wellbeing {event.observations.wellbeing.value}"


@summarize.register
def _(event: VisitFailed) -> Summary:
    return event.tenant_id, f"Visit failed: {event.reason.value.replace('_', ' ')}"
