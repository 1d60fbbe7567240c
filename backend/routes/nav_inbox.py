"""NAV's inbox: notifications, their basis, acknowledged or not, and how long they waited."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, Parameter

from backend.auth.access_log import show_tenants
from backend.auth.need_to_know import nav_inbox_current
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from domain.events import local_date
from domain.nav import NavTrigger, NoticeBasis
from projections.nav_inbox import NavInboxProjection, NavInboxRow, inbox
from projections.pagination import DEFAULT_PAGE_SIZE, Page


class NavInboxController(Controller):
    path = "/nav-inbox"
    tags = ["boards"]

    @get("/", summary="NAV notifications: unacknowledged first, the longest waiting first")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        acknowledged: FromQuery[bool | None] = None,
        answered: FromQuery[bool | None] = None,
        trigger: Annotated[
            list[NavTrigger] | None, Parameter(description="One or more triggers")
        ] = None,
        basis: FromQuery[NoticeBasis | None] = None,
        tenant_id: FromQuery[UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[NavInboxRow]:
        await read_models.at(NavInboxProjection.name, min_position)
        # NAV reads only notifications whose basis holds now: a consent withdrawn by the
        # last request must already be seen.
        await nav_inbox_current(pool, read_models)
        async with pool.acquire() as conn:
            page = await inbox(
                conn,
                now=clock(),
                acknowledged=acknowledged,
                answered=answered,
                triggers=trigger or (),
                basis=basis,
                tenant_id=tenant_id,
                basis_holds_on=local_date(clock()),
                cursor=cursor,
                limit=limit,
            )
        show_tenants(request, ((n.tenant_id, n.notification_id) for n in page.items))
        return page
