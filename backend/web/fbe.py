"""The property manager's (FBE's) pages: raise a concern and follow those raised, the
address safety register with its flags, and arrears on a lease.

Each page calls what the API route calls (the concern tracker's query, the use cases
through :class:`~backend.write_access.WriteAccess`), under its own line of the policy
table, and names the tenants it shows to the access log (``show_tenants``) as the API does.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from backend.auth.access_log import show_tenants
from backend.auth.authorize import Access
from backend.auth.guards import WEB_PREFIX
from backend.auth.need_to_know import board_service
from backend.runtime import Clock, ReadModels
from backend.web import forms
from backend.web.render import labels, page
from backend.write_access import WriteAccess
from domain.concern import ConcernCategory
from domain.concern_commands import RaiseConcern
from domain.dwelling import SafetyFlagKind, SafetyFlagReason
from domain.errors import DomainError, UnknownAggregate
from domain.events import Actor, local_date
from domain.housing_commands import (
    ChangeSafetyFlag,
    LiftSafetyFlag,
    ReviewSafetyFlag,
    SetSafetyFlag,
)
from domain.rent import rent_case_id_for
from domain.rent_commands import OpenRentCase, ReportArrears
from domain.write_model import CommandResult
from projections.concern_tracker import ConcernTrackerProjection, concern_list
from projections.safety_register import SafetyRegisterProjection, active_flags

CONCERN_FIELDS = {"tenant_id", "dwelling_id", "category", "description"}
PAGE_SIZE = 100


def position_asked(request: Request[Any, Any, Any]) -> int | None:
    """The event position a redirect after a change asks the page to show (or None)."""
    raw = request.query_params.get("min_position", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def waited(t: Any, seconds: int) -> str:
    if seconds >= 86400:
        return str(t("days", n=seconds // 86400))
    return str(t("hours", n=seconds // 3600))


class ConcernPages(Controller):
    path = WEB_PREFIX + "/concerns"
    include_in_schema = False

    @get("/")
    async def raised(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        access: NamedDependency[Access],
    ) -> Template:
        """The concerns the caller's service raised: waiting first, the longest wait first."""
        await read_models.at(ConcernTrackerProjection.name, position_asked(request))
        principal = access.principal
        async with pool.acquire() as conn:
            found = await concern_list(
                conn,
                now=clock(),
                raised_by=principal.service,
                involving=board_service(principal),
                limit=PAGE_SIZE,
            )
        show_tenants(request, ((c.tenant_id, c.concern_id) for c in found.items))
        t = labels(request)
        rows = [(c, waited(t, c.waiting_unacknowledged_s)) for c in found.items]
        return page(request, "concerns.html", rows=rows, raised=request.query_params.get("raised"))

    @get("/new")
    async def new(self, request: Request[Any, Any, Any]) -> Template:
        values = {k: request.query_params.get(k, "") for k in ("tenant_id", "dwelling_id")}
        return page(request, "concern_new.html", **_concern_form(values, {}))

    @post("/", status_code=HTTP_303_SEE_OTHER)
    async def raise_concern(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> Response[Any]:
        t = labels(request)
        values = forms.form_values(await request.form())
        command, errors = forms.parse(RaiseConcern, values, t)
        if command is not None and command.tenant_id is None and command.dwelling_id is None:
            errors = {"tenant_id": t["tenant_or_address"]}
        if command is None or errors:
            context = _concern_form(values, errors)
            return page(request, "concern_new.html", status=400, **context)
        try:
            result = await write.command(lambda uc: uc.concerns.raise_concern, command, actor)
        except DomainError as refused:
            errors = forms.refusal(t, refused, CONCERN_FIELDS)
            context = _concern_form(values, errors)
            return page(request, "concern_new.html", status=422, **context)
        target = f"{WEB_PREFIX}/concerns?raised=1&min_position={result.position}"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER)


