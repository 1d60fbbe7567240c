"""The one guard that enforces the policy table (:mod:`backend.auth.policy`).

Installed once on the application, after authentication. For each request it finds the
route's line in the table and refuses:

* 403 ``no_policy``: the route has no line (a new endpoint is closed until given a rule);
* 403 ``role_required``: none of the caller's roles may call the endpoint;
* 403 ``password_sign_in_required``: the line wants a password sign-in, not a tablet's;
* 403 ``own_caseload`` / ``own_service``: another worker's or another team's caseload;
* 404 ``must_exist``: the caller has no need to know the tenant the request is about —
  the same answer as for a tenant (or visit, concern, ...) that does not exist, so an id
  cannot be probed.

What the caller may see of the tenant (:class:`Access`) is kept for the handler, which
answers the fields of that view (:func:`tenant_fields`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from backend.auth import store
from backend.auth.errors import Forbidden
from backend.auth.guards import authenticate, is_public
from backend.auth.need_to_know import nav_inbox_current, standing_of, views_on
from backend.auth.policy import (
    RESIDENT_FIELDS,
    TENANT_FIELDS,
    VIEW_PREFERENCE,
    Rule,
    Subject,
    View,
    rule_for,
)
from backend.auth.roles import Principal, Role, SignIn
from backend.runtime import Runtime
from domain.dwelling import Dwelling
from domain.errors import UnknownAggregate
from domain.services import Service
from domain.tenant import Tenant
from projections.nav_inbox import nav_basis_holds

_ACCESS_KEY = "access"
# The tenant a request turned out to be about (for the access log, which writes it down).
ABOUT_TENANT_KEY = "about_tenant"


def _about(connection: ASGIConnection[Any, Any, Any, Any], tenant_id: UUID) -> None:
    connection.state[ABOUT_TENANT_KEY] = tenant_id


class Access(msgspec.Struct, frozen=True):
    """What the guard decided: the caller, and their view of the request's tenant."""

    principal: Principal
    view: View | None = None


class _TenantRef(msgspec.Struct):
    tenant_id: UUID | None = None


_tenant_ref = msgspec.json.Decoder(_TenantRef)


class _Resident(msgspec.Struct, frozen=True):
    """A dwelling seen as a record of its resident."""

    tenant_id: UUID
    id: UUID


def _hidden(field: str, what: str, record_id: object) -> UnknownAggregate:
    return UnknownAggregate(field, "must_exist", f"no {what} with id {record_id}")


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    method = str(connection.scope.get("method", "GET")).upper()
    template = connection.scope.get("path_template") or connection.scope["path"]
    if method == "HEAD":
        method = "GET"  # a HEAD shows what a GET would: it gets the GET's rule
    if method == "OPTIONS" or is_public(method, template):
        return  # OPTIONS answers the allowed methods, no data
    principal = await authenticate(connection)
    line = rule_for(method, template)
    if line is None:
        raise Forbidden("no_policy", f"no access rule for {method} {template}")
    if not any(r in line.roles for r in principal.roles):
        names = ", ".join(sorted(r.value for r in line.roles))
        raise Forbidden("role_required", f"this needs one of the roles: {names}")
    if line.password_sign_in and principal.signed_in_with is not SignIn.PASSWORD:
        raise Forbidden("password_sign_in_required", "sign in with the password to do this")
    runtime: Runtime = connection.app.state.runtime
    view = await _check_subject(runtime, connection, principal, line)
    connection.state[_ACCESS_KEY] = Access(principal, view)


async def _check_subject(
    runtime: Runtime,
    connection: ASGIConnection[Any, Any, Any, Any],
    principal: Principal,
    line: Rule,
) -> View | None:
    params = connection.path_params
    subject = line.subject
    if subject is Subject.NONE:
        return None
    if subject is Subject.TENANT:
        return await _tenant_view(runtime, connection, principal, line, params["tenant_id"])
    if subject is Subject.BODY_TENANT:
        body = await connection.body() if isinstance(connection, Request) else b""
        try:
            tenant_id = _tenant_ref.decode(body).tenant_id
        except msgspec.DecodeError:
            return None  # the handler answers what is wrong with the body
        if tenant_id is None:
            return None
        return await _tenant_view(runtime, connection, principal, line, tenant_id)
    if subject is Subject.WORKER:
        await _check_worker(runtime, principal, params["worker_id"])
        return None
    if subject is Subject.TEAM:
        # A name that is no service is the handler's to refuse (422), not a denial.
        known = params["service"] in {s.value for s in Service}
        if known and params["service"] != principal.service.value:
            raise Forbidden("own_service", "a team's caseload is for that team's own staff")
        return None
    return await _record_view(runtime, connection, principal, line, subject)


async def _tenant_view(
    runtime: Runtime,
    connection: ASGIConnection[Any, Any, Any, Any],
    principal: Principal,
    line: Rule,
    tenant_id: UUID,
    *,
    field: str = "tenant_id",
    what: str = "tenant",
    record_id: object = None,
) -> View | None:
    tenant: Tenant | None = await runtime.load(runtime.commands.tenant, tenant_id)
    if tenant is None:
        return None  # the handler answers that it does not exist
    _about(connection, tenant_id)
    standing = await standing_of(runtime, principal, tenant, line.views)
    views = views_on(principal, standing) & line.views
    if not views:
        raise _hidden(field, what, record_id or tenant_id)
    return next(v for v in VIEW_PREFERENCE if v in views)


