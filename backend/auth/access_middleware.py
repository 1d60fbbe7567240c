"""The access log, written in one place: after every request about a tenant.

A request is about a tenant when its route has a ``tenant_id`` path parameter, when it
is a POST whose JSON body names a ``tenant_id`` (creating a tenant, a concern, ...), or
when the policy guard found the tenant through the record the path names (a visit, a
rent case, a NAV notification, ...: ``authorize.ABOUT_TENANT_KEY``). Once
the handler has answered (and before the answer leaves the server), one ``access_log``
row is appended: the verified caller, the tenant, ``read`` (GET/HEAD) or ``change`` (any
other method), ``METHOD /route/{template}``, the record (the route's other id, else the
body's own ``*_id``), the status, and the caller's device. Refused attempts by a signed-in
caller (403, 404, 422, ...) are logged as well; a request without a verified caller (401)
is not, since there is no one to name.

A list answer (caseloads, the concern tracker, the handover board, NAV's inbox, the
tenants without a responsible service) is about every tenant on the page it returns: its
handler names them (``access_log.show_tenants``), and a successful answer appends one
``read`` row per tenant shown (with the row's record, e.g. the concern, where it names
one), all in one INSERT. Each tenant once per request; an empty page writes nothing; a
refused or failed list request shows no one and is logged only as above. A sync pull
(a POST) is such a list: what an answer shows is ``read`` whatever the method.

When the write starts: as the answer starts, by default. A gzipped answer begins it just
before its body is compressed (:mod:`backend.compression`, decision 71), and a handler
whose answer is decided may begin it sooner (:func:`begin_shown`, the sync pull,
decision 74); either way the rows are the ones made here, and nothing leaves until they
are committed.

**If the row cannot be written, the request fails** (500 ``access-log-unavailable``) and
the handler's answer is not sent: a health-data service must not hand out personal data
it cannot account for. A change whose events were already committed is then answered
500 although it took effect; commands carry client-chosen ids, so the client's retry
finds the change made (409/200) rather than making it twice. When the write failed
because the database is away (``problems.database_away``), the answer is the 503
``database``/``available`` any route gives then, so a tablet sends the same request
again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import msgspec
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend import problems
from backend.auth.access_log import (
    SHOWN_TENANTS_KEY,
    AccessAction,
    ShownRow,
    record_access,
    record_accesses,
    show_tenants,
    shown_entries,
)
from backend.auth.authorize import ABOUT_TENANT_KEY
from backend.auth.roles import Principal

log = logging.getLogger(__name__)

TENANT_PARAM = "tenant_id"
READ_METHODS = frozenset({"GET", "HEAD"})


def _principal(scope: Scope) -> Principal | None:
    state = scope.get("state") or {}
    principal = state.get("principal")
    return principal if isinstance(principal, Principal) else None


def _body(scope: Scope) -> dict[str, Any]:
    """The JSON object the handler read, if it read one (Litestar caches it in the scope)."""
    state = ScopeState.from_scope(scope)
    body: Any = state.json
    if isinstance(body, dict):
        return body
    form: Any = state.form
    if isinstance(form, dict):
        # A web page's form (backend/web), read by its handler: its fields, one value each.
        return {k: v[0] if isinstance(v, list) and v else v for k, v in form.items()}
    raw = state.body
    if not isinstance(raw, bytes | bytearray) or not raw:
        return {}
    try:
        body = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return {}  # the handler refused it too (400): nothing about a tenant was read
    return body if isinstance(body, dict) else {}


def _uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    if isinstance(value, str):
        try:
            return UUID(value)
        except ValueError:
            return None
    return None


def subject_of(scope: Scope) -> tuple[UUID, str | None] | None:
    """(tenant, record id) of a request about a tenant; None if it is about none."""
    params: dict[str, Any] = scope.get("path_params") or {}
    others = [str(v) for k, v in params.items() if k != TENANT_PARAM]
    tenant = _uuid(params.get(TENANT_PARAM))
    body: dict[str, Any] = {}
    if tenant is None and scope.get("method") == "POST":
        body = _body(scope)
        tenant = _uuid(body.get(TENANT_PARAM))
    if tenant is None:
        tenant = _uuid((scope.get("state") or {}).get(ABOUT_TENANT_KEY))
    if tenant is None:
        return None
    if others:
        return tenant, others[-1]
    if not body and scope.get("method") != "GET":
        body = _body(scope)
    own_id = next(
        (
            str(v)
            for k, v in body.items()
            if k.endswith("_id") and k != TENANT_PARAM and isinstance(v, str)
        ),
        None,
    )
    return tenant, own_id


class AccessLogMiddleware(ASGIMiddleware):
    """Appends the access-log row when the answer starts; fails the request if it cannot."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        failed = False

        async def send_logged(message: Message) -> None:
            nonlocal failed
            if failed:
                return  # the handler's answer is replaced by the 500 already sent
            if message["type"] == "http.response.start":
                try:
                    await _written(scope, message["status"])
                except Exception as error:
                    failed = True
                    if problems.database_away(error):
                        log.warning("access log write failed: %s", type(error).__name__)
                        await _send_unavailable(send)
                    else:
                        log.exception("access log write failed; refusing the request")
                        await _send_failure(send)
                    return
            await send(message)

        try:
            await next_app(scope, receive, send_logged)
        finally:
            # A write begun for an answer that then never started (the client went away
            # while it was compressed): let it finish, and its failure be logged here.
            begun = _begun(scope)
            if begun is not None and begun[1] is not None:
                try:
                    await begun[1]
                except Exception:
                    log.exception("access log write failed for an answer not sent")


