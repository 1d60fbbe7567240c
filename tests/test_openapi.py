"""The OpenAPI document tells the truth: each route's refusals, their shape, the bearer scheme.

What the routes really answer is checked by the fuzzer (tests/test_api_fuzz.py); here the
document itself: every route is in it with the answers its facts imply (public or not,
the policy line, a body, parameters, ``min_position``), every refusal is the Problem
component as ``application/problem+json``, and a client generated from it by
openapi-python-client comes out without warnings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from backend.app import create_app
from backend.auth.guards import is_public
from backend.auth.policy import rule_for
from backend.auth.roles import Role
from backend.settings import Settings

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
# Litestar's own error shape, which no route answers.
LITESTAR_ERROR_FIELDS = {"status_code", "extra"}
# Public routes that refuse bad credentials (their 401 is the route's own).
SIGN_IN = {("POST", "/auth/login"), ("POST", "/auth/refresh"), ("POST", "/auth/device-token")}


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused"))


@pytest.fixture(scope="module")
def spec(app: Litestar) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi_schema.to_schema()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def routes(app: Litestar) -> list[tuple[str, str, str, HTTPRoute]]:
    """(method, route template, OpenAPI path, route) of every documented route."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.resolve_include_in_schema():
                found += [(m, route.path, route.path_format, route) for m in handler.http_methods]
    return found


def test_the_served_document_is_the_apps(client: TestClient, spec: dict[str, Any]) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    assert response.json() == json.loads(json.dumps(spec))


def test_every_route_is_documented(app: Litestar, spec: dict[str, Any]) -> None:
    listed = {(method, path) for method, path, _ in operations(spec)}
    served = {(method, path) for method, _, path, _ in routes(app)}
    assert served == listed
    # Nothing but the OpenAPI documents and the web pages (HTML for browsers, docs/web.md)
    # is left out of the document.
    hidden = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if not handler.resolve_include_in_schema() and handler.http_methods != {"OPTIONS"}
    }
    assert all(path.startswith(("/schema", "/web")) for path in hidden), hidden


def test_every_refusal_is_a_problem(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2") or (path, status) == ("/ready", "503"):
                continue
            content = response.get("content", {})
            assert list(content) == [PROBLEM_JSON], (method, path, status)
            assert content[PROBLEM_JSON]["schema"] == {"$ref": PROBLEM_REF}, (method, path)
            assert response["description"], (method, path, status)


def test_litestars_own_error_shape_is_gone(spec: dict[str, Any]) -> None:
    text = json.dumps(spec)
    assert '"status_code"' not in text
    for name, schema in spec["components"]["schemas"].items():
        assert not set(schema.get("properties", {})) >= LITESTAR_ERROR_FIELDS, name


def test_the_problem_schema(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    problem = schemas["Problem"]
    assert problem["type"] == "object"
    assert set(problem["required"]) == {"type", "title", "status"}
    assert set(problem["properties"]) == {"type", "title", "status", "detail", "errors"}
    errors = problem["properties"]["errors"]["oneOf"][0]
    assert errors == {"type": "array", "items": {"$ref": "#/components/schemas/ProblemError"}}
    error = schemas["ProblemError"]
    assert set(error["required"]) == {"field", "rule", "detail"}


def test_bearer_everywhere_but_the_public_routes(spec: dict[str, Any]) -> None:
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
    } | {"description": spec["components"]["securitySchemes"]["bearer"]["description"]}
    assert spec["security"] == [{"bearer": []}]
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        if is_public(method, path):
            assert operation["security"] == [], (method, path)
            assert ("401" in responses) == ((method, path) in SIGN_IN), (method, path)
        else:
            assert "security" not in operation, (method, path)  # the global one
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)


def test_roles_and_ids_are_documented(app: Litestar, spec: dict[str, Any]) -> None:
    for method, template, path, route in routes(app):
        responses = spec["paths"][path][method.lower()]["responses"]
        if is_public(method, template):
            continue
        line = rule_for(method, template)
        if line is None or set(line.roles) != set(Role):
            assert "403" in responses, (method, path)
        if any(p.type is not str for p in route.path_parameters.values()):
            assert "404" in responses, (method, path)


def test_bodies_and_parameters_are_documented(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(responses), (method, path)
        else:
            assert not {"400", "413"} & set(responses), (method, path)
        if query:
            assert "422" in responses, (method, path)
        if "min_position" in query:
            assert "not_beyond_head" in responses["422"]["description"], (method, path)
            assert "reached_in_time" in responses["503"]["description"], (method, path)


def test_every_route_but_readiness_documents_the_database_down(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        if path == "/ready":
            assert "`database`/`available`" not in responses["503"]["description"]
            continue
        assert "`database`/`available`" in responses["503"]["description"], (method, path)
        assert "Retry-After" in responses["503"]["headers"], (method, path)


def test_commands_document_a_conflict(spec: dict[str, Any]) -> None:
    commands = [
        (method, path)
        for method, path, operation in operations(spec)
        if method == "POST" and "CommandResult" in json.dumps(operation["responses"])
    ]
    assert len(commands) >= 40
    for method, path in commands:
        assert "409" in spec["paths"][path][method.lower()]["responses"], (method, path)


def test_sign_in_documents_its_throttle(spec: dict[str, Any]) -> None:
    login = spec["paths"]["/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    assert "invalid_credentials" in login["401"]["description"]


def test_a_generated_client_comes_out_without_warnings(
    spec: dict[str, Any], tmp_path: Path
) -> None:
    """openapi-python-client drops any answer it cannot read, with a warning: none may be."""
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(spec))
    config = tmp_path / "config.yaml"
    config.write_text("post_hooks: []\n")  # no formatting of the generated code
    generator = Path(sys.executable).parent / "openapi-python-client"
    run = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(tmp_path / "client"),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "warning" not in output.lower(), output
    # Every operation that may be refused reads the problem in its client module (an
    # answer the generator could not read would be left out of it).
    modules = [m for m in (tmp_path / "client").glob("*/api/*/*.py") if m.name != "__init__.py"]
    assert len(modules) == len(operations(spec))
    reading = sum("Problem.from_dict" in module.read_text() for module in modules)
    refusable = sum(PROBLEM_REF in json.dumps(op["responses"]) for _, _, op in operations(spec))
    assert reading == refusable > 70
