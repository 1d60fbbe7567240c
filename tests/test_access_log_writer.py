"""The access-log writer: rows of requests answered together go in one INSERT, each request
waiting for its own rows; a shared INSERT that fails falls back to one per request."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from backend.auth import access_middleware
from backend.auth.access_log import AccessAction, AccessRow, record_access, record_rows
from backend.auth.access_middleware import AccessLogWriter, _Entries
from backend.auth.roles import Principal, Role
from domain.municipal_services import Service

KARI = Principal(
    user_id=uuid.UUID("00000000-0000-4000-8000-00000000000a"),
    username="kari",
    service=Service.OUTREACH_TEAM,
    roles=(Role.FIELD_WORKER, Role.TEAM_LEAD),
    device_id=uuid.UUID("00000000-0000-4000-8000-0000000000d1"),
)
OLA = Principal(
    user_id=uuid.UUID("00000000-0000-4000-8000-00000000000b"),
    username="ola",
    service=Service.PROPERTY_MANAGER,
    roles=(),
)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
COLUMNS = "at, user_id, service, roles, device_id, tenant_id, action, endpoint, record_id, status"


async def logged(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM access_log ORDER BY id")
    return [tuple(r) for r in rows]


def one(principal: Principal, tenant: uuid.UUID | None, record: str | None) -> AccessRow:
    return AccessRow(AT, principal, tenant, AccessAction.CHANGE, "POST /x/{x_id}", record, 201)


async def test_rows_written_together_equal_rows_written_one_by_one(pool: asyncpg.Pool) -> None:
    rows = [
        one(KARI, uuid.uuid4(), "r1"),
        one(OLA, uuid.uuid4(), None),
        one(KARI, None, None),
        one(OLA, None, "r4"),
    ]
    async with pool.acquire() as conn:
        for r in rows:
            await record_access(
                conn, r.principal, r.tenant_id, r.action, r.endpoint, r.record_id, r.status, at=r.at
            )
        alone = await logged(conn)
        await record_rows(conn, rows)
        assert (await logged(conn))[len(rows) :] == alone
    assert alone[1][3] == []  # no roles: an empty array, as written alone


def entries(principal: Principal, n: int, tenant: uuid.UUID | None = None) -> _Entries:
    subject = [(tenant or uuid.uuid4(), f"record-{n}")]
    return _Entries(principal, subject, AccessAction.READ, "GET /y", 200, AT, False)


async def test_requests_finishing_together_share_an_insert_and_each_waits_for_its_rows(
    pool: asyncpg.Pool,
) -> None:
    writer = AccessLogWriter(pool)
    requests = [entries(KARI if n % 2 else OLA, n) for n in range(40)]
    await asyncio.gather(*(writer.write(e) for e in requests))
    assert writer.shared > 0
    async with pool.acquire() as conn:
        rows = await logged(conn)
    assert sorted(r[8] for r in rows) == sorted(f"record-{n}" for n in range(40))


async def test_a_failed_shared_insert_fails_only_the_request_whose_rows_cannot_be_written(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = uuid.uuid4()

    async def shared_fails(*_: Any, **__: Any) -> None:
        raise RuntimeError("the shared INSERT failed")

    async def alone(conn: asyncpg.Connection, principal: Principal, tenant: Any, *a: Any, **k: Any):
        if tenant == bad:
            raise RuntimeError("this request's row cannot be written")
        return await record_access(conn, principal, tenant, *a, **k)

    monkeypatch.setattr(access_middleware, "record_rows", shared_fails)
    monkeypatch.setattr(access_middleware, "record_access", alone)
    writer = AccessLogWriter(pool)
    requests = [entries(KARI, n, bad if n == 7 else None) for n in range(20)]
    outcomes = await asyncio.gather(*(writer.write(e) for e in requests), return_exceptions=True)
    assert [n for n, o in enumerate(outcomes) if isinstance(o, Exception)] == [7]
    async with pool.acquire() as conn:
        rows = await logged(conn)
    assert sorted(r[8] for r in rows) == sorted(f"record-{n}" for n in range(20) if n != 7)