def begin_write(scope: Scope, status: int) -> bool:
    """Begin this answer's access-log write now, before the answer is encoded or
    compressed; :class:`AccessLogMiddleware` still lets nothing out until it is committed
    (decision 71). Whether a write was begun here (not before, and with a row to write).

    Called as the answer starts (:mod:`backend.compression`), or earlier by a handler
    whose answer is decided (:func:`begin_shown`); once for an answer.
    """
    state = scope.setdefault("state", {})
    if _BEGUN_KEY in state:
        return False
    rows = _rows(scope, status)
    task = None if rows is None else asyncio.ensure_future(_write(scope, rows))
    state[_BEGUN_KEY] = (status, task)
    return task is not None


def begin_shown(request: ASGIConnection[Any, Any, Any, Any], rows: Iterable[ShownRow]) -> None:
    """A handler's answer (200) is decided and shows these tenants: note them
    (:func:`~backend.auth.access_log.show_tenants`) and begin their rows' write now, so
    it runs while the answer is built, encoded and compressed (a sync pull: decision 74).
    The rows are the ones the middleware would write, with status 200. Should the
    answer then fail to start as a 200 (a bug encoding it), the rows stay: the log may
    say a tenant was shown when it was not, never the other way round.
    """
    show_tenants(request, rows)
    begin_write(request.scope, 200)


# The access-log write begun for this answer: (status, task; None: it writes no row).
_BEGUN_KEY = "access_log_begun"


def _begun(scope: Scope) -> tuple[int, asyncio.Future[None] | None] | None:
    begun: tuple[int, asyncio.Future[None] | None] | None = (scope.get("state") or {}).pop(
        _BEGUN_KEY, None
    )
    return begun


async def _written(scope: Scope, status: int) -> None:
    """The access-log row of this answer, written: the one begun for it, else now."""
    begun = _begun(scope)
    if begun is not None:
        began_with, task = begun
        if task is not None:
            await task
        if began_with == status:
            return
    await _record(scope, status)


class _Rows(msgspec.Struct, frozen=True):
    """The access-log rows of one answer."""

    principal: Principal
    subject: tuple[UUID, str | None] | None
    shown: list[tuple[UUID, str | None]]
    status: int


def _rows(scope: Scope, status: int) -> _Rows | None:
    """What the answer writes to the access log; None: nothing (no verified caller, or
    not about a tenant)."""
    principal = _principal(scope)
    if principal is None:
        return None
    subject = subject_of(scope)
    shown = _shown(scope, status, subject)
    if subject is None and not shown:
        return None
    return _Rows(principal, subject, shown, status)


async def _record(scope: Scope, status: int) -> None:
    rows = _rows(scope, status)
    if rows is not None:
        await _write(scope, rows)


async def _write(scope: Scope, rows: _Rows) -> None:
    principal, subject, shown, status = rows.principal, rows.subject, rows.shown, rows.status
    method = str(scope.get("method", "GET"))
    action = AccessAction.READ if method in READ_METHODS else AccessAction.CHANGE
    endpoint = f"{method} {scope.get('path_template') or scope['path']}"
    runtime = scope["litestar_app"].state.runtime
    at = runtime.clock()
    async with runtime.pool.acquire() as conn:
        if shown and (subject is None or action is AccessAction.READ):
            # A list answer: every tenant shown (and the request's own), one INSERT.
            entries = [subject, *shown] if subject is not None else shown
            await record_accesses(
                conn, principal, entries, AccessAction.READ, endpoint, status, at=at
            )
            return
        if subject is not None:
            tenant, record_id = subject
            await record_access(conn, principal, tenant, action, endpoint, record_id, status, at=at)
        if shown:
            # What an answer shows is read, whatever the method (a sync pull is a POST).
            await record_accesses(
                conn, principal, shown, AccessAction.READ, endpoint, status, at=at
            )


def _shown(
    scope: Scope, status: int, subject: tuple[UUID, str | None] | None
) -> list[tuple[UUID, str | None]]:
    """(tenant, record id) of each tenant a successful list answer showed, each once (the
    request's own tenant, if it has one, is left to its own row)."""
    noted = (scope.get("state") or {}).get(SHOWN_TENANTS_KEY)
    if not noted or not 200 <= status < 400:
        return []
    return [e for e in shown_entries(noted) if subject is None or e[0] != subject[0]]


async def _send_unavailable(send: Send) -> None:
    answer = problems.database_unavailable()
    body = msgspec.json.encode(answer.content)
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", problems.MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(problems.RETRY_AFTER_S).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_failure(send: Send) -> None:
    body = msgspec.json.encode(
        {
            "type": problems.TYPE_BASE + "access-log-unavailable",
            "title": "the access log could not be written; the request was not answered",
            "status": 500,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", problems.MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
