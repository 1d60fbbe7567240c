"""Route guards: the bearer token is verified once per request, then roles are checked.

:func:`authenticated` is installed once, on the application: every route except those in
:data:`PUBLIC_ROUTES` (and the OpenAPI documents under :data:`PUBLIC_PREFIXES`) needs a
valid bearer token, so a new route is protected without doing anything.

Which roles may call which route, and which tenants and fields they may see, is the
policy table's (``backend/auth/policy.py``), enforced by the next app-level guard
(``backend/auth/authorize.py``). Handlers receive the verified caller as the
``principal`` dependency (:data:`PRINCIPAL_DEPENDENCY`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler

from backend.auth.errors import AuthRefused
from backend.auth.issuer import issuer_of
from backend.auth.roles import Principal

_STATE_KEY = "principal"


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The verified caller of this request (asked of the issuer once, then kept)."""
    known: Principal | None = connection.state.get(_STATE_KEY)
    if known is not None:
        return known
    principal = await issuer_of(connection.app).authenticate(connection.headers)
    if principal is None:
        raise AuthRefused("authentication_required", "sign in: a bearer token is required")
    connection.state[_STATE_KEY] = principal
    return principal


# (method, route template) answered without a token: probes, and the ways to get a token.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("POST", "/auth/login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/device-token"),
    }
)
# The OpenAPI documents (/schema, /schema/openapi.json, /schema/swagger, ...).
PUBLIC_PREFIXES: tuple[str, ...] = ("/schema",)


def is_public(method: str, path_template: str) -> bool:
    if (method.upper(), path_template) in PUBLIC_ROUTES:
        return True
    return any(path_template == p or path_template.startswith(p + "/") for p in PUBLIC_PREFIXES)


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The application-wide guard: a verified bearer token on every non-public route."""
    method = str(connection.scope.get("method", "GET"))
    template = connection.scope.get("path_template") or connection.scope["path"]
    if is_public(method, template):
        return
    await authenticate(connection)


def current_principal(request: Request[Any, Any, Any]) -> Principal:
    principal: Principal | None = request.state.get(_STATE_KEY)
    if principal is None:  # a handler without a guard asked for the caller
        raise AuthRefused("authentication_required", "sign in: a bearer token is required")
    return principal


PRINCIPAL_DEPENDENCY = {"principal": Provide(current_principal, sync_to_thread=False)}
