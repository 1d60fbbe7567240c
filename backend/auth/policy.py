"""Who may do what: the policy table, one line per endpoint (role, endpoint, fields).

Every route is listed here; :mod:`backend.auth.authorize` enforces the table in one guard
on the application, and a route missing from it is refused (403 ``no_policy``), so a new
endpoint gets its rule by adding one line below. ``docs/access.md`` shows the same table
(``python -m backend.auth.policy`` prints it) and ``tests/test_access_policy.py`` tests it.

A line says:

* ``roles``: who may call the endpoint at all (else 403 ``role_required``);
* ``subject``: what the request is about, whose tenant decides need to know
  (:class:`Subject`); the caller must hold one of ``views`` on that tenant (else 404,
  the same answer as for a tenant that does not exist, so ids cannot be probed);
* ``views``: which relations to the tenant (:class:`View`, decided in
  :mod:`backend.auth.need_to_know`) are enough; the view also chooses the fields answered
  (:data:`TENANT_FIELDS`);
* ``password_sign_in``: refused to a session that began from a tablet's device credential.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

import msgspec

from backend.auth.roles import Role


class View(StrEnum):
    """How the caller stands to a tenant: what they have a need to know (tjenstlig behov)."""

    # Follows the tenant: the contact worker, the responsible service's team, a service in
    # the individual plan's responsibility group (ansvarsgruppe).
    FULL = "full"
    # A service named in a handover still waiting for an answer: what it needs to accept
    # or decline, nothing of the visits or concerns.
    HANDOVER = "handover"
    # The property manager (FBE): identity, home and lease, whom to call. Never visit
    # notes, health or drug information.
    PROPERTY = "property"
    # NAV, while a notification it was sent still has its basis (the law, or a consent
    # in force): the minimum identity.
    NAV = "nav"


class Subject(StrEnum):
    """Where the guard finds the tenant a request is about."""

    NONE = "none"  # no one tenant: the handler scopes its rows to the caller, or no tenant data
    TENANT = "tenant"  # the path's {tenant_id}
    BODY_TENANT = "body_tenant"  # the JSON body's tenant_id
    VISIT = "visit"  # the path's {visit_id} → the visit's tenant
    CONCERN = "concern"  # the concern's tenant; or the caller's service raised or holds it
    RENT_CASE = "rent_case"
    LEASE = "lease"
    HANDOVER = "handover"  # the handover's tenant; or the caller's service is named in it
    NAV_NOTIFICATION = "nav_notification"  # NAV: this notification's basis must hold
    # The path's {dwelling_id} → its resident, if any: a caller with none of the rule's
    # views of the resident still gets the dwelling, without who lives there.
    DWELLING = "dwelling"
    WORKER = "worker"  # the path's {worker_id}: oneself, or a worker of one's own service
    TEAM = "team"  # the path's {service}: one's own service


class Rule(msgspec.Struct, frozen=True):
    roles: frozenset[Role]
    subject: Subject = Subject.NONE
    views: frozenset[View] = frozenset()
    password_sign_in: bool = False


def rule(
    roles: Iterable[Role],
    subject: Subject = Subject.NONE,
    views: Iterable[View] = (),
    *,
    password_sign_in: bool = False,
) -> Rule:
    return Rule(frozenset(roles), subject, frozenset(views), password_sign_in)


FW, TL, SS = Role.FIELD_WORKER, Role.TEAM_LEAD, Role.SERVICE_STAFF
PM, NAVO, ADMIN = Role.PROPERTY_MANAGER, Role.NAV_OFFICER, Role.ADMIN

ANYONE = tuple(Role)  # any signed-in caller
FOLLOWERS = (FW, TL, SS)  # those who follow tenants up
LEADS = (TL, SS)
STAFF = (FW, TL, SS, PM)  # everyone who visits or lets homes
ALL_VIEWS = tuple(View)
FULL = (View.FULL,)
FOLLOW_OR_HANDOVER = (View.FULL, View.HANDOVER)
HOUSING = (View.FULL, View.PROPERTY)
RENT_READERS = (View.FULL, View.PROPERTY, View.NAV)
RESIDENT_READERS = (View.FULL, View.HANDOVER, View.PROPERTY)

S = Subject

POLICY: dict[tuple[str, str], Rule] = {
    # --- tenants ---------------------------------------------------------------------------
    ("POST", "/tenants"): rule(LEADS),
    ("GET", "/tenants/{tenant_id:uuid}"): rule((*STAFF, NAVO), S.TENANT, ALL_VIEWS),
    ("GET", "/tenants/{tenant_id:uuid}/timeline"): rule(FOLLOWERS, S.TENANT, FULL),
    ("GET", "/tenants/{tenant_id:uuid}/timeline/kept-for-review"): rule(FOLLOWERS, S.TENANT, FULL),
    ("GET", "/tenants/{tenant_id:uuid}/risk-timeline"): rule(FOLLOWERS, S.TENANT, FULL),
    ("GET", "/tenants/{tenant_id:uuid}/handovers"): rule(FOLLOWERS, S.TENANT, FOLLOW_OR_HANDOVER),
    ("GET", "/tenants/without-responsible-service"): rule(LEADS),
    ("POST", "/tenants/{tenant_id:uuid}/follow-up"): rule(LEADS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/follow-up/end"): rule(LEADS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/responsibility"): rule(LEADS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/visits"): rule(FOLLOWERS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/consents"): rule(FOLLOWERS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/consents/{consent_id:uuid}/withdrawal"): rule(
        FOLLOWERS, S.TENANT, FULL
    ),
    # The landlord (FBE) is who receives the tenant's written objection (husleieloven § 9-11).
    ("POST", "/tenants/{tenant_id:uuid}/nav-notice-objection"): rule(
        (*FOLLOWERS, PM), S.TENANT, HOUSING
    ),
    ("POST", "/tenants/{tenant_id:uuid}/individual-plan"): rule(LEADS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/individual-plan/change"): rule(LEADS, S.TENANT, FULL),
    ("POST", "/tenants/{tenant_id:uuid}/individual-plan/end"): rule(LEADS, S.TENANT, FULL),
    # --- visits ----------------------------------------------------------------------------
    ("GET", "/visits/{visit_id:uuid}"): rule(FOLLOWERS, S.VISIT, FULL),
    ("POST", "/visits/{visit_id:uuid}/completion"): rule(FOLLOWERS, S.VISIT, FULL),
    ("POST", "/visits/{visit_id:uuid}/failure"): rule(FOLLOWERS, S.VISIT, FULL),
    # --- lone-worker check-in (docs/lone-work.md): the worker's own record ----------------
    # A tenant named in the body must be one the caller follows; reading and checking out
    # are for the worker, the second worker and the leads of the worker's service (the
    # use case answers anyone else 404).
    ("POST", "/check-ins"): rule(FOLLOWERS, S.BODY_TENANT, FULL),
    ("GET", "/check-ins/{check_in_id:uuid}"): rule(FOLLOWERS),
    ("POST", "/check-ins/{check_in_id:uuid}/check-out"): rule(FOLLOWERS),
    ("GET", "/me/timeline"): rule(FOLLOWERS),
    # --- concerns (bekymringsmeldinger): anyone may raise one about anyone ----------------
    ("POST", "/concerns"): rule((*STAFF, NAVO)),
    ("GET", "/concerns"): rule((*STAFF, NAVO)),
    ("GET", "/concerns/{concern_id:uuid}"): rule((*STAFF, NAVO), S.CONCERN, FULL),
    ("POST", "/concerns/{concern_id:uuid}/routing"): rule((*LEADS, PM), S.CONCERN, FULL),
    ("POST", "/concerns/{concern_id:uuid}/acknowledgement"): rule((*STAFF, NAVO), S.CONCERN, FULL),
    ("POST", "/concerns/{concern_id:uuid}/resolution"): rule((*STAFF, NAVO), S.CONCERN, FULL),
    ("POST", "/concerns/{concern_id:uuid}/escalation"): rule((*STAFF, NAVO), S.CONCERN, FULL),
    # --- dwellings and safety flags --------------------------------------------------------
    # The outreach team registers and flags privately let homes too.
    ("POST", "/dwellings"): rule((PM, TL)),
    ("GET", "/dwellings/{dwelling_id:uuid}"): rule(STAFF, S.DWELLING, RESIDENT_READERS),
    ("POST", "/dwellings/{dwelling_id:uuid}/safety-flag"): rule((PM, TL)),
    ("POST", "/dwellings/{dwelling_id:uuid}/safety-flag/change"): rule((PM, TL)),
    ("POST", "/dwellings/{dwelling_id:uuid}/safety-flag/review"): rule((PM, TL)),
    ("POST", "/dwellings/{dwelling_id:uuid}/safety-flag/lift"): rule((PM, TL)),
    ("GET", "/safety-register"): rule(STAFF),
    ("GET", "/safety-register/{dwelling_id:uuid}/history"): rule(STAFF),
    # The devices of the caller's service (the property manager: of every service) that
    # have not pulled the address's current flag; no tenant data.
    ("GET", "/safety-register/{dwelling_id:uuid}/devices-lacking"): rule((*LEADS, PM)),
    # --- leases and rent: the property manager's ------------------------------------------
    ("POST", "/leases"): rule((PM, TL)),
    ("GET", "/leases/{lease_id:uuid}"): rule(STAFF, S.LEASE, HOUSING),
    ("POST", "/leases/{lease_id:uuid}/end"): rule((PM, TL), S.LEASE, HOUSING),
    ("POST", "/rent-cases"): rule((PM,)),
    ("GET", "/rent-cases/{rent_case_id:uuid}"): rule((*STAFF, NAVO), S.RENT_CASE, RENT_READERS),
    ("GET", "/tenants/{tenant_id:uuid}/rent-cases"): rule((*STAFF, NAVO), S.TENANT, RENT_READERS),
    ("POST", "/rent-cases/{rent_case_id:uuid}/arrears"): rule((PM,), S.RENT_CASE, HOUSING),
    # NAV, once told, records a repayment agreement and draws the rent from benefits.
    ("POST", "/rent-cases/{rent_case_id:uuid}/repayment-agreement"): rule(
        (PM, NAVO), S.RENT_CASE, RENT_READERS
    ),
    ("POST", "/rent-cases/{rent_case_id:uuid}/rent-deduction"): rule(
        (PM, NAVO), S.RENT_CASE, RENT_READERS
    ),
    ("POST", "/rent-cases/{rent_case_id:uuid}/cleared"): rule((PM,), S.RENT_CASE, HOUSING),
    ("POST", "/rent-cases/{rent_case_id:uuid}/eviction-warning"): rule((PM,), S.RENT_CASE, HOUSING),
    ("POST", "/rent-cases/{rent_case_id:uuid}/eviction-petition"): rule(
        (PM,), S.RENT_CASE, HOUSING
    ),
    ("POST", "/rent-cases/{rent_case_id:uuid}/eviction-date"): rule((PM,), S.RENT_CASE, HOUSING),
    ("POST", "/rent-cases/{rent_case_id:uuid}/eviction-carried-out"): rule(
        (PM,), S.RENT_CASE, HOUSING
    ),
    ("POST", "/rent-cases/{rent_case_id:uuid}/eviction-cancelled"): rule(
        (PM,), S.RENT_CASE, HOUSING
    ),
    # --- NAV -------------------------------------------------------------------------------
    ("GET", "/nav-inbox"): rule((NAVO,)),
    ("GET", "/nav-notifications/{notification_id:uuid}"): rule(
        (NAVO, *FOLLOWERS), S.NAV_NOTIFICATION, FULL
    ),
    ("POST", "/nav-notifications/{notification_id:uuid}/acknowledgement"): rule(
        (NAVO,), S.NAV_NOTIFICATION
    ),
    ("POST", "/nav-notifications/{notification_id:uuid}/answer"): rule((NAVO,), S.NAV_NOTIFICATION),
    # --- handovers (at release, at 18, at the end of the refugee programme) ----------------
    ("POST", "/handovers"): rule(LEADS, S.BODY_TENANT, FULL),
    ("GET", "/handovers/{handover_id:uuid}"): rule(FOLLOWERS, S.HANDOVER, FULL),
    ("POST", "/handovers/{handover_id:uuid}/acceptance"): rule(FOLLOWERS, S.HANDOVER),
    ("POST", "/handovers/{handover_id:uuid}/declination"): rule(LEADS, S.HANDOVER),
    ("GET", "/handover-board"): rule(FOLLOWERS),
    # --- caseloads -------------------------------------------------------------------------
    ("GET", "/caseload/workers/{worker_id:uuid}"): rule(FOLLOWERS, S.WORKER),
    ("GET", "/caseload/teams/{service:str}"): rule(LEADS, S.TEAM),
    # --- sign-in, devices, administration, operations -------------------------------------
    ("GET", "/auth/me"): rule(ANYONE),
    ("POST", "/auth/logout"): rule(ANYONE),
    ("POST", "/devices"): rule((FW,), password_sign_in=True),
    ("POST", "/devices/{device_id:uuid}/revocation"): rule((TL, ADMIN)),
    # --- offline sync (docs/sync-protocol.md): a field worker's registered tablet ----------
    # Need to know is decided per item and per tenant sent, by the lines of the commands.
    ("POST", "/sync/{version:str}/push"): rule((FW,)),
    ("POST", "/sync/{version:str}/pull"): rule((FW,)),
    # The review inbox: items recorded by the caller's own service's users (decision 60).
    ("GET", "/review-inbox"): rule(LEADS),
    ("POST", "/review-inbox/{item_id:uuid}/resolution"): rule(LEADS),
    # --- alerts: everyone's own inbox; an alert they were not told of is not found -------
    ("GET", "/alerts"): rule(ANYONE),
    ("GET", "/alerts/{alert_id:uuid}"): rule(ANYONE),
    ("POST", "/alerts/{alert_id:uuid}/acknowledgement"): rule(ANYONE),
    ("GET", "/admin/users"): rule((ADMIN,)),
    ("GET", "/admin/devices"): rule((ADMIN,)),
    ("POST", "/admin/users"): rule((ADMIN,)),
    ("GET", "/admin/access-log"): rule((ADMIN,)),
    # NAV deliveries: state and history only, never the notification's content.
    ("GET", "/admin/nav-deliveries"): rule((ADMIN,)),
    ("POST", "/admin/nav-deliveries/{delivery_id:uuid}/retry"): rule((ADMIN,)),
    ("POST", "/projections/{name:str}/parked/retry"): rule((ADMIN,)),
    # --- web pages (docs/web.md): the same rules as the API routes they show -------------
    # Sign-in (GET and POST /web/sign-in) and the stylesheets are public (guards.py).
    ("GET", "/web"): rule(ANYONE),
    ("POST", "/web/sign-out"): rule(ANYONE),
    # The concerns the caller's service raised, and the form that raises one.
    ("GET", "/web/concerns"): rule((*STAFF, NAVO)),
    ("GET", "/web/concerns/new"): rule((*STAFF, NAVO)),
    ("POST", "/web/concerns"): rule((*STAFF, NAVO)),
    ("GET", "/web/safety-register"): rule(STAFF),
    ("POST", "/web/safety-flag"): rule((PM, TL)),
    ("POST", "/web/dwellings/{dwelling_id:uuid}/safety-flag/change"): rule((PM, TL)),
    ("POST", "/web/dwellings/{dwelling_id:uuid}/safety-flag/review"): rule((PM, TL)),
    ("POST", "/web/dwellings/{dwelling_id:uuid}/safety-flag/lift"): rule((PM, TL)),
    # Report arrears on a lease: opens the lease's rent case if need be, then reports.
    ("GET", "/web/arrears"): rule((PM,)),
    ("GET", "/web/leases/{lease_id:uuid}/arrears"): rule((PM,), S.LEASE, HOUSING),
    ("POST", "/web/leases/{lease_id:uuid}/arrears"): rule((PM,), S.LEASE, HOUSING),
    # NAV's inbox: the notifications whose basis holds, the tenant's NAV fields only.
    ("GET", "/web/nav-inbox"): rule((NAVO,)),
    ("POST", "/web/nav-notifications/{notification_id:uuid}/acknowledgement"): rule(
        (NAVO,), S.NAV_NOTIFICATION
    ),
    ("POST", "/web/nav-notifications/{notification_id:uuid}/answer"): rule(
        (NAVO,), S.NAV_NOTIFICATION
    ),
    # The lead's own team (the API's /caseload/teams/{service} for their own service).
    ("GET", "/web/caseload"): rule(LEADS),
    ("GET", "/web/handover-board"): rule(FOLLOWERS),
    ("GET", "/web/devices"): rule((TL, ADMIN)),
    ("POST", "/web/devices/{device_id:uuid}/revocation"): rule((TL, ADMIN)),
    ("GET", "/web/alerts"): rule(ANYONE),
    ("POST", "/web/alerts/{alert_id:uuid}/acknowledgement"): rule(ANYONE),
    # The review inbox: items recorded by the caller's own service's users (decision 60).
    ("GET", "/web/review-inbox"): rule(LEADS),
    ("POST", "/web/review-inbox/{item_id:uuid}/resolution"): rule(LEADS),
    # The tenant page: the risk timeline's chart and the timeline (the API's lines).
    ("GET", "/web/tenants/{tenant_id:uuid}"): rule(FOLLOWERS, S.TENANT, FULL),
}


# The fields of a tenant (``GET /tenants/{id}``) each view answers; FULL answers them all.
TENANT_FIELDS: dict[View, frozenset[str] | None] = {
    View.FULL: None,
    View.HANDOVER: frozenset(
        {
            "id",
            "version",
            "full_name",
            "birth_date",
            "follow_up",
            "responsible_service",
            "contact_worker_id",
            "responsibility_gap_since",
            "dwelling_id",
            "individual_plan",
        }
    ),
    View.PROPERTY: frozenset(
        {
            "id",
            "version",
            "full_name",
            "birth_date",
            "responsible_service",
            "contact_worker_id",
            "dwelling_id",
            "lease_id",
            "lease_ids",
        }
    ),
    View.NAV: frozenset({"id", "full_name", "birth_date"}),
}

# The fields of a dwelling (``GET /dwellings/{id}``) that say who lives there: only for a
# caller with a view of that resident (:data:`Subject.DWELLING`).
RESIDENT_FIELDS = frozenset({"tenant_id", "active_lease_id"})

# When a caller holds several views (a user with two roles), the answer uses the first.
VIEW_PREFERENCE: tuple[View, ...] = (View.FULL, View.HANDOVER, View.PROPERTY, View.NAV)


def _untyped(path: str) -> str:
    """``/tenants/{tenant_id:uuid}`` as the request scope names it: ``/tenants/{tenant_id}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path).rstrip("/") or "/"


_BY_TEMPLATE = {(method, _untyped(path)): line for (method, path), line in POLICY.items()}


def rule_for(method: str, path_template: str) -> Rule | None:
    return _BY_TEMPLATE.get((method.upper(), _untyped(path_template)))


def matrix_markdown() -> str:
    """The policy table as the Markdown matrix in docs/access.md."""
    roles = list(Role)
    lines = [
        "| endpoint | " + " | ".join(r.value for r in roles) + " | tenant from | views |",
        "| --- | " + " | ".join("---" for _ in roles) + " | --- | --- |",
    ]
    for (method, path), line in POLICY.items():
        marks = " | ".join("x" if r in line.roles else "" for r in roles)
        views = ", ".join(v.value for v in VIEW_PREFERENCE if v in line.views) or "-"
        subject = "-" if line.subject is Subject.NONE else line.subject.value
        if line.password_sign_in:
            subject += " (password sign-in)"
        lines.append(f"| `{method} {path}` | {marks} | {subject} | {views} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(matrix_markdown())
