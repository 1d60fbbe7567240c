"""The access log: who read or changed which tenant's data, when, from which device.

Rows are only ever inserted; the table's trigger refuses UPDATE, DELETE and TRUNCATE
(migration 0005). Admins read it per tenant and per user, newest first, a page at a time.

A list answer (a caseload, a board, an inbox) names the tenants it shows with
:func:`show_tenants`; the access-log middleware then writes one row per tenant shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from litestar.connection import ASGIConnection

from backend.auth.roles import Principal
from projections.filters import Filters
from projections.pagination import DEFAULT_PAGE_SIZE, Page, decode_cursor, page_of

# The tenants a list answer shows, with the record each row is about (scope state; read
# by the access-log middleware).
SHOWN_TENANTS_KEY = "shown_tenants"

ShownRow = tuple[UUID | None, UUID | str | None]


class AccessAction(StrEnum):
    READ = "read"
    CHANGE = "change"


class AccessLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    user_id: UUID
    service: str
    roles: list[str]
    device_id: UUID | None
    tenant_id: UUID | None
    action: AccessAction
    endpoint: str
    record_id: str | None
    status: int


def endpoint_of(request: Any) -> str:
    """``METHOD /route/{template}`` of a Litestar request (the route, not the ids in it)."""
    template = request.scope.get("path_template") or request.url.path
    return f"{request.method} {template}"


async def record_access(
    conn: asyncpg.Connection,
    principal: Principal,
    tenant_id: UUID | None,
    action: AccessAction,
    endpoint: str,
    record_id: str | None,
    status: int,
    *,
    at: datetime,
) -> int:
    """Append one entry; its id."""
    entry_id: int = await conn.fetchval(
        """
        INSERT INTO access_log (at, user_id, service, roles, device_id, tenant_id, action,
                                endpoint, record_id, status)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING id
        """,
        at,
        principal.user_id,
        principal.service.value,
        [r.value for r in principal.roles],
        principal.device_id,
        tenant_id,
        action.value,
        endpoint,
        record_id,
        status,
    )
    return entry_id


def show_tenants(connection: ASGIConnection[Any, Any, Any, Any], rows: Iterable[ShownRow]) -> None:
    """Note the tenants a list answer shows, as (tenant id, record id or None) per row.

    ``connection`` is the handler's request. Rows without a tenant (a concern about an
    address alone) are skipped. May be called more than once for one answer (a board with
    two lists); each tenant is written once (:func:`shown_entries`).
    """
    noted: list[tuple[UUID, str | None]] = connection.state.get(SHOWN_TENANTS_KEY) or []
    noted.extend((t, None if r is None else str(r)) for t, r in rows if t is not None)
    connection.state[SHOWN_TENANTS_KEY] = noted


def shown_entries(shown: Iterable[tuple[UUID, str | None]]) -> list[tuple[UUID, str | None]]:
    """One (tenant, record id) per tenant, in the answer's order.

    The record id is kept when every row about that tenant is about that one record (a
    tenant with one concern on the tracker); a tenant shown with several records, or in a
    row about no record, gets NULL: the entry says the list showed the tenant.
    """
    records: dict[UUID, set[str | None]] = {}
    for tenant, record in shown:
        records.setdefault(tenant, set()).add(record)
    return [(t, next(iter(r)) if len(r) == 1 else None) for t, r in records.items()]


async def record_accesses(
    conn: asyncpg.Connection,
    principal: Principal,
    entries: Sequence[tuple[UUID, str | None]],
    action: AccessAction,
    endpoint: str,
    status: int,
    *,
    at: datetime,
) -> None:
    """Append one entry per (tenant, record id), in one statement, in the given order."""
    if not entries:
        return
    await conn.execute(
        """
        INSERT INTO access_log (at, user_id, service, roles, device_id, tenant_id, action,
                                endpoint, record_id, status)
        SELECT $1, $2, $3, $4, $5, s.tenant_id, $6, $7, s.record_id, $8
        FROM unnest($9::uuid[], $10::text[]) WITH ORDINALITY AS s(tenant_id, record_id, n)
        ORDER BY s.n
        """,
        at,
        principal.user_id,
        principal.service.value,
        [r.value for r in principal.roles],
        principal.device_id,
        action.value,
        endpoint,
        status,
        [t for t, _ in entries],
        [r for _, r in entries],
    )


async def access_entries(
    conn: asyncpg.Connection,
    *,
    tenant_id: UUID | None = None,
    user_id: UUID | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[AccessLogEntry]:
    """Entries newest first, about ``tenant_id`` and/or by ``user_id`` if given."""
    after = decode_cursor(cursor, (int,))
    q = Filters()
    if tenant_id is not None:
        q.add(f"tenant_id = {q.arg(tenant_id)}")
    if user_id is not None:
        q.add(f"user_id = {q.arg(user_id)}")
    if after is not None:
        q.add(f"id < {q.arg(after[0])}")
    rows = await conn.fetch(
        f"""
        SELECT id, at, user_id, service, roles, device_id, tenant_id, action, endpoint,
               record_id, status
        FROM access_log {q.where()}
        ORDER BY id DESC
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    entries = [AccessLogEntry(**{**dict(r), "action": AccessAction(r["action"])}) for r in rows]
    return page_of(entries, limit, lambda e: (e.id,))


async def for_tenant(
    conn: asyncpg.Connection,
    tenant_id: UUID,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[AccessLogEntry]:
    """Who read or changed this tenant's data (a tenant's data-access request, or audit)."""
    return await access_entries(conn, tenant_id=tenant_id, cursor=cursor, limit=limit)


async def for_user(
    conn: asyncpg.Connection,
    user_id: UUID,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> Page[AccessLogEntry]:
    """Everything one user read or changed (log review, tjenstlig behov)."""
    return await access_entries(conn, user_id=user_id, cursor=cursor, limit=limit)
