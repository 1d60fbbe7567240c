"""The team lead's pages: the team's caseload, the handover board (the tenants no service
is responsible for on top), the devices with revoke; and everyone's alerts inbox.

Each page runs the query its API route runs and names the tenants it shows to the access
log the same way (``show_tenants``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from backend.auth import devices
from backend.auth.access_log import show_tenants
from backend.auth.authorize import Access
from backend.auth.guards import WEB_PREFIX
from backend.auth.need_to_know import board_service
from backend.auth.roles import Role
from backend.routes.auth import revoke_for
from backend.routes.caseload import caseload_caught_up
from backend.routes.review_inbox import ResolveReview, resolve_item
from backend.runtime import Clock, ReadModels
from backend.web import forms
from backend.web.fbe import PAGE_SIZE, position_asked
from backend.web.render import labels, page
from backend.write_access import WriteAccess
from domain.alert_commands import AcknowledgeAlert
from domain.alerts import no_such_alert
from domain.events import Actor, local_date
from domain.write_model import CommandResult
from projections import alerts as alert_board
from projections.alerts import AlertState
from projections.caseload import CaseloadProjection
from projections.caseload_queries import (
    NO_FILTERS,
    caseload_for_team,
    tenants_without_responsible_service,
)
from projections.handover_board import handover_board
from projections.handovers import HandoverScheduleProjection
from sync import review

LEAD_ROLES = (Role.TEAM_LEAD, Role.SERVICE_STAFF)


class LeadPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False

    @get("/caseload")
    async def caseload(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        read_models: NamedDependency[ReadModels],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        """The caller's own team: the tenants their service is responsible for."""
        await caseload_caught_up(read_models, position_asked(request))
        service = access.principal.service
        async with pool.acquire() as conn:
            found = await caseload_for_team(conn, service, clock(), NO_FILTERS, None, PAGE_SIZE)
        show_tenants(request, ((e.tenant_id, None) for e in found.items))
        return page(request, "caseload.html", entries=found.items, service=service)

    @get("/handover-board")
    async def handover_board(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        read_models: NamedDependency[ReadModels],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Template:
        await read_models.at(HandoverScheduleProjection.name, position_asked(request))
        await read_models.at(CaseloadProjection.name, position_asked(request))
        principal = access.principal
        gap = None
        async with pool.acquire() as conn:
            # The tenants nobody follows are for the leads, who assign them: on top.
            if principal.has_any(*LEAD_ROLES):
                gap = await tenants_without_responsible_service(conn, None, PAGE_SIZE)
                show_tenants(request, ((e.tenant_id, None) for e in gap.items))
            board = await handover_board(
                conn,
                today=local_date(clock()),
                involving=board_service(principal),
                limit=PAGE_SIZE,
            )
        show_tenants(request, ((h.tenant_id, h.handover_id) for h in board.items))
        return page(
            request,
            "handover_board.html",
            gap=None if gap is None else gap.items,
            board=board,
        )

    @get("/devices")
    async def devices(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Template:
        """The devices of the lead's service (an admin's: every service's)."""
        principal = access.principal
        service = None if principal.has_any(Role.ADMIN) else principal.service
        async with pool.acquire() as conn:
            found = await devices.devices_of_service(conn, service)
        return page(request, "devices.html", devices=found, done=request.query_params.get("done"))

    @post("/devices/{device_id:uuid}/revocation", status_code=HTTP_303_SEE_OTHER)
    async def revoke(
        self,
        device_id: FromPath[UUID],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Redirect:
        async with pool.acquire() as conn:
            await revoke_for(conn, access.principal, device_id, clock())
        return Redirect(f"{WEB_PREFIX}/devices?done=revoked", status_code=HTTP_303_SEE_OTHER)

    @get("/alerts")
    async def alerts(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
    ) -> Template:
        return await _alerts_page(request, access, pool, read_models)

    @post("/alerts/{alert_id:uuid}/acknowledgement", status_code=HTTP_303_SEE_OTHER)
    async def acknowledge_alert(
        self,
        request: Request[Any, Any, Any],
        alert_id: FromPath[UUID],
        access: NamedDependency[Access],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        t = labels(request)
        values = forms.form_values(await request.form())

        async def run(command: AcknowledgeAlert) -> CommandResult:
            return await write.command(
                lambda uc: uc.alerts.acknowledge_alert, alert_id, command, actor
            )

        # An alert the caller was not told of is 404, as the API answers it.
        result, errors, status = await forms.submit(
            t, values, AcknowledgeAlert, run, {"note"}, passes=frozenset({"must_exist"})
        )
        position = None if result is None else result.position
        if result is not None and not _from_htmx(request):
            target = f"{WEB_PREFIX}/alerts?done=1&min_position={result.position}"
            return Redirect(target, status_code=HTTP_303_SEE_OTHER)
        form = {"alert_id": str(alert_id), "values": values, "errors": errors}
        if _from_htmx(request):
            # htmx swaps the alert's row for this answer: the row alone, as it stands now.
            await read_models.at(alert_board.NAME, position)
            async with pool.acquire() as conn:
                entry = await alert_board.entry(conn, access.principal.user_id, alert_id)
            if entry is None:
                raise no_such_alert(alert_id)
            return page(request, "alerts_row.html", status=status, a=entry, form=form)
        return await _alerts_page(request, access, pool, read_models, status=status, form=form)


def _from_htmx(request: Request[Any, Any, Any]) -> bool:
    """A request htmx made (it says so in ``HX-Request``): it wants a fragment back."""
    return request.headers.get("hx-request") == "true"


class ReviewInboxPage(Controller):
    path = WEB_PREFIX + "/review-inbox"
    include_in_schema = False

    @get("/")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
    ) -> Template:
        return await _review_page(request, access, pool)

    @post("/{item_id:uuid}/resolution", status_code=HTTP_303_SEE_OTHER)
    async def resolve(
        self,
        request: Request[Any, Any, Any],
        item_id: FromPath[UUID],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Response[Any]:
        """Resolve with a note, as ``POST /review-inbox/{id}/resolution`` (once)."""
        t = labels(request)
        values = forms.form_values(await request.form())
        command, errors = forms.parse(ResolveReview, values, t)
        if command is None:
            form = {"item_id": str(item_id), "values": values, "errors": errors}
            return await _review_page(request, access, pool, status=400, form=form)
        await resolve_item(request, access, pool, clock(), item_id, command.note)
        return Redirect(f"{WEB_PREFIX}/review-inbox?done=1", status_code=HTTP_303_SEE_OTHER)


async def _review_page(
    request: Request[Any, Any, Any],
    access: Access,
    pool: asyncpg.Pool,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Template:
    """The open items recorded by the lead's own service's users, the longest waiting
    first, each with the command as the device sent it (decision 60)."""
    async with pool.acquire() as conn:
        found = await review.inbox(conn, service=access.principal.service, limit=PAGE_SIZE)
    show_tenants(request, ((e.tenant_id, e.item_id) for e in found.items))
    return page(
        request,
        "review_inbox.html",
        status=status,
        items=found.items,
        form=form or {},
        done=request.query_params.get("done"),
    )


async def _alerts_page(
    request: Request[Any, Any, Any],
    access: Access,
    pool: asyncpg.Pool,
    read_models: ReadModels,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Template:
    await read_models.at(alert_board.NAME, position_asked(request))
    async with pool.acquire() as conn:
        found = await alert_board.inbox(
            conn,
            access.principal.user_id,
            states=(AlertState.OPEN, AlertState.ACKNOWLEDGED),
            limit=PAGE_SIZE,
        )
    show_tenants(request, ((e.tenant_id, e.alert_id) for e in found.items if e.tenant_id))
    return page(
        request,
        "alerts.html",
        status=status,
        alerts=found.items,
        form=form or {},
        done=request.query_params.get("done"),
    )
