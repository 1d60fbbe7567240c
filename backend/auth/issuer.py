"""Who is calling: the request's bearer token, verified by a pluggable issuer.

The guard asks ``app.state.token_issuer`` (built on first use from the runtime, unless
something else was put there first). A municipality's identity provider plugs in by
setting an object with the same ``authenticate`` method, for example one that verifies
an OIDC access token's signature against the provider's JWKS and maps its claims to a
:class:`Principal` (see docs/access.md, "Pluggable issuer").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import asyncpg

from backend.auth import sessions
from backend.auth.errors import AuthRefused
from backend.auth.roles import Principal, TokenKind

STATE_KEY = "token_issuer"


class TokenIssuer(Protocol):
    async def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        """The verified caller; None if the request carries no bearer token at all.

        A token that is present but not valid raises
        :class:`~backend.auth.errors.AuthRefused` with the rule that failed.
        """
        ...


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None if there is no such header."""
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token:
        raise AuthRefused("invalid_token", "the token is not valid")
    return token


class DatabaseTokenIssuer:
    """The built-in issuer: opaque tokens whose hashes are in ``auth_tokens``."""

    def __init__(
        self, pool: asyncpg.Pool, clock: Callable[[], datetime], *, offline_lease_days: int
    ) -> None:
        self.pool = pool
        self.clock = clock
        self.offline_lease_days = offline_lease_days

    async def authenticate(self, headers: Mapping[str, str]) -> Principal | None:
        token = bearer_token(headers)
        if token is None:
            return None
        async with self.pool.acquire() as conn:
            record = await sessions.lookup_token(conn, token)
        checked = sessions.check_token(
            record, TokenKind.ACCESS, now=self.clock(), lease_days=self.offline_lease_days
        )
        return checked.principal()


def issuer_of(app: Any) -> TokenIssuer:
    """The application's issuer; the built-in one unless another was installed."""
    issuer: TokenIssuer | None = app.state.get(STATE_KEY)
    if issuer is None:
        runtime = app.state.runtime
        issuer = DatabaseTokenIssuer(
            runtime.pool, runtime.clock, offline_lease_days=runtime.settings.offline_lease_days
        )
        app.state[STATE_KEY] = issuer
    return issuer
