"""Signing in and out in a browser, the home page, and refusals as pages.

A web sign-in is the API's password check (``backend.routes.auth.check_password``: the
same users, the same throttle); it issues one access token for the whole sign-in
(``REFRESH_TTL``, 12 hours: as long as an API sign-in lasts with its refreshes), kept in
the HttpOnly ``folgja_session`` cookie for ``/web``. The app's guard reads the cookie there
as the bearer token (``backend.auth.guards.credentials``). Signing out revokes the token
in the database at once, as ``POST /auth/logout`` does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from backend import problems
from backend.auth import sessions
from backend.auth.errors import AuthRefused
from backend.auth.guards import SESSION_COOKIE, WEB_PREFIX
from backend.auth.roles import SignIn
from backend.auth.throttle import TooManyAttempts
from backend.auth.tokens import REFRESH_TTL
from backend.routes.auth import check_password
from backend.runtime import Clock
from backend.web.render import cookie_secure, labels, page, wants_html
from domain.errors import DomainError

MAX_USERNAME = 100
MAX_PASSWORD = 1024


def session_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=WEB_PREFIX,
        max_age=int(REFRESH_TTL.total_seconds()),
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
    )


def cleared_session(request: Request[Any, Any, Any]) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path=WEB_PREFIX,
        max_age=0,
        httponly=True,
        secure=cookie_secure(request),
        samesite="lax",
    )


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a page of ours, never another site."""
    if value and value.startswith(WEB_PREFIX + "/") and "//" not in value and "\\" not in value:
        return value
    return WEB_PREFIX


class SessionController(Controller):
    path = WEB_PREFIX
    include_in_schema = False

    @get("/sign-in")
    async def sign_in_form(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "sign_in.html", next_page=request.query_params.get("next"))

    @post("/sign-in", status_code=HTTP_303_SEE_OTHER)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Response[Any]:
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        next_page = request.query_params.get("next")
        t = labels(request)
        errors: dict[str, str] = {}
        if not username or len(username) > MAX_USERNAME:
            errors["username"] = t["required"]
        if not password or len(password) > MAX_PASSWORD:
            errors["password"] = t["required"]
        again: dict[str, Any] = {"username": username, "next_page": next_page}
        if errors:
            return page(request, "sign_in.html", status=400, errors=errors, **again)
        now = clock()
        try:
            async with pool.acquire() as conn:
                user = await check_password(request, conn, now, username, password)
                token = await sessions.issue_access(
                    conn, user.id, now=now, signed_in_with=SignIn.PASSWORD, ttl=REFRESH_TTL
                )
        except TooManyAttempts as refused:
            seconds = (refused.headers or {}).get("Retry-After", "60")
            message = t("too_many_attempts", seconds=seconds)
            template = page(request, "sign_in.html", status=429, message=message, **again)
            template.headers["Retry-After"] = seconds
            return template
        except AuthRefused:
            message = t["sign_in_failed"]
            return page(request, "sign_in.html", status=401, message=message, **again)
        return Redirect(
            safe_next(next_page),
            status_code=HTTP_303_SEE_OTHER,
            cookies=[session_cookie(request, token)],
        )

    @post("/sign-out", status_code=HTTP_303_SEE_OTHER)
    async def sign_out(
        self,
        request: Request[Any, Any, Any],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            async with pool.acquire() as conn:
                await sessions.revoke_token_family(conn, token, clock())
        return Redirect(
            WEB_PREFIX + "/sign-in",
            status_code=HTTP_303_SEE_OTHER,
            cookies=[cleared_session(request)],
        )

    @get("/")
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        return page(request, "home.html")


def _status(request: Request[Any, Any, Any], exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, DomainError):
        return _fallback(request, exc).status_code or 500
    return 500


def _fallback(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The app's own problem answer for this exception (a client that asked for JSON)."""
    for kind in type(exc).__mro__:
        handler = problems.EXCEPTION_HANDLERS.get(kind)
        if handler is not None:
            response: Response[Any] = handler(request, exc)
            return response
    raise exc


def web_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A refusal on a web page, as a page (with the same status as the API's answer)."""
    if not wants_html(request):
        return _fallback(request, exc)
    status = _status(request, exc)
    if status == 401:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(
            f"{WEB_PREFIX}/sign-in?next={quote(target)}",
            status_code=HTTP_303_SEE_OTHER,
            cookies=[cleared_session(request)],
        )
    t = labels(request)
    if status == 403:
        title, text = t["forbidden_title"], t["forbidden_text"]
    elif status == 404:
        title, text = t["not_found_title"], t["not_found_text"]
    elif status >= 500:
        return _fallback(request, exc)
    else:  # 400, 409, 422 ... of a button with no form to show again (e.g. a double click)
        title, text = t["error_title"], t["error_text"]
    return page(request, "error.html", status=status, title=title, text=text)


WEB_EXCEPTION_HANDLERS: dict[Any, Any] = {HTTPException: web_error, DomainError: web_error}
