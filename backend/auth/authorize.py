"""The one guard that enforces the policy table (:mod:`backend.auth.policy`).

Installed once on the application, after authentication. For each request it finds the
route's line in the table and refuses:

* 403 ``no_policy``: the route has no line (a new endpoint is closed until given a rule);
* 403 ``role_required``: none of the caller's roles may call the endpoint;
* 403 ``password_sign_in_required``: the line wants a password sign-in, not a tablet's;
* 403 ``own_caseload`` / ``own_service``: another worker's or another team's caseload;
* 404 ``must_exist``: the caller has no need to know the tenant the request is about —
  the same answer as for a tenant (or visit, concern, ...) that does not exist, so an id
  cannot be probed. For a command about a record (a POST whose line names a subject),
  this check is left to the command's own call into the write model
  (:class:`backend.write_access.WriteAccess`, decision 46), on the records it then uses.

What the caller may see of the tenant (:class:`Access`) is kept for the handler, which
answers the fields of that view (:func:`tenant_fields`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import anyio.to_thread
import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from backend.auth import users
from backend.auth.errors import Forbidden
from backend.auth.guards import authenticate, is_public
from backend.auth.need_to_know import (
    ReadFacts,
    read_facts,
    read_facts_could_help,
    standing_from,
    views_on,
    with_read_facts,
)
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
from backend.write_access import request_records
from domain.dwelling import Dwelling
from domain.errors import UnknownAggregate
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.write_model import Records

_ACCESS_KEY = "access"
# The tenant a request turned out to be about (for the access log, which writes it down).
ABOUT_TENANT_KEY = "about_tenant"


def _about(state: Any, tenant_id: UUID) -> None:
    state[ABOUT_TENANT_KEY] = tenant_id


class Access(msgspec.Struct, frozen=True):
    """What the guard decided: the caller, and their view of the request's tenant."""

    principal: Principal
    view: View | None = None


class _TenantRef(msgspec.Struct):
    tenant_id: UUID | None = None


_tenant_ref = msgspec.json.Decoder(_TenantRef)

# A command about a record decides need to know in the command's own call into the write
# model (decision 46): the records it loads for the check are the ones the command uses.
COMMAND_METHODS = frozenset({"POST"})
DEFERRED_KEY = "need_to_know_with_the_command"


class Located(msgspec.Struct, frozen=True, kw_only=True):
    """What the request's records say about whose data it touches."""

    # The record the path names does not exist (of its kind): the handler answers 404.
    missing: bool = False
    tenant: Tenant | None = None
    # A view the record itself gives: the service that raised or holds a concern, a
    # service named in a handover.
    direct: View | None = None
    # A request about a NAV notification, by a NAV officer: its basis decides.
    notification_id: UUID | None = None
    # The refusal if no view: the same answer as for a record that does not exist.
    hidden: UnknownAggregate | None = None
    # A dwelling's resident: with no view, the dwelling is shown without them.
    resident: bool = False


def _hidden(field: str, what: str, record_id: object) -> UnknownAggregate:
    return UnknownAggregate(field, "must_exist", f"no {what} with id {record_id}")


def _through(
    records: Records, tenant_id: UUID, field: str, what: str, record_id: object, **kw: Any
) -> Located:
    tenant = records.tenant(tenant_id)
    if tenant is None:
        return Located(missing=True)
    return Located(tenant=tenant, hidden=_hidden(field, what, record_id), **kw)


# Records that belong to one tenant: the path parameter, the record's name, its loader.
_OF_ONE_TENANT: dict[Subject, tuple[str, str, Callable[[Records, UUID], Any]]] = {
    Subject.VISIT: ("visit_id", "visit", Records.visit),
    Subject.LEASE: ("lease_id", "lease", Records.lease),
    Subject.RENT_CASE: ("rent_case_id", "rent case", Records.rent_case),
}


def locate(
    records: Records,
    principal: Principal,
    subject: Subject,
    params: dict[str, Any],
    body_tenant_id: UUID | None = None,
) -> Located:
    """Load the records the request is about (each once) and say whose they are."""
    if subject is Subject.TENANT:
        tenant_id = params["tenant_id"]
        return _through(records, tenant_id, "tenant_id", "tenant", tenant_id)
    if subject is Subject.BODY_TENANT:
        if body_tenant_id is None:
            return Located(missing=True)
        return _through(records, body_tenant_id, "tenant_id", "tenant", body_tenant_id)
    if subject in _OF_ONE_TENANT:
        field, what, load = _OF_ONE_TENANT[subject]
        record = load(records, params[field])
        if record is None:
            return Located(missing=True)
        return _through(records, record.tenant_id, field, what, record.id)
    if subject is Subject.CONCERN:
        concern = records.concern(params["concern_id"])
        if concern is None:
            return Located(missing=True)
        direct = View.FULL if principal.service in (concern.raised_by, concern.routed_to) else None
        hidden = _hidden("concern_id", "concern", concern.id)
        if concern.tenant_id is None:
            return Located(direct=direct, hidden=hidden)
        located = _through(records, concern.tenant_id, "concern_id", "concern", concern.id)
        return msgspec.structs.replace(located, direct=direct)
    if subject is Subject.HANDOVER:
        handover = records.handover(params["handover_id"])
        if handover is None:
            return Located(missing=True)
        named = principal.service in (handover.from_service, handover.to_service)
        located = _through(records, handover.tenant_id, "handover_id", "handover", handover.id)
        return msgspec.structs.replace(located, direct=View.HANDOVER if named else None)
    if subject is Subject.NAV_NOTIFICATION:
        notice = records.nav_notification(params["notification_id"])
        if notice is None:
            return Located(missing=True)
        located = _through(records, notice.tenant_id, "notification_id", "notification", notice.id)
        nav = principal.has_any(Role.NAV_OFFICER)
        return msgspec.structs.replace(located, notification_id=notice.id if nav else None)
    if subject is Subject.DWELLING:
        dwelling = records.dwelling(params["dwelling_id"])
        if dwelling is None or dwelling.tenant_id is None:
            return Located()  # missing (the handler answers) or vacant: nobody to show
        located = _through(records, dwelling.tenant_id, "dwelling_id", "", dwelling.id)
        return msgspec.structs.replace(located, resident=True)
    raise AssertionError(f"no check for subject {subject}")


