"""Timeline summaries of the Tenant aggregate's events."""

from __future__ import annotations

from domain.tenant_events import (
    ConsentGiven,
    ConsentWithdrawn,
    FollowUpEnded,
    FollowUpStarted,
    IndividualPlanChanged,
    IndividualPlanEnded,
    IndividualPlanStarted,
    NavNoticeOptedOut,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedIn,
    TenantMovedOut,
    TenantRegistered,
)
from projections.summaries.core import Summary, summarize


@summarize.register
def _(event: TenantRegistered) -> Summary:
    return event.originator_id, "Registered as tenant"


@summarize.register
def _(event: FollowUpStarted) -> Summary:
    return (
        event.originator_id,
        f"Follow-up started {event.started_on.isoformat()}, "
        f"visit every {event.visit_interval_days} days",
    )


@summarize.register
def _(event: FollowUpEnded) -> Summary:
    return event.originator_id, f"Follow-up ended {event.ended_on.isoformat()}"


@summarize.register
def _(event: ResponsibilityAssigned) -> Summary:
    contact = "with a named contact" if event.contact_worker_id else "without a named contact"
    return event.originator_id, f"Responsibility assigned to {event.service.value} {contact}"


@summarize.register
def _(event: ResponsibilityLapsed) -> Summary:
    return event.originator_id, "No responsible service: responsibility lapsed"


@summarize.register
def _(event: TenantMovedIn) -> Summary:
    return event.originator_id, f"Moved in {event.moved_in_on.isoformat()}"


@summarize.register
def _(event: TenantMovedOut) -> Summary:
    return event.originator_id, f"Moved out {event.moved_out_on.isoformat()}"


@summarize.register
def _(event: ConsentGiven) -> Summary:
    recipients = ", ".join(s.value for s in event.consent.recipients)
    return event.originator_id, f"Consent given to share with {recipients}"


@summarize.register
def _(event: ConsentWithdrawn) -> Summary:
    return event.originator_id, "Consent withdrawn"


@summarize.register
def _(event: NavNoticeOptedOut) -> Summary:
    return event.originator_id, "Objected in writing to NAV being notified (husleieloven § 9-11)"


@summarize.register
def _(event: IndividualPlanStarted) -> Summary:
    return (
        event.originator_id,
        f"Individual plan started; coordinator from {event.plan.coordinator_service.value}",
    )


@summarize.register
def _(event: IndividualPlanChanged) -> Summary:
    return (
        event.originator_id,
        f"Individual plan changed; coordinator from {event.coordinator_service.value}",
    )


@summarize.register
def _(event: IndividualPlanEnded) -> Summary:
    return event.originator_id, "Individual plan ended"
