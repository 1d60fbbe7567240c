"""Users in PostgreSQL (asyncpg): who may sign in, for which service, in which roles.

Passwords are hashed with scrypt off the event loop (``backend/auth/passwords.py``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

import anyio.to_thread
import asyncpg
import msgspec

from backend.auth import passwords
from backend.auth.roles import Role
from domain.errors import IllegalStateChange, InvalidValue
from domain.municipal_services import Service
from projections.pagination import Page, decode_cursor, page_of

MIN_PASSWORD_LENGTH = 12


class UserRow(msgspec.Struct, frozen=True, kw_only=True):
    """A user as admins see it (never the password hash)."""

    id: UUID
    username: str
    display_name: str
    service: Service
    roles: list[Role]
    active: bool
    created_at: datetime


def known_roles(names: Iterable[str]) -> list[Role]:
    """The roles among ``names`` that this version knows (a stray name grants nothing)."""
    valid = {r.value for r in Role}
    return sorted((Role(n) for n in set(names) if n in valid), key=list(Role).index)


def _user(row: asyncpg.Record) -> UserRow:
    return UserRow(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        service=Service(row["service"]),
        roles=known_roles(row["roles"]),
        active=row["active"],
        created_at=row["created_at"],
    )


_USER_COLUMNS = "id, username, display_name, service, roles, active, created_at"


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(
            "password", "length", f"a password has at least {MIN_PASSWORD_LENGTH} characters"
        )


async def hash_password(password: str) -> str:
    """scrypt off the event loop (it takes ~0.1 s of CPU by design)."""
    return await anyio.to_thread.run_sync(passwords.hash_password, password)


async def create_user(
    conn: asyncpg.Connection,
    *,
    username: str,
    display_name: str,
    service: Service,
    roles: Sequence[Role],
    password: str | None,
    now: datetime,
    user_id: UUID | None = None,
) -> UserRow:
    """A new user; ``password`` None for one who signs in through an external provider."""
    password_hash = None
    if password is not None:
        check_password_strength(password)
        password_hash = await hash_password(password)
    try:
        row = await conn.fetchrow(
            f"""
            INSERT INTO users (id, username, display_name, service, roles, password_hash,
                               active, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, true, $7)
            RETURNING {_USER_COLUMNS}
            """,
            user_id or uuid.uuid4(),
            username,
            display_name,
            service.value,
            [r.value for r in dict.fromkeys(roles)],
            password_hash,
            now,
        )
    except asyncpg.UniqueViolationError as exc:
        field = "username" if "username" in (exc.constraint_name or "") else "user_id"
        raise IllegalStateChange(field, f"unique_{field}", f"{field} is taken") from None
    assert row is not None
    return _user(row)


async def user_by_id(conn: asyncpg.Connection, user_id: UUID) -> UserRow | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


async def verify_password(conn: asyncpg.Connection, username: str, password: str) -> UserRow | None:
    """The active user with this username and password, else None (same time either way)."""
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = $1", username
    )
    stored = row["password_hash"] if row is not None else None
    ok = await anyio.to_thread.run_sync(passwords.verify_password, password, stored)
    if not ok or row is None or not row["active"]:
        return None
    if passwords.needs_rehash(stored or ""):
        # Raise the hash to today's parameters (no strength check: the password is in use).
        await conn.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            row["id"],
            await hash_password(password),
        )
    return _user(row)


async def list_users(
    conn: asyncpg.Connection, *, cursor: str | None = None, limit: int = 50
) -> Page[UserRow]:
    after = decode_cursor(cursor, (str,))
    rows = await conn.fetch(
        f"""
        SELECT {_USER_COLUMNS} FROM users
        WHERE $1::text IS NULL OR username > $1
        ORDER BY username LIMIT $2
        """,
        after[0] if after else None,
        limit + 1,
    )
    return page_of([_user(r) for r in rows], limit, lambda u: (u.username,))
