"""The benchmark's caller: a real user with a real access token, as any client has.

Every route but the probes needs a bearer token, and the policy table decides what the
caller may see; so the write-side benchmark signs in a team lead of the outreach team
(who may read the team's tenants and complete their visits). The read side signs in its
own users (``bench/readside.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from backend.auth import store
from backend.auth.roles import Role, SignIn
from bench.fixtures import HEADERS, WORKER
from domain.services import Service

TOKEN_TTL = timedelta(days=1)


async def sign_in_bench_lead(url: str) -> None:
    """Create the bench's lead (once) and make ``HEADERS`` carry a token of theirs."""
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        if await store.user_by_id(conn, WORKER) is None:
            await store.create_user(
                conn,
                username="bench-lead-write-side",
                display_name="Benchmark user",
                service=Service.OUTREACH_TEAM,
                roles=[Role.TEAM_LEAD, Role.FIELD_WORKER],
                password=None,
                now=now,
                user_id=WORKER,
            )
        token = await store.issue_access(
            conn, WORKER, now=now, signed_in_with=SignIn.PASSWORD, ttl=TOKEN_TTL
        )
    finally:
        await conn.close()
    HEADERS.clear()
    HEADERS["authorization"] = f"Bearer {token}"
