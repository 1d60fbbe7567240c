"""Alerts: each user's inbox of what waited too long, and the acknowledgement.

Anyone signed in has an inbox: the alerts they were told of (docs/alerts.md). An alert
they were not told of is answered as no alert at all (404), like a tenant they may not see.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from backend.auth.access_log import show_tenants
from backend.auth.authorize import Access
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import ReadModels
from backend.write_access import WriteAccess
from domain.alert_commands import AcknowledgeAlert
from domain.alerts import AlertRule, no_such_alert
from domain.events import Actor
from domain.write_model import CommandResult
from projections import alerts as alert_board
from projections.alerts import AlertEntry, AlertState
from projections.pagination import DEFAULT_PAGE_SIZE, Page


class AlertController(Controller):
    path = "/alerts"
    tags = ["alerts"]

    @get(
        "/",
        summary="The caller's alerts, newest first",
        description="Open alerts by default. Each names its rule, its subject's id and "
        "(if any) the tenant's: no names or notes.",
    )
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        alert_state: Annotated[
            list[AlertState] | None,
            QueryParameter(name="state", description="One or more states (default: open)"),
        ] = None,
        rule: Annotated[
            list[AlertRule] | None, QueryParameter(description="One or more rules")
        ] = None,
        tenant_id: FromQuery[UUID | None] = None,
        min_position: MinPosition = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Page[AlertEntry]:
        await read_models.at(alert_board.NAME, min_position)
        async with pool.acquire() as conn:
            page = await alert_board.inbox(
                conn,
                access.principal.user_id,
                states=alert_state or (AlertState.OPEN,),
                rules=rule or (),
                tenant_id=tenant_id,
                cursor=cursor,
                limit=limit,
            )
        show_tenants(request, ((e.tenant_id, e.alert_id) for e in page.items if e.tenant_id))
        return page

    @get("/{alert_id:uuid}", summary="One of the caller's alerts")
    async def one(
        self,
        request: Request[Any, Any, Any],
        alert_id: FromPath[UUID],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        min_position: MinPosition = None,
    ) -> AlertEntry:
        await read_models.at(alert_board.NAME, min_position)
        async with pool.acquire() as conn:
            entry = await alert_board.entry(conn, access.principal.user_id, alert_id)
        if entry is None:  # not told of it: as no alert at all (need to know)
            raise no_such_alert(alert_id)
        if entry.tenant_id is not None:
            show_tenants(request, ((entry.tenant_id, entry.alert_id),))
        return entry

    @post(
        "/{alert_id:uuid}/acknowledgement",
        summary="Acknowledge an alert the caller was told of: its escalation stops",
    )
    async def acknowledge(
        self,
        alert_id: FromPath[UUID],
        data: JSONBody[AcknowledgeAlert],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.alerts.acknowledge_alert, alert_id, data, actor)
