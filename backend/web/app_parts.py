"""What the app adds for the web pages: their routes, templates, static files and CSRF."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.static_files import create_static_files_router

from backend.auth.guards import WEB_PREFIX
from backend.settings import Settings
from backend.web.fbe import ArrearsPage, ConcernPages, LeaseFinder, SafetyRegisterPage
from backend.web.lead import LeadPages, ReviewInboxPage
from backend.web.nav import NavPages
from backend.web.render import STATIC
from backend.web.session import WEB_EXCEPTION_HANDLERS, SessionController
from backend.web.tenant import TenantPage

# The app's routes opt out of CSRF (the JSON API authenticates with a bearer header, which
# a browser never sends by itself); the web pages, whose cookie a browser does send, opt in.
CSRF_OPT_OUT = "exclude_from_csrf"
CSRF_COOKIE = "folgja_csrf"


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        # One secret for every worker of a run (backend/serve.py sets it when unset).
        secret=settings.web_secret or secrets.token_urlsafe(32),
        cookie_name=CSRF_COOKIE,
        cookie_path=WEB_PREFIX,
        cookie_secure=settings.web_cookie_secure,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude_from_csrf_key=CSRF_OPT_OUT,
    )


def web_routers() -> list[Any]:
    pages = Router(
        path="/",
        route_handlers=[
            SessionController,
            ConcernPages,
            SafetyRegisterPage,
            ArrearsPage,
            LeaseFinder,
            NavPages,
            LeadPages,
            ReviewInboxPage,
            TenantPage,
        ],
        exception_handlers=WEB_EXCEPTION_HANDLERS,
        opt={CSRF_OPT_OUT: False},
        include_in_schema=False,
    )
    static = create_static_files_router(
        path=WEB_PREFIX + "/static", directories=[STATIC], include_in_schema=False
    )
    return [pages, static]
