"""Who records each fact: the event catalogue's "raised by" column, from the policy table.

``docs/domain-events.md`` names who records every event; this module derives that from the
endpoints that record it and the policy table's roles for them, and a test keeps the
document equal to :func:`raised_by`, so the docs and the policy cannot drift apart.
"""

from __future__ import annotations

from backend.auth.policy import POLICY
from backend.auth.roles import Role

T = "/tenants/{tenant_id:uuid}"
RC = "/rent-cases/{rent_case_id:uuid}"
FLAG = "/dwellings/{dwelling_id:uuid}/safety-flag"
CONCERN = "/concerns/{concern_id:uuid}"
HANDOVER = "/handovers/{handover_id:uuid}"
NAV = "/nav-notifications/{notification_id:uuid}"
LEASE_END = "/leases/{lease_id:uuid}/end"
EVICTED = f"{RC}/eviction-carried-out"
RENT_STEPS = (
    f"{RC}/arrears",
    f"{RC}/repayment-agreement",
    f"{RC}/rent-deduction",
    f"{RC}/cleared",
    f"{RC}/eviction-warning",
    f"{RC}/eviction-petition",
    f"{RC}/eviction-date",
    EVICTED,
    f"{RC}/eviction-cancelled",
)

# Event -> (the POST endpoints that record it, what else records it).
RECORDED_BY: dict[str, tuple[tuple[str, ...], str]] = {
    "TenantRegistered": (("/tenants",), ""),
    "FollowUpStarted": ((f"{T}/follow-up",), ""),
    "FollowUpEnded": ((f"{T}/follow-up/end",), ""),
    "ResponsibilityAssigned": (
        (f"{T}/responsibility", f"{HANDOVER}/acceptance"),
        "with a handover's completion",
    ),
    "ResponsibilityLapsed": ((), "scheduler (handover settlement)"),
    "TenantMovedIn": (("/leases",), ""),
    "TenantMovedOut": ((LEASE_END, EVICTED), ""),
    "ConsentGiven": ((f"{T}/consents",), ""),
    "ConsentWithdrawn": ((f"{T}/consents/{{consent_id:uuid}}/withdrawal",), ""),
    "NavNoticeOptedOut": ((f"{T}/nav-notice-objection",), ""),
    "IndividualPlanStarted": ((f"{T}/individual-plan",), ""),
    "IndividualPlanChanged": ((f"{T}/individual-plan/change",), ""),
    "IndividualPlanEnded": ((f"{T}/individual-plan/end",), ""),
    "VisitPlanned": ((f"{T}/visits",), ""),
    "VisitCompleted": (("/visits/{visit_id:uuid}/completion",), ""),
    "VisitFailed": (("/visits/{visit_id:uuid}/failure",), ""),
    "DwellingRegistered": (("/dwellings",), ""),
    "SafetyFlagSet": ((FLAG,), ""),
    "SafetyFlagChanged": ((f"{FLAG}/change",), ""),
    "SafetyFlagReviewed": ((f"{FLAG}/review",), ""),
    "SafetyFlagLifted": ((f"{FLAG}/lift",), ""),
    "DwellingLet": (("/leases",), ""),
    "DwellingVacated": ((LEASE_END, EVICTED), ""),
    "LeaseStarted": (("/leases",), ""),
    "LeaseEnded": ((LEASE_END, EVICTED), ""),
    "ConcernRaised": (("/concerns",), ""),
    "ConcernRouted": ((f"{CONCERN}/routing",), "raising, to the responsible service"),
    "ConcernAcknowledged": ((f"{CONCERN}/acknowledgement",), "only the service it is routed to"),
    "ConcernResolved": ((f"{CONCERN}/resolution",), ""),
    "ConcernEscalated": ((f"{CONCERN}/escalation",), ""),
    "RentCaseOpened": (("/rent-cases",), ""),
    "ArrearsReported": ((RENT_STEPS[0],), ""),
    "RepaymentAgreed": ((RENT_STEPS[1],), ""),
    "RentDeductionSetUp": ((RENT_STEPS[2],), ""),
    "ArrearsCleared": ((RENT_STEPS[3],), ""),
    "EvictionWarningIssued": ((RENT_STEPS[4],), ""),
    "EvictionPetitioned": ((RENT_STEPS[5],), ""),
    "EvictionDateSet": ((RENT_STEPS[6],), ""),
    "EvictionCarriedOut": ((EVICTED,), ""),
    "EvictionCancelled": ((RENT_STEPS[8],), ""),
    "NavNotificationWithheld": ((), "system, with the rent case step"),
    "NavNotificationSent": ((), "system, with the rent case step"),
    "NavNotificationAcknowledged": ((f"{NAV}/acknowledgement",), ""),
    "NavNotificationAnswered": ((f"{NAV}/answer",), ""),
    "HandoverAnnounced": (("/handovers",), ""),
    "HandoverAccepted": ((f"{HANDOVER}/acceptance",), "only the receiving service"),
    "HandoverDeclined": ((f"{HANDOVER}/declination",), "only the receiving service"),
    "HandoverCompleted": ((f"{HANDOVER}/acceptance",), "scheduler on the date"),
    "HandoverLapsed": ((), "scheduler on the date"),
    "AlertRaised": ((), "scheduler (time rules)"),
    "AlertEscalated": ((), "scheduler (time rules)"),
    "AlertCleared": ((), "scheduler (time rules)"),
    "AlertAcknowledged": (("/alerts/{alert_id:uuid}/acknowledgement",), "only a recipient"),
    "CheckedIn": (("/check-ins",), ""),
    "CheckedOut": (("/check-ins/{check_in_id:uuid}/check-out",), ""),
}

# In the order the catalogue names them.
ROLE_NAMES = {
    Role.FIELD_WORKER: "field worker",
    Role.TEAM_LEAD: "team lead",
    Role.SERVICE_STAFF: "service staff",
    Role.PROPERTY_MANAGER: "FBE",
    Role.NAV_OFFICER: "NAV",
    Role.ADMIN: "admin",
}


def raised_by(event: str) -> str:
    """The catalogue's "raised by" cell: the roles that may record it, then the rest."""
    endpoints, also = RECORDED_BY[event]
    roles: set[Role] = set()
    for path in endpoints:
        roles |= POLICY[("POST", path)].roles
    names = [name for role, name in ROLE_NAMES.items() if role in roles]
    return "; ".join(part for part in (", ".join(names), also) if part)