def _concern_form(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    # The concern's id is chosen when the form is shown: sending it twice raises it once.
    return {
        "values": values,
        "errors": errors,
        "concern_id": values.get("concern_id") or str(uuid.uuid4()),
        "categories": list(ConcernCategory),
    }


FLAG_COMMANDS: dict[str, type[Any]] = {
    "set": SetSafetyFlag,
    "change": ChangeSafetyFlag,
    "review": ReviewSafetyFlag,
    "lift": LiftSafetyFlag,
}


class SafetyRegisterPage(Controller):
    path = WEB_PREFIX
    include_in_schema = False

    @get("/safety-register")
    async def register(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Template:
        return await _register_page(request, pool, clock, read_models)

    @post("/safety-flag", status_code=HTTP_303_SEE_OTHER)
    async def set_flag(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        """Flag an address: the form names the dwelling (the API's path parameter)."""
        raw = forms.form_values(await request.form()).get("dwelling_id", "")
        try:
            dwelling_id = UUID(raw)
        except ValueError:
            t = labels(request)
            errors = {"dwelling_id": t["required"] if not raw else t["not_a_valid_id"]}
            form = {"action": "set", "dwelling_id": raw, "values": {}, "errors": errors}
            return await _register_page(request, pool, clock, read_models, status=400, form=form)
        return await _flag_command(
            request, "set", dwelling_id, actor, write, (pool, clock, read_models)
        )

    @post("/dwellings/{dwelling_id:uuid}/safety-flag/change", status_code=HTTP_303_SEE_OTHER)
    async def change_flag(
        self,
        request: Request[Any, Any, Any],
        dwelling_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        return await _flag_command(
            request, "change", dwelling_id, actor, write, (pool, clock, read_models)
        )

    @post("/dwellings/{dwelling_id:uuid}/safety-flag/review", status_code=HTTP_303_SEE_OTHER)
    async def review_flag(
        self,
        request: Request[Any, Any, Any],
        dwelling_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        return await _flag_command(
            request, "review", dwelling_id, actor, write, (pool, clock, read_models)
        )

    @post("/dwellings/{dwelling_id:uuid}/safety-flag/lift", status_code=HTTP_303_SEE_OTHER)
    async def lift_flag(
        self,
        request: Request[Any, Any, Any],
        dwelling_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
    ) -> Response[Any]:
        return await _flag_command(
            request, "lift", dwelling_id, actor, write, (pool, clock, read_models)
        )


async def _register_page(
    request: Request[Any, Any, Any],
    pool: asyncpg.Pool,
    clock: Clock,
    read_models: ReadModels,
    *,
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> Template:
    # After a change, the page waits for the register to show it (read your writes).
    await read_models.at(SafetyRegisterProjection.name, position_asked(request))
    async with pool.acquire() as conn:
        flags = await active_flags(conn, today=local_date(clock()), limit=PAGE_SIZE)
    return page(
        request,
        "safety_register.html",
        status=status,
        flags=flags.items,
        kinds=list(SafetyFlagKind),
        reasons=list(SafetyFlagReason),
        form=form or {},
        done=request.query_params.get("done"),
        today=local_date(clock()),
    )


async def _flag_command(
    request: Request[Any, Any, Any],
    action: str,
    dwelling_id: UUID,
    actor: Actor,
    write: WriteAccess,
    reads: tuple[asyncpg.Pool, Clock, ReadModels],
) -> Response[Any]:
    t = labels(request)
    values = forms.form_values(await request.form())
    select = {
        "set": lambda uc: uc.housing.set_safety_flag,
        "change": lambda uc: uc.housing.change_safety_flag,
        "review": lambda uc: uc.housing.review_safety_flag,
        "lift": lambda uc: uc.housing.lift_safety_flag,
    }[action]

    async def run(command: Any) -> CommandResult:
        return await write.command(select, dwelling_id, command, actor)

    fields = {"kind", "reason", "review_on", "dwelling_id"}
    result, errors, status = await forms.submit(t, values, FLAG_COMMANDS[action], run, fields)
    if result is not None:
        target = f"{WEB_PREFIX}/safety-register?done={action}&min_position={result.position}"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER)
    values.pop("dwelling_id", None)
    form = {"action": action, "dwelling_id": str(dwelling_id), "values": values, "errors": errors}
    pool, clock, read_models = reads
    return await _register_page(request, pool, clock, read_models, status=status, form=form)


class LeaseFinder(Controller):
    path = WEB_PREFIX + "/arrears"
    include_in_schema = False

    @get("/")
    async def find(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Which lease: the form asks for its id, then goes to that lease's arrears form
        (whose own policy line decides whether the caller may see it)."""
        raw = request.query_params.get("lease_id", "").strip()
        if not raw:
            return page(request, "lease_finder.html", values={}, errors={})
        try:
            lease_id = UUID(raw)
        except ValueError:
            errors = {"lease_id": labels(request)["not_a_valid_id"]}
            return page(
                request, "lease_finder.html", status=400, values={"lease_id": raw}, errors=errors
            )
        return Redirect(f"{WEB_PREFIX}/leases/{lease_id}/arrears", status_code=HTTP_303_SEE_OTHER)


class ArrearsPage(Controller):
    path = WEB_PREFIX + "/leases/{lease_id:uuid}/arrears"
    include_in_schema = False

    @get("/")
    async def form(
        self,
        request: Request[Any, Any, Any],
        lease_id: FromPath[UUID],
        write: NamedDependency[WriteAccess],
    ) -> Template:
        lease = await write.read(lambda uc: uc.records.lease(lease_id))
        if lease is None:
            raise UnknownAggregate("lease_id", "must_exist", f"no lease with id {lease_id}")
        return page(request, "arrears.html", lease_id=lease_id, values={}, errors={})

    @post("/", status_code=HTTP_303_SEE_OTHER)
    async def report(
        self,
        request: Request[Any, Any, Any],
        lease_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
        clock: NamedDependency[Clock],
    ) -> Response[Any]:
        """Open the lease's rent case if it has none (retry-safe: its id is the lease's),
        then report the month's arrears on it: the two use cases the API calls."""
        t = labels(request)
        values = forms.form_values(await request.form())
        command, errors = forms.parse(ReportArrears, values, t)
        if command is None:
            return page(
                request, "arrears.html", status=400, lease_id=lease_id, values=values, errors=errors
            )
        case_id = rent_case_id_for(lease_id)
        now = clock()

        def report(uc: Any) -> Any:
            if uc.records.rent_case(case_id) is None:
                lease = uc.records.lease(lease_id)
                opening = OpenRentCase(lease_id=lease_id, tenant_id=lease.tenant_id)
                uc.rent.open_rent_case(opening, actor, now)
            return uc.rent.report_arrears(case_id, command, actor, now)

        try:
            await write.read(report)
        except DomainError as refused:
            errors = forms.refusal(t, refused, {"month", "amount_nok"})
            return page(
                request, "arrears.html", status=422, lease_id=lease_id, values=values, errors=errors
            )
        return Redirect(
            f"{WEB_PREFIX}/leases/{lease_id}/arrears?done=1", status_code=HTTP_303_SEE_OTHER
        )
