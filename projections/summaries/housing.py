"""Timeline summaries of leases: the tenant's tenancy starting and ending.

Safety flags are facts about an address, not a tenant: putting them on a tenant's
timeline needs a join from the address to whoever lives there (the projections issue).
DwellingLet/DwellingVacated are not summarised: TenantMovedIn/TenantMovedOut already are.
"""

from __future__ import annotations

from domain.lease import LeaseEnded, LeaseStarted
from projections.summaries.core import Summary, summarize


@summarize.register
def _(event: LeaseStarted) -> Summary:
    if event.term_months is not None:
        length = f", {event.term_months}-month lease"
    elif event.ends_on is not None:
        length = ", time-limited lease"
    else:
        length = ", open-ended lease"
    until = f" until {event.ends_on.isoformat()}" if event.ends_on else ""
    return event.tenant_id, f"Lease started {event.starts_on.isoformat()}{length}{until}"


@summarize.register
def _(event: LeaseEnded) -> Summary:
    reason = event.reason.value.replace("_", " ")
    return event.tenant_id, f"Lease ended {event.ended_on.isoformat()}: {reason}"
