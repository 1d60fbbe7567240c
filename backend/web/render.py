"""Rendering a page: the template engine, the words of the chosen language, the caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Request
from litestar.datastructures import Cookie
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from backend.auth.roles import Principal, Role
from backend.settings import Settings
from backend.web import i18n

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _engine_setup(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters.update(
        date_no=i18n.date_no,
        datetime_no=i18n.datetime_no,
        time_no=i18n.time_no,
        iso_local=i18n.iso_local,
    )
    env.trim_blocks = True
    env.lstrip_blocks = True


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=_engine_setup
    )


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser (asks for HTML): refusals are pages; any other client gets the problem."""
    return "text/html" in request.headers.get("accept", "")


def cookie_secure(request: Request[Any, Any, Any]) -> bool:
    settings: Settings = request.app.state.runtime.settings
    return settings.web_cookie_secure or request.url.scheme == "https"


def lang_of(request: Request[Any, Any, Any]) -> str:
    return i18n.choose_lang(request.query_params.get("lang"), request.cookies.get(i18n.LANG_COOKIE))


def labels(request: Request[Any, Any, Any]) -> i18n.Labels:
    return i18n.Labels(lang_of(request))


# The pages each role has, in the menu's order: (path, label key, roles).
_STAFF = frozenset({Role.FIELD_WORKER, Role.TEAM_LEAD, Role.SERVICE_STAFF, Role.PROPERTY_MANAGER})
MENU: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("/web/concerns", "concerns_raised", _STAFF | {Role.NAV_OFFICER}),
    ("/web/concerns/new", "raise_concern", _STAFF | {Role.NAV_OFFICER}),
    ("/web/safety-register", "safety_register", _STAFF),
    ("/web/arrears", "report_arrears", frozenset({Role.PROPERTY_MANAGER})),
    ("/web/nav-inbox", "nav_inbox", frozenset({Role.NAV_OFFICER})),
    ("/web/caseload", "caseload", frozenset({Role.TEAM_LEAD, Role.SERVICE_STAFF})),
    (
        "/web/handover-board",
        "handover_board",
        frozenset({Role.FIELD_WORKER, Role.TEAM_LEAD, Role.SERVICE_STAFF}),
    ),
    ("/web/review-inbox", "review_inbox", frozenset({Role.TEAM_LEAD, Role.SERVICE_STAFF})),
    ("/web/devices", "devices", frozenset({Role.TEAM_LEAD, Role.ADMIN})),
    ("/web/alerts", "alerts", frozenset(Role)),
)


def menu_for(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [(path, key) for path, key, roles in MENU if principal.has_any(*roles)]


def page(
    request: Request[Any, Any, Any],
    name: str,
    *,
    status: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    lang = lang_of(request)
    principal = request.state.get("principal")
    own_cookies = list(cookies or ())
    asked = request.query_params.get("lang")
    if asked in i18n.LANGS and asked != request.cookies.get(i18n.LANG_COOKIE):
        own_cookies.append(
            Cookie(
                key=i18n.LANG_COOKIE,
                value=asked,
                path="/web",
                max_age=365 * 24 * 3600,
                httponly=True,
                secure=cookie_secure(request),
                samesite="lax",
            )
        )
    other = "en" if lang == "nb" else "nb"
    return Template(
        template_name=name,
        status_code=status,
        cookies=own_cookies,
        context={
            "t": i18n.Labels(lang),
            "lang": lang,
            "other_lang_url": f"{request.url.path}?lang={other}",
            "principal": principal,
            "menu": menu_for(principal),
            "path": request.url.path,
            **context,
        },
        headers={"Cache-Control": "no-store"},
    )
