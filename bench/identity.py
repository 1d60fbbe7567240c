"""The benchmark's callers: real users with real access tokens, as any client has.

Every route but the probes needs a bearer token, and the policy table decides what the
caller may see. Users are made straight in the store and given a token from it (untimed
set-up): the write side signs in a team lead of the outreach team (who may complete the
team's visits); the read side its heavy tenant's contact worker and a lead of that team.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from backend.auth import sessions, users
from backend.auth.roles import Role, SignIn
from bench.fixtures import HEADERS, WORKER
from domain.municipal_services import Service

TOKEN_TTL = timedelta(days=1)


async def bearer_for(
    conn: asyncpg.Connection,
    username: str,
    service: Service,
    roles: Sequence[Role],
    user_id: UUID,
) -> dict[str, str]:
    """Bearer headers of the user ``user_id`` (made as ``username`` if new)."""
    now = datetime.now(UTC)
    if await users.user_by_id(conn, user_id) is None:
        await users.create_user(
            conn,
            username=username,
            display_name="Benchmark user",
            service=service,
            roles=roles,
            password=None,
            now=now,
            user_id=user_id,
        )
    token = await sessions.issue_access(
        conn, user_id, now=now, signed_in_with=SignIn.PASSWORD, ttl=TOKEN_TTL
    )
    return {"authorization": f"Bearer {token}"}


async def sign_in_bench_lead(url: str) -> None:
    """Make ``HEADERS`` (the write side's requests) carry a token of the bench's lead."""
    conn = await asyncpg.connect(url)
    try:
        headers = await bearer_for(
            conn,
            "bench-lead-write-side",
            Service.OUTREACH_TEAM,
            [Role.TEAM_LEAD, Role.FIELD_WORKER],
            WORKER,
        )
    finally:
        await conn.close()
    HEADERS.clear()
    HEADERS.update(headers)
