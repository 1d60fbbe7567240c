"""Helpers for the web page tests: a browser-like client signed in with a password."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.auth_api import PASSWORD, make_user

HTML = {"accept": "text/html,application/xhtml+xml"}
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')


def browser(client: TestClient) -> TestClient:
    """The client as a browser: no bearer token added, HTML asked for."""
    client.anonymous = True  # type: ignore[attr-defined]
    client.headers.update(HTML)
    return client


def csrf_header(client: TestClient) -> dict[str, str]:
    """A web form's CSRF token as the header Litestar also accepts (its cookie is set by the
    sign-in page): without it a /web POST is refused 403 before anything else."""
    page = client.get("/web/sign-in")
    return {"x-csrftoken": page.cookies.get("folgja_csrf") or client.cookies["folgja_csrf"]}


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def form_token(client: TestClient, path: str = "/web/sign-in") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = form_token(client)
    return client.post(
        "/web/sign-in",
        data={"username": username, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )


def signed_in_browser(
    client: TestClient,
    username: str,
    *roles: Role,
    service: Service = Service.OUTREACH_TEAM,
) -> TestClient:
    make_user(client, username, *roles, service=service)
    browser(client)
    response = sign_in(client, username)
    assert response.status_code == 303, response.text
    return client


def post_form(client: TestClient, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    """Post a form the way the page does: with the CSRF token the page carries."""
    token = form_token(client, page or "/web")
    return client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


def as_api(client: TestClient) -> TestClient:
    """Back to the API test client's ways (identity headers become bearer tokens)."""
    client.anonymous = False  # type: ignore[attr-defined]
    return client


def access_rows(client: TestClient, endpoint: str) -> list[dict[str, Any]]:
    """The access log's rows for one endpoint (``METHOD /route/{template}``), oldest first."""
    from tests.auth_api import in_app

    async def read(conn: Any) -> list[dict[str, Any]]:
        rows = await conn.fetch(
            "SELECT user_id, tenant_id, action, endpoint, record_id, status FROM access_log "
            "WHERE endpoint = $1 ORDER BY id",
            endpoint,
        )
        return [dict(r) for r in rows]

    return in_app(client, read)
