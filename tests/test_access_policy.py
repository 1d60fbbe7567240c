"""The policy table (backend/auth/policy.py) is complete, documented, and is what the app does.

Every route has a line; docs/access.md shows the same table; and for every line, every
role the line leaves out is refused 403 ``role_required`` before anything is read or
written, while every role it names gets past the role check.
"""

from __future__ import annotations

import inspect
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.app import create_app
from backend.auth.guards import is_public
from backend.auth.policy import POLICY, matrix_markdown
from backend.auth.roles import Role
from domain.municipal_services import Service
from tests.web_helpers import csrf_header

ROOT = Path(__file__).resolve().parent.parent

# A user of each role, in a service that role belongs to.
SERVICE_OF_ROLE = {
    Role.FIELD_WORKER: Service.OUTREACH_TEAM,
    Role.TEAM_LEAD: Service.OUTREACH_TEAM,
    Role.PROPERTY_MANAGER: Service.PROPERTY_MANAGER,
    Role.NAV_OFFICER: Service.NAV,
    Role.SERVICE_STAFF: Service.CARE,
    Role.ADMIN: Service.ADMIN,
}


def identity(role: Role) -> dict[str, str]:
    user = uuid.uuid5(uuid.NAMESPACE_URL, f"folgja-test-{role.value}")
    return {
        "x-folgja-user": str(user),
        "x-folgja-service": SERVICE_OF_ROLE[role].value,
        "x-folgja-role": role.value,
    }


def app_routes() -> set[tuple[str, str]]:
    found = set()
    for route in create_app().routes:
        for handler in route.route_handlers:  # type: ignore[attr-defined]
            for method in handler.http_methods:
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, route.path))
    return found


def test_every_route_has_exactly_one_policy_line() -> None:
    routes = app_routes()
    missing = {r for r in routes if r not in POLICY and not is_public(*r)}
    assert missing == set()
    stale = set(POLICY) - routes
    assert stale == set()


def test_docs_show_the_policy_table_as_it_is() -> None:
    docs = (ROOT / "docs" / "access.md").read_text()
    assert matrix_markdown() in docs, "docs/access.md: paste `python -m backend.auth.policy`"


def concrete(path: str) -> str:
    """The route template with a value in each parameter."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "service":
            return Service.OUTREACH_TEAM.value
        if name == "name":
            return "risk_timeline"
        return str(uuid.uuid4())

    return re.sub(r"\{(\w+):\w+\}", value, path)


def send(client: TestClient, method: str, path: str, role: Role) -> Any:
    headers = identity(role)
    if path.startswith("/web") and method == "POST":
        # A web form carries its CSRF token (without it: 403 before any rule is looked at).
        headers |= csrf_header(client)
    return client.request(method, concrete(path), headers=headers, json={})


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_roles_outside_the_line_are_refused_and_those_in_it_pass(
    client: TestClient, method: str, path: str
) -> None:
    line = POLICY[(method, path)]
    for role in Role:
        response = send(client, method, path, role)
        assert response.status_code < 500, (role, response.text)
        # (A web page answers HTML; its refusals, to a client not asking for HTML, are
        # problems like the API's.)
        is_json = "json" in response.headers.get("content-type", "")
        rule = response.json().get("errors", [{}])[0].get("rule") if is_json else None
        if role in line.roles:
            assert rule != "role_required", (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert rule == "role_required", (role, response.text)


def test_every_command_about_a_record_runs_its_need_to_know_check() -> None:
    """The guard leaves the need-to-know check of a POST about a record to the command
    (decision 46): its handler must go through ``write`` (WriteAccess), which makes it."""
    from backend.auth.authorize import COMMAND_METHODS
    from backend.auth.policy import Subject, rule_for

    undecided = {Subject.NONE, Subject.WORKER, Subject.TEAM}
    unchecked = []
    for route in create_app().routes:
        for handler in route.route_handlers:  # type: ignore[attr-defined]
            for method in set(handler.http_methods) & COMMAND_METHODS:
                line = rule_for(method, route.path)
                if line is None or line.subject in undecided:
                    continue
                if "write" not in inspect.signature(handler.fn).parameters:
                    unchecked.append((method, route.path))
    assert unchecked == []
