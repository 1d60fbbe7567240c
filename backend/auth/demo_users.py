"""Fictional demo users, one per role, with the ids of the demo data's actors.

``ensure_demo_users`` gives each a fresh random password every time it runs (the
passwords are stored only hashed, so the caller prints the returned ones once);
``issue_demo_tokens`` hands out an access token per role that lasts a demo session.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec

from backend.auth import sessions, users
from backend.auth.roles import Role
from backend.demo import demo_id
from backend.runtime import utc_now
from domain.municipal_services import Service

DEMO_TOKEN_TTL = timedelta(hours=12)


class DemoUser(msgspec.Struct, frozen=True):
    user_id: UUID
    username: str
    display_name: str
    service: Service
    role: Role


DEMO_USERS = (
    DemoUser(
        demo_id("user:field-worker-1"),
        "demo-feltarbeider",
        "Demo Feltarbeider",
        Service.OUTREACH_TEAM,
        Role.FIELD_WORKER,
    ),
    DemoUser(
        demo_id("user:team-lead"),
        "demo-teamleder",
        "Demo Teamleder",
        Service.OUTREACH_TEAM,
        Role.TEAM_LEAD,
    ),
    DemoUser(
        demo_id("user:fbe-1"),
        "demo-fbe",
        "Demo Forvalter",
        Service.PROPERTY_MANAGER,
        Role.PROPERTY_MANAGER,
    ),
    DemoUser(demo_id("user:nav-1"), "demo-nav", "Demo NAV-veileder", Service.NAV, Role.NAV_OFFICER),
    DemoUser(
        demo_id("user:koordinator-1"),
        "demo-koordinator",
        "Demo Koordinator",
        Service.COORDINATING_UNIT,
        Role.SERVICE_STAFF,
    ),
    DemoUser(demo_id("user:admin"), "demo-admin", "Demo Administrator", Service.ADMIN, Role.ADMIN),
)


# Colleagues the demo's records name (a visit's second worker, a handover's contact),
# who sign in to nothing in the demo: users without a password.
DEMO_STAFF = (
    DemoUser(
        demo_id("user:field-worker-2"),
        "demo-feltarbeider-2",
        "Demo Feltarbeider 2",
        Service.OUTREACH_TEAM,
        Role.FIELD_WORKER,
    ),
    DemoUser(
        demo_id("user:kriminalomsorgen-1"),
        "demo-kriminalomsorgen",
        "Demo Kriminalomsorgen",
        Service.CORRECTIONAL_SERVICE,
        Role.SERVICE_STAFF,
    ),
)


async def ensure_demo_users(
    conn: asyncpg.Connection, now: datetime | None = None
) -> dict[Role, tuple[str, str]]:
    """Create (or reset) the demo users; ``{role: (username, password)}``."""
    created_at = now or utc_now()
    credentials: dict[Role, tuple[str, str]] = {}
    for user in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        await conn.execute(
            """
            INSERT INTO users (id, username, display_name, service, roles, password_hash,
                               active, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, true, $7)
            ON CONFLICT (id) DO UPDATE
            SET username = excluded.username, display_name = excluded.display_name,
                service = excluded.service, roles = excluded.roles,
                password_hash = excluded.password_hash, active = true
            """,
            user.user_id,
            user.username,
            user.display_name,
            user.service.value,
            [user.role.value],
            await users.hash_password(password),
            created_at,
        )
        credentials[user.role] = (user.username, password)
    for user in DEMO_STAFF:
        await conn.execute(
            """
            INSERT INTO users (id, username, display_name, service, roles, password_hash,
                               active, created_at)
            VALUES ($1, $2, $3, $4, $5, NULL, true, $6)
            ON CONFLICT (id) DO UPDATE
            SET service = excluded.service, roles = excluded.roles, active = true
            """,
            user.user_id,
            user.username,
            user.display_name,
            user.service.value,
            [user.role.value],
            created_at,
        )
    return credentials


async def issue_demo_tokens(
    conn: asyncpg.Connection,
    now: datetime | None = None,
    *,
    ttl: timedelta = DEMO_TOKEN_TTL,
) -> dict[Role, str]:
    """An access token per demo role, valid for ``ttl`` (the demo users must exist)."""
    issued_at = now or utc_now()
    return {
        user.role: await sessions.issue_access(conn, user.user_id, now=issued_at, ttl=ttl)
        for user in DEMO_USERS
    }
