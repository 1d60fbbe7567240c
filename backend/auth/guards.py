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

from collections.abc import Mapping
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
    principal = await issuer_of(connection.app).authenticate(credentials(connection))
    if principal is None:
        raise AuthRefused("authentication_required", "sign in: a bearer token is required")
    connection.state[_STATE_KEY] = principal
    return principal


# The web pages (backend/web, docs/web.md) carry the same access token in an HttpOnly
# cookie, sent by the browser only to WEB_PREFIX: there, and only there, the cookie stands
# for ``Authorization: Bearer`` when the request has no such header. One sign-in, one
# token check, one policy table.
WEB_PREFIX = "/web"
SESSION_COOKIE = "folgja_session"


def is_web(path: str) -> bool:
    return path == WEB_PREFIX or path.startswith(WEB_PREFIX + "/")


def credentials(connection: ASGIConnection[Any, Any, Any, Any]) -> Mapping[str, str]:
    """The headers the issuer verifies: the request's own, or on a web page without an
    Authorization header, the session cookie's token as the bearer token."""
    headers = connection.headers
    if "authorization" in headers or not is_web(connection.scope["path"]):
        return headers
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return headers
    return {**headers, "authorization": f"Bearer {token}"}


# (method, route template) answered without a token: probes, and the ways to get a token.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/metrics"),
        ("POST", "/auth/login"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/device-token"),
        ("GET", "/web/sign-in"),
        ("POST", "/web/sign-in"),
    }
)
# The OpenAPI documents (/schema, /schema/openapi.json, /schema/swagger, ...), and the web
# pages' stylesheets and scripts.
PUBLIC_PREFIXES: tuple[str, ...] = ("/schema", "/web/static")


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