async def _record_view(
    runtime: Runtime,
    connection: ASGIConnection[Any, Any, Any, Any],
    principal: Principal,
    line: Rule,
    subject: Subject,
) -> View | None:
    """The view through a record of the tenant (a visit, a concern, ...)."""
    commands = runtime.commands
    params = connection.path_params

    async def through(record: Any, field: str, what: str) -> View | None:
        if record is None:
            return None  # the handler answers that it does not exist
        return await _tenant_view(
            runtime,
            connection,
            principal,
            line,
            record.tenant_id,
            field=field,
            what=what,
            record_id=record.id,
        )

    if subject is Subject.VISIT:
        visit = await runtime.load(commands.visit, params["visit_id"])
        return await through(visit, "visit_id", "visit")
    if subject is Subject.LEASE:
        lease = await runtime.load(commands.lease, params["lease_id"])
        return await through(lease, "lease_id", "lease")
    if subject is Subject.RENT_CASE:
        case = await runtime.load(commands.rent_case, params["rent_case_id"])
        return await through(case, "rent_case_id", "rent case")
    if subject is Subject.CONCERN:
        concern = await runtime.load(commands.concern, params["concern_id"])
        if concern is not None and concern.tenant_id is not None:
            _about(connection, concern.tenant_id)
        if concern is not None and principal.service in (concern.raised_by, concern.routed_to):
            return View.FULL  # the service that raised it, or holds it
        if concern is not None and concern.tenant_id is None:
            raise _hidden("concern_id", "concern", concern.id)
        return await through(concern, "concern_id", "concern")
    if subject is Subject.HANDOVER:
        handover = await runtime.load(commands.handover, params["handover_id"])
        if handover is not None:
            _about(connection, handover.tenant_id)
        if handover is not None and principal.service in (
            handover.from_service,
            handover.to_service,
        ):
            return View.HANDOVER
        return await through(handover, "handover_id", "handover")
    if subject is Subject.NAV_NOTIFICATION:
        notice = await runtime.load(commands.nav_notification, params["notification_id"])
        if notice is not None:
            _about(connection, notice.tenant_id)
        if notice is not None and principal.has_any(Role.NAV_OFFICER):
            await nav_inbox_current(runtime)
            async with runtime.pool.acquire() as conn:
                if await nav_basis_holds(conn, runtime.today(), notification_id=notice.id):
                    return View.NAV
        return await through(notice, "notification_id", "notification")
    if subject is Subject.DWELLING:
        dwelling = await runtime.load(commands.dwelling, params["dwelling_id"])
        if dwelling is None or dwelling.tenant_id is None:
            return None  # missing (the handler answers) or vacant: nobody to show
        try:
            return await through(_Resident(dwelling.tenant_id, dwelling.id), "dwelling_id", "")
        except UnknownAggregate:
            # No need to know the resident: the dwelling (address, safety flag) without
            # them, and nothing about them was read, so nothing is logged against them.
            connection.state.pop(ABOUT_TENANT_KEY, None)
            return None
    raise AssertionError(f"no check for subject {subject}")


async def _check_worker(runtime: Runtime, principal: Principal, worker_id: UUID) -> None:
    if worker_id == principal.user_id:
        return
    if principal.has_any(Role.TEAM_LEAD, Role.SERVICE_STAFF):
        async with runtime.pool.acquire() as conn:
            worker = await store.user_by_id(conn, worker_id)
        if worker is not None and worker.service is principal.service:
            return
    raise Forbidden("own_caseload", "a field worker sees their own caseload; a lead their team's")


def current_access(request: Request[Any, Any, Any]) -> Access:
    access: Access | None = request.state.get(_ACCESS_KEY)
    if access is None:  # a public route asked for it: nothing is granted
        raise Forbidden("no_policy", "this route has no access rule")
    return access


ACCESS_DEPENDENCY = {"access": Provide(current_access, sync_to_thread=False)}


def dwelling_fields(access: Access, dwelling: Dwelling) -> dict[str, Any]:
    """The dwelling, with who lives there only for a caller with a view of them.

    The fields are left out, not null: null says the dwelling is vacant.
    """
    whole: dict[str, Any] = msgspec.to_builtins(dwelling)
    if dwelling.tenant_id is None or access.view is not None:
        return whole
    return {k: v for k, v in whole.items() if k not in RESIDENT_FIELDS}


def tenant_fields(access: Access, tenant: Tenant) -> dict[str, Any]:
    """The tenant as the caller's view may see it (the fields of :data:`TENANT_FIELDS`)."""
    # No view decided (the tenant appeared after the guard looked): the least there is.
    fields = TENANT_FIELDS[access.view or View.NAV]
    whole: dict[str, Any] = msgspec.to_builtins(tenant)
    if fields is None:
        return whole
    return {k: v for k, v in whole.items() if k in fields}
