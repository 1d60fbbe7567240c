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
refused or failed list request shows no one and is logged only as above.

Rows of requests answered at the same time are written together (:class:`AccessLogWriter`):
while one INSERT is under way, the rows of the requests that finish meanwhile wait and
then go in the next, one statement and one commit for all of them. Each request still
waits until its own rows are committed before its answer starts, so nothing is answered
whose rows are not in the table. A request alone writes as before (``record_access`` /
``record_accesses``), and if a shared INSERT fails, each of its requests writes its own
rows again alone, so one request fails only if its own rows cannot be written.

**If the row cannot be written, the request fails** (500 ``access-log-unavailable``) and
the handler's answer is not sent: a health-data service must not hand out personal data
it cannot account for. A change whose events were already committed is then answered 500
although it took effect; commands carry client-chosen ids, so the client's retry finds
the change made (409/200) rather than making it twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from backend import problems
from backend.auth.access_log import (
    SHOWN_TENANTS_KEY,
    AccessAction,
    AccessRow,
    record_access,
    record_accesses,
    record_rows,
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
                    await self._record(scope, message["status"])
                except Exception:
                    log.exception("access log write failed; refusing the request")
                    failed = True
                    await _send_failure(send)
                    return
            await send(message)

        await next_app(scope, receive, send_logged)

    async def _record(self, scope: Scope, status: int) -> None:
        principal = _principal(scope)
        if principal is None:
            return
        subject = subject_of(scope)
        shown = _shown(scope, status, subject)
        if subject is None and not shown:
            return
        method = str(scope.get("method", "GET"))
        action = AccessAction.READ if method in READ_METHODS else AccessAction.CHANGE
        endpoint = f"{method} {scope.get('path_template') or scope['path']}"
        app_state = scope["litestar_app"].state
        runtime = app_state.runtime
        writer: AccessLogWriter | None = app_state.get(WRITER_KEY)
        if writer is None:
            writer = app_state[WRITER_KEY] = AccessLogWriter(runtime.pool)
        # A list answer: every tenant shown (and the request's own), in one INSERT.
        entries = ([subject] if subject is not None else []) + shown
        await writer.write(
            _Entries(principal, entries, action, endpoint, status, runtime.clock(), bool(shown))
        )


WRITER_KEY = "access_log_writer"


class _Entries:
    """One request's access-log rows, and the future its handler's answer waits for."""

    __slots__ = ("action", "at", "done", "endpoint", "entries", "is_list", "principal", "status")

    def __init__(
        self,
        principal: Principal,
        entries: list[tuple[UUID, str | None]],
        action: AccessAction,
        endpoint: str,
        status: int,
        at: datetime,
        is_list: bool,
    ) -> None:
        self.principal = principal
        self.entries = entries
        self.action = action
        self.endpoint = endpoint
        self.status = status
        self.at = at
        self.is_list = is_list
        self.done: asyncio.Future[None] | None = None

    def rows(self) -> list[AccessRow]:
        return [
            AccessRow(self.at, self.principal, t, self.action, self.endpoint, r, self.status)
            for t, r in self.entries
        ]

    async def write_alone(self, conn: Any) -> None:
        """As a request wrote its rows before rows were shared: one INSERT of its own."""
        if self.is_list:
            await record_accesses(
                conn,
                self.principal,
                self.entries,
                self.action,
                self.endpoint,
                self.status,
                at=self.at,
            )
        else:
            tenant, record_id = self.entries[0]
            await record_access(
                conn,
                self.principal,
                tenant,
                self.action,
                self.endpoint,
                record_id,
                self.status,
                at=self.at,
            )


class AccessLogWriter:
    """Writes the access-log rows of requests that finish together in one INSERT.

    At most one INSERT is under way per worker; the requests that finish meanwhile queue
    (at most one entry per request in flight) and make the next one. Every request waits
    for the commit of its own rows (:meth:`write` raises if they could not be written).
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._queue: list[_Entries] = []
        self._writing: asyncio.Task[None] | None = None
        self.shared = 0  # INSERTs written for two or more requests (tests, benchmarks)

    async def write(self, entries: _Entries) -> None:
        entries.done = asyncio.get_running_loop().create_future()
        self._queue.append(entries)
        self._kick()
        # A request cancelled meanwhile stops waiting; its rows are written all the same.
        await entries.done

    def _kick(self) -> None:
        if not self._queue or (self._writing is not None and not self._writing.done()):
            return
        batch, self._queue = self._queue, []
        self._writing = asyncio.create_task(self._write(batch))
        self._writing.add_done_callback(lambda _: self._kick())

    async def _write(self, batch: list[_Entries]) -> None:
        try:
            async with self._pool.acquire() as conn:
                if len(batch) == 1:
                    await batch[0].write_alone(conn)
                else:
                    try:
                        await record_rows(conn, [row for e in batch for row in e.rows()])
                        self.shared += 1
                    except Exception:
                        log.warning("a shared access-log INSERT failed; each request alone")
                        await self._write_each(conn, batch)
                        return
            _resolve(batch, None)
        except BaseException as error:
            _resolve(batch, error)
            if not isinstance(error, Exception):
                raise

    async def _write_each(self, conn: Any, batch: list[_Entries]) -> None:
        for entries in batch:
            try:
                await entries.write_alone(conn)
            except Exception as error:
                _resolve([entries], error)
            else:
                _resolve([entries], None)


def _resolve(batch: list[_Entries], error: BaseException | None) -> None:
    for entries in batch:
        done = entries.done
        if done is None or done.done():
            continue
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error if isinstance(error, Exception) else RuntimeError(error))


def _shown(
    scope: Scope, status: int, subject: tuple[UUID, str | None] | None
) -> list[tuple[UUID, str | None]]:
    """(tenant, record id) of each tenant a successful list answer showed, each once (the
    request's own tenant, if it has one, is left to its own row)."""
    noted = (scope.get("state") or {}).get(SHOWN_TENANTS_KEY)
    if not noted or not 200 <= status < 400:
        return []
    return [e for e in shown_entries(noted) if subject is None or e[0] != subject[0]]


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
