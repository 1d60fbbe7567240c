"""NAV's pages: the inbox of notifications, with the basis for telling NAV said plainly,
and the acknowledge and answer forms.

NAV sees what its line of the policy table lets it see: the notifications whose basis
holds today (the inbox query the API uses, after the same consent catch-up), and of each
tenant only the fields of the NAV view (``TENANT_FIELDS[View.NAV]``: name, birth date).
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

from backend.auth.access_log import show_tenants
from backend.auth.guards import WEB_PREFIX
from backend.auth.need_to_know import nav_inbox_current
from backend.auth.policy import TENANT_FIELDS, View
from backend.runtime import Clock, ReadModels
from backend.web import forms
from backend.web.fbe import PAGE_SIZE, position_asked, waited
from backend.web.render import labels, page
from backend.write_access import WriteAccess
from domain.events import Actor, local_date
from domain.nav import NavAnswer
from domain.nav_commands import AcknowledgeNavNotification, AnswerNavNotification
from domain.write_model import CommandResult
from projections.nav_inbox import NavInboxProjection, inbox

NAV_FIELDS = TENANT_FIELDS[View.NAV] or frozenset()


class NavPages(Controller):
    path = WEB_PREFIX
    include_in_schema = False

    @get("/nav-inbox")
    async def inbox(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        write: NamedDependency[WriteAccess],
    ) -> Template:
        return await _inbox_page(request, pool, clock, read_models, write)

    @post("/nav-notifications/{notification_id:uuid}/acknowledgement")
    async def acknowledge(
        self,
        request: Request[Any, Any, Any],
        notification_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> Response[Any]:
        result = await write.command(
            lambda uc: uc.nav.acknowledge_nav_notification,
            notification_id,
            AcknowledgeNavNotification(),
            actor,
        )
        target = f"{WEB_PREFIX}/nav-inbox?done=acknowledged&min_position={result.position}"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER)

    @post("/nav-notifications/{notification_id:uuid}/answer")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        notification_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        t = labels(request)
        values = forms.form_values(await request.form())

        async def run(command: AnswerNavNotification) -> CommandResult:
            return await write.command(
                lambda uc: uc.nav.answer_nav_notification, notification_id, command, actor
            )

        result, errors, status = await forms.submit(
            t, values, AnswerNavNotification, run, {"answer", "text"}
        )
        if result is not None:
            target = f"{WEB_PREFIX}/nav-inbox?done=answered&min_position={result.position}"
            return Redirect(target, status_code=HTTP_303_SEE_OTHER)
        form = {"notification_id": str(notification_id), "values": values, "errors": errors}
        return await _inbox_page(request, pool, clock, read_models, write, status=status, form=form)


async def _inbox_page(
    request: Request[Any, Any, Any],
    pool: asyncpg.Pool,
    clock: Clock,
    read_models: ReadModels,
    write: WriteAccess,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Template:
    await read_models.at(NavInboxProjection.name, position_asked(request))
    # As the API: a consent withdrawn by the last request is already seen.
    await nav_inbox_current(pool, read_models)
    async with pool.acquire() as conn:
        found = await inbox(conn, now=clock(), basis_holds_on=local_date(clock()), limit=PAGE_SIZE)
    show_tenants(request, ((n.tenant_id, n.notification_id) for n in found.items))
    ids = {n.tenant_id for n in found.items}

    def nav_view(uc: Any) -> dict[UUID, dict[str, Any]]:
        people: dict[UUID, dict[str, Any]] = {}
        for tenant_id in ids:
            tenant = uc.records.tenant(tenant_id)
            if tenant is not None:
                people[tenant_id] = {f: getattr(tenant, f, None) for f in NAV_FIELDS}
        return people

    people = await write.read(nav_view)
    t = labels(request)
    rows = [(n, people.get(n.tenant_id, {}), waited(t, n.waiting_s)) for n in found.items]
    return page(
        request,
        "nav_inbox.html",
        status=status,
        rows=rows,
        answers=list(NavAnswer),
        form=form or {},
        done=request.query_params.get("done"),
    )