class ReadFactsNeeded(Exception):
    """The write model's facts gave no view; the read models may (asked outside the thread)."""


def decide(
    located: Located,
    principal: Principal,
    line: Rule,
    state: Any,
    facts: ReadFacts | None,
) -> View | None:
    """The caller's view, or the refusal (404 as for a record that does not exist).

    With ``facts`` None only the write model's facts are used; if the read models could
    still give a view, :class:`ReadFactsNeeded` asks for them.
    """
    if located.missing:
        return None  # the handler answers that it does not exist
    tenant = located.tenant
    if tenant is not None:
        _about(state, tenant.id)
    if located.direct is not None:
        return located.direct
    if located.notification_id is not None:
        if facts is None:
            raise ReadFactsNeeded
        if facts.notification_basis_holds:
            return View.NAV
    if tenant is not None:
        standing = standing_from(tenant)
        if View.FULL not in views_on(principal, standing) and read_facts_could_help(
            principal, line.views
        ):
            if facts is None:
                raise ReadFactsNeeded
            standing = with_read_facts(standing, facts)
        views = views_on(principal, standing) & line.views
        if views:
            return next(v for v in VIEW_PREFERENCE if v in views)
    if located.resident:
        # No need to know the resident: the dwelling (address, safety flag) without them,
        # and nothing about them was read, so nothing is logged against them.
        state.pop(ABOUT_TENANT_KEY, None)
        return None
    if located.hidden is not None:
        raise located.hidden
    return None


class NeedToKnow(msgspec.Struct, frozen=True, kw_only=True):
    """A request's need-to-know check, to be decided on the records it loads."""

    principal: Principal
    line: Rule
    params: dict[str, Any]
    body_tenant_id: UUID | None = None

    def locate(self, records: Records) -> Located:
        return locate(records, self.principal, self.line.subject, self.params, self.body_tenant_id)

    async def read_facts(self, runtime: Runtime, located: Located) -> ReadFacts:
        return await read_facts(
            runtime,
            self.principal,
            self.line.views,
            tenant_id=None if located.tenant is None else located.tenant.id,
            notification_id=located.notification_id,
        )


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
    view = await _check_subject(runtime, connection, principal, line, method)
    connection.state[_ACCESS_KEY] = Access(principal, view)


async def _check_subject(
    runtime: Runtime,
    connection: ASGIConnection[Any, Any, Any, Any],
    principal: Principal,
    line: Rule,
    method: str,
) -> View | None:
    params = connection.path_params
    subject = line.subject
    if subject is Subject.NONE:
        return None
    if subject is Subject.WORKER:
        await _check_worker(runtime, principal, params["worker_id"])
        return None
    if subject is Subject.TEAM:
        # A name that is no service is the handler's to refuse (422), not a denial.
        known = params["service"] in {s.value for s in Service}
        if known and params["service"] != principal.service.value:
            raise Forbidden("own_service", "a team's caseload is for that team's own staff")
        return None
    body_tenant_id = None
    if subject is Subject.BODY_TENANT:
        body = await connection.body() if isinstance(connection, Request) else b""
        try:
            body_tenant_id = _tenant_ref.decode(body).tenant_id
        except msgspec.DecodeError:
            return None  # the handler answers what is wrong with the body
        if body_tenant_id is None:
            return None
    check = NeedToKnow(
        principal=principal, line=line, params=dict(params), body_tenant_id=body_tenant_id
    )
    if method in COMMAND_METHODS:
        connection.state[DEFERRED_KEY] = check
        return None  # decided with the command (WriteAccess.command)
    records = request_records(connection, runtime)
    state = connection.state
    located = await anyio.to_thread.run_sync(check.locate, records)
    try:
        return decide(located, principal, line, state, None)
    except ReadFactsNeeded:
        facts = await check.read_facts(runtime, located)
        return decide(located, principal, line, state, facts)


async def _check_worker(runtime: Runtime, principal: Principal, worker_id: UUID) -> None:
    if worker_id == principal.user_id:
        return
    if principal.has_any(Role.TEAM_LEAD, Role.SERVICE_STAFF):
        async with runtime.pool.acquire() as conn:
            worker = await users.user_by_id(conn, worker_id)
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
