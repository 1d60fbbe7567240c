"""Need to know (tjenstlig behov): how a caller stands to one tenant.

:func:`views_on` is the rule, a pure function of the caller and the tenant's
:class:`Standing`. :func:`standing_from` takes the standing from the write model (the
tenant's responsibility and individual plan, read as of this request); :func:`read_facts`
adds what only the read models know (open handovers, NAV notifications and the consents
behind them), asked only when the write model's facts give no view.
"""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec

from backend.auth.policy import View
from backend.auth.roles import Principal, Role
from backend.runtime import ReadModels, Runtime
from domain.handover import HandoverStatus
from domain.municipal_services import Service
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


def standing_from(tenant: Tenant) -> Standing:
    """The write model's facts about the tenant: responsibility and the running plan."""
    plan = tenant.individual_plan
    running = plan if plan is not None and plan.ended_on is None else None
    return Standing(
        responsible_service=tenant.responsible_service,
        contact_worker_id=tenant.contact_worker_id,
        plan_coordinator_id=running.coordinator_worker_id if running else None,
        plan_services=(
            frozenset((running.coordinator_service, *running.group)) if running else frozenset()
        ),
    )


class ReadFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What the read models add: open handovers, NAV's notifications and their basis."""

    handover_services: frozenset[Service] = frozenset()
    nav_basis_holds: bool = False
    # For a request about one NAV notification: that notification's basis holds.
    notification_basis_holds: bool = False


def read_facts_could_help(principal: Principal, wanted: frozenset[View]) -> bool:
    """Whether the read models could give the caller a view the write model did not."""
    return (View.HANDOVER in wanted and principal.has_any(*FOLLOWER_ROLES)) or (
        View.NAV in wanted and principal.has_any(Role.NAV_OFFICER)
    )


def with_read_facts(standing: Standing, facts: ReadFacts) -> Standing:
    return msgspec.structs.replace(
        standing,
        handover_services=facts.handover_services,
        nav_basis_holds=facts.nav_basis_holds,
    )


async def read_facts(
    runtime: Runtime,
    principal: Principal,
    wanted: frozenset[View],
    *,
    tenant_id: UUID | None,
    notification_id: UUID | None = None,
) -> ReadFacts:
    """The read models' facts, asked only for the views the endpoint accepts and the caller's
    roles can hold."""
    handovers = (
        tenant_id is not None and View.HANDOVER in wanted and principal.has_any(*FOLLOWER_ROLES)
    )
    nav = principal.has_any(Role.NAV_OFFICER) and (
        notification_id is not None or (tenant_id is not None and View.NAV in wanted)
    )
    if nav:
        await nav_inbox_current(runtime.pool, runtime.read_models)
    if not (handovers or nav):
        return ReadFacts()
    facts = ReadFacts()
    async with runtime.pool.acquire() as conn:
        if handovers and tenant_id is not None:
            services = frozenset(
                service
                for h in await handovers_for_tenant(conn, tenant_id)
                if h.status in WAITING_HANDOVER
                for service in (Service(h.from_service), Service(h.to_service))
            )
            facts = msgspec.structs.replace(facts, handover_services=services)
        if nav and tenant_id is not None and View.NAV in wanted:
            holds = await nav_basis_holds(conn, runtime.today(), tenant_id=tenant_id)
            facts = msgspec.structs.replace(facts, nav_basis_holds=holds)
        if nav and notification_id is not None:
            holds = await nav_basis_holds(conn, runtime.today(), notification_id=notification_id)
            facts = msgspec.structs.replace(facts, notification_basis_holds=holds)
    return facts


async def nav_inbox_current(pool: asyncpg.Pool, read_models: ReadModels) -> None:
    """Wait until the NAV inbox shows every event committed before this request.

    A withdrawn consent must take effect on the very next request, so NAV's access is
    decided on a read model that has seen the withdrawal.
    """
    async with pool.acquire() as conn:
        head = await event_log.head_position(conn)
    await read_models.at(NavInboxProjection.name, head)


def board_service(principal: Principal) -> Service | None:
    """Whose rows the caller sees on the shared boards (concerns, handovers); None: all.

    A service sees the concerns and handovers it raised, holds, gives or receives; the
    coordinating unit (koordinerende enhet) watches every handover, as its work is to see
    that none is lost.
    """
    if principal.service is Service.COORDINATING_UNIT:
        return None
    return principal.service
