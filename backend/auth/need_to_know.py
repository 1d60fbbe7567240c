"""Need to know (tjenstlig behov): how a caller stands to one tenant.

:func:`views_on` is the rule, a pure function of the caller and the tenant's
:class:`Standing`; :func:`standing_of` gathers the standing from the write model (the
tenant's responsibility and individual plan, read as of this request) and the read models
(open handovers, NAV notifications and the consents behind them).
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.auth.policy import View
from backend.auth.roles import Principal, Role
from backend.runtime import Runtime
from domain.handover import HandoverStatus
from domain.services import Service
from domain.tenant import Tenant
from projections import events as event_log
from projections.handovers import handovers_for_tenant
from projections.nav_inbox import NavInboxProjection, nav_basis_holds


class Standing(msgspec.Struct, frozen=True, kw_only=True):
    """The facts about a tenant that decide who may see them."""

    responsible_service: Service | None
    contact_worker_id: UUID | None
    # The individual plan's coordinator and responsibility group, while the plan runs.
    plan_coordinator_id: UUID | None = None
    plan_services: frozenset[Service] = frozenset()
    # Services named (giving or receiving) in handovers announced or accepted, not settled.
    handover_services: frozenset[Service] = frozenset()
    # NAV was sent a notification about the tenant and its basis still holds.
    nav_basis_holds: bool = False


def views_on(principal: Principal, standing: Standing) -> frozenset[View]:
    """The views the caller holds on the tenant (empty: no need to know, answered 404)."""
    views: set[View] = set()
    service = principal.service
    for role in principal.roles:
        if role is Role.FIELD_WORKER:
            # Only the own caseload: the tenants one is contact for or coordinates.
            if principal.user_id in (standing.contact_worker_id, standing.plan_coordinator_id):
                views.add(View.FULL)
            elif service in standing.handover_services:
                views.add(View.HANDOVER)
        elif role in LEAD_ROLES:
            if (
                standing.responsible_service is service
                or service in standing.plan_services
                # Nobody follows them up: every team's lead may look, so someone takes over.
                or standing.responsible_service is None
            ):
                views.add(View.FULL)
            elif service in standing.handover_services:
                views.add(View.HANDOVER)
        elif role is Role.PROPERTY_MANAGER:
            views.add(View.PROPERTY)
        elif role is Role.NAV_OFFICER and standing.nav_basis_holds:
            views.add(View.NAV)
        # ADMIN: users, devices and configuration; no tenant data by that role alone.
    return frozenset(views)


FOLLOWER_ROLES = (Role.FIELD_WORKER, Role.TEAM_LEAD, Role.SERVICE_STAFF)
LEAD_ROLES = (Role.TEAM_LEAD, Role.SERVICE_STAFF)
# A declined handover no longer gives the receiving service a reason to look.
WAITING_HANDOVER = frozenset({HandoverStatus.ANNOUNCED.value, HandoverStatus.ACCEPTED.value})


async def standing_of(
    runtime: Runtime, principal: Principal, tenant: Tenant, wanted: frozenset[View]
) -> Standing:
    """The tenant's standing, as far as it can give the caller one of the ``wanted`` views.

    The write model's facts come first; the read models (handovers, NAV notifications) are
    asked only when those facts do not already give the fullest view, and only for views
    the endpoint accepts and the caller's roles can hold.
    """
    plan = tenant.individual_plan
    running = plan if plan is not None and plan.ended_on is None else None
    standing = Standing(
        responsible_service=tenant.responsible_service,
        contact_worker_id=tenant.contact_worker_id,
        plan_coordinator_id=running.coordinator_worker_id if running else None,
        plan_services=(
            frozenset((running.coordinator_service, *running.group)) if running else frozenset()
        ),
    )
    if View.FULL in views_on(principal, standing):
        return standing
    handovers = View.HANDOVER in wanted and principal.has_any(*FOLLOWER_ROLES)
    nav = View.NAV in wanted and principal.has_any(Role.NAV_OFFICER)
    if nav:
        await nav_inbox_current(runtime)
    if not (handovers or nav):
        return standing
    async with runtime.pool.acquire() as conn:
        if handovers:
            standing = msgspec.structs.replace(
                standing,
                handover_services=frozenset(
                    service
                    for h in await handovers_for_tenant(conn, tenant.id)
                    if h.status in WAITING_HANDOVER
                    for service in (Service(h.from_service), Service(h.to_service))
                ),
            )
        if nav:
            holds = await nav_basis_holds(conn, runtime.today(), tenant_id=tenant.id)
            standing = msgspec.structs.replace(standing, nav_basis_holds=holds)
    return standing


async def nav_inbox_current(runtime: Runtime) -> None:
    """Wait until the NAV inbox shows every event committed before this request.

    A withdrawn consent must take effect on the very next request, so NAV's access is
    decided on a read model that has seen the withdrawal.
    """
    async with runtime.pool.acquire() as conn:
        head = await event_log.head_position(conn)
    await runtime.read_model_at(NavInboxProjection.name, head)


def board_service(principal: Principal) -> Service | None:
    """Whose rows the caller sees on the shared boards (concerns, handovers); None: all.

    A service sees the concerns and handovers it raised, holds, gives or receives; the
    coordinating unit (koordinerende enhet) watches every handover, as its work is to see
    that none is lost.
    """
    if principal.service is Service.COORDINATING_UNIT:
        return None
    return principal.service
