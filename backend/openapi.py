"""The OpenAPI document: every answer a route can give, derived from what the app knows.

Litestar documents each route's success answer from its signature, and a 400 in its own
``{status_code, detail, extra}`` shape that no route here ever answers. This module
replaces the latter with the refusals the app really gives, each an RFC 9457 problem
(:class:`Problem`, ``application/problem+json``, backend/problems.py), and derives them
from facts the app already holds, so a new route is documented without doing anything:

* not public (:data:`backend.auth.guards.PUBLIC_ROUTES`): 401, and the bearer scheme;
  public routes say ``security: []``;
* a policy line that not every role passes, or none at all (backend/auth/policy.py): 403;
* a UUID in the path, a tenant the line checks, or a command on the write model (it may
  name records that do not exist): 404;
* a command on the write model (the handler takes the ``actor``): 409;
* a JSON body: 400 (not JSON, nested too deeply), 413 (over 1 MiB), 422;
* query or path parameters: 422;
* ``min_position``: 503 with ``Retry-After`` (the read model is behind), and 422
  ``min_position``/``not_beyond_head``;
* every route but the readiness probe (which answers its own 503): 503
  ``database``/``available`` with ``Retry-After`` while PostgreSQL is down
  (backend/problems.DATABASE_UNAVAILABLE).

Answers only one route gives (sign-in's 429, the readiness probe's 503) are declared on
the route with ``responses=`` (:func:`problem_response`). :func:`document` is applied
once, in ``create_app``; it only sets attributes the handlers' decorators also accept
(``responses``, ``operation_class``), and the schema is still built lazily, on the first
request for it. ``tests/test_openapi.py`` checks the result route by route.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import msgspec
from litestar import Litestar
from litestar.constants import RESERVED_KWARGS
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from backend import problems
from backend.auth.guards import is_public
from backend.auth.policy import Rule, Subject, rule_for
from backend.auth.roles import Role

BEARER = "bearer"
MIN_POSITION = "min_position"


class ProblemError(msgspec.Struct, kw_only=True):
    """One broken rule: which field, which rule, and a sentence for people."""

    field: Annotated[
        str,
        msgspec.Meta(
            description="The field: a body path (`address.postcode`), a path or query "
            "parameter (`tenant_id`, `min_position`), `body`, or `authorization`"
        ),
    ]
    rule: Annotated[
        str,
        msgspec.Meta(
            description="The rule, for programs: `required`, `type`, `range`, `format`, "
            "`must_exist`, `role_required`, `token_expired`, ..."
        ),
    ]
    detail: Annotated[str, msgspec.Meta(description="What is wrong, for people")]
    action: (
        Annotated[
            str,
            msgspec.Meta(
                description="What a device must do now (`wipe`, `reauthenticate`); "
                "only on the device refusals"
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    scope: (
        Annotated[
            str,
            msgspec.Meta(
                description="Whose failed sign-ins were too many (`account`, `address`); "
                "only on `too_many_attempts`"
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every refusal (4xx) and the 500 of a bug."""

    type: Annotated[str, msgspec.Meta(description="A URI naming the kind of problem")]
    title: str
    status: Annotated[int, msgspec.Meta(ge=400, le=599)]
    detail: (
        Annotated[str, msgspec.Meta(description="Every error as `field: detail`, joined")]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    errors: list[ProblemError] | msgspec.UnsetType = msgspec.UNSET


def problem_response(description: str) -> ResponseSpec:
    """A documented refusal, for a route's ``responses=`` (what only that route answers)."""
    return ResponseSpec(
        data_container=Problem,
        media_type=problems.MEDIA_TYPE,
        description=description,
        generate_examples=False,
    )


# --- the app-wide parts --------------------------------------------------------------------

COMPONENTS = Components(
    security_schemes={
        BEARER: SecurityScheme(
            type="http",
            scheme="bearer",
            description="An access token from `POST /auth/login` (or `/auth/refresh`, "
            "`/auth/device-token`): `Authorization: Bearer fga_...`.",
        )
    }
)
SECURITY: list[SecurityRequirement] = [{BEARER: []}]


# --- what each refusal means ---------------------------------------------------------------

_UNAUTHENTICATED = (
    "No valid bearer token. `errors[0].rule`: `authentication_required`, `invalid_token`, "
    "`token_expired`, `token_revoked`, `account_disabled`, `device_revoked` (with "
    "`action: wipe`), `offline_lease_expired` (with `action: reauthenticate`)."
)
_NOT_FOUND = (
    "`must_exist`: no such record, or the caller has no need to know its tenant (the same "
    "answer, so ids cannot be probed); `format`: a path segment that is not a UUID."
)
_CONFLICT = (
    "The command does not fit the record's state now (e.g. `lease_active`, `unresolved`, "
    "`unique_id`: the id is another record's), or another change to it came first "
    "(`no_concurrent_change`): read it and decide again."
)
_INVALID = (
    "A field breaks a rule: `required`, `type`, `range`, `length`, `allowed_values`, "
    "`pattern`, `format`, `unknown_field`, or a rule of the domain."
)
_MALFORMED = (
    "The body is not JSON (`body`/`valid_json`: not UTF-8, truncated, a lone surrogate) or "
    "is nested too deeply (`body`/`max_depth`)."
)
_TOO_LARGE = "`body`/`max_size`: the body is larger than 1 MiB."
_BEHIND = (
    "`min_position`/`reached_in_time`: the read model did not reach `min_position` in time; "
    "try again after `Retry-After` seconds."
)
_UNAVAILABLE = (
    "`database`/`available`: PostgreSQL is down, restarting or unreachable; nothing was "
    "half-written: send the same request again after `Retry-After` seconds (a tablet: with "
    "growing pauses)."
)
# The readiness probe says the database is down in its own way (its own 503).
_NO_DATABASE = frozenset({("GET", "/ready")})
_BEYOND_HEAD = " `min_position`/`not_beyond_head`: no event has that position yet."


def _forbidden(line: Rule | None) -> str | None:
    if line is None:
        return "`no_policy`: the route has no line in the policy table."
    reasons = []
    if set(line.roles) != set(Role):
        roles = ", ".join(sorted(r.value for r in line.roles))
        reasons.append(f"`role_required`: this needs one of the roles {roles}")
    if line.password_sign_in:
        reasons.append("`password_sign_in_required`: not from a tablet's device sign-in")
    if line.subject is Subject.WORKER:
        reasons.append("`own_caseload`: another worker's, outside one's own team")
    if line.subject is Subject.TEAM:
        reasons.append("`own_service`: another service's team")
    return "; ".join(reasons) + "." if reasons else None


def _query_parameters(route: HTTPRoute, handler: HTTPRouteHandler) -> set[str]:
    path = set(route.path_parameters)
    dependencies = set(handler.resolve_dependencies())
    names = set(handler.parsed_fn_signature.parameters)
    return names - path - dependencies - set(RESERVED_KWARGS)


def answers(route: HTTPRoute, handler: HTTPRouteHandler, method: str) -> dict[int, str]:
    """The refusals ``method`` on ``route`` can give, with what each means."""
    template = route.path
    parameters = handler.parsed_fn_signature.parameters
    body = "data" in parameters
    command = "actor" in parameters  # a change on the write model, recorded as the caller
    query = _query_parameters(route, handler)
    by_id = any(p.type is not str for p in route.path_parameters.values())
    named = any(p.type is str for p in route.path_parameters.values())

    found: dict[int, str] = {}
    if not is_public(method, template):
        found[401] = _UNAUTHENTICATED
        line = rule_for(method, template)
        if (forbidden := _forbidden(line)) is not None:
            found[403] = forbidden
        if line is not None and line.subject not in (Subject.NONE, Subject.WORKER, Subject.TEAM):
            found[404] = _NOT_FOUND
    if by_id or command:
        found[404] = _NOT_FOUND
    if command:
        found[409] = _CONFLICT
    if body:
        found[400] = _MALFORMED
        found[413] = _TOO_LARGE
    if body or query or named:
        found[422] = _INVALID + (_BEYOND_HEAD if MIN_POSITION in query else "")
    if (method, template) not in _NO_DATABASE:
        found[503] = _UNAVAILABLE
    if MIN_POSITION in query:
        found[503] = _BEHIND + " " + _UNAVAILABLE
    return found


# --- headers some refusals carry -----------------------------------------------------------

_RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
    description="Seconds to wait before trying again",
)
HEADERS: dict[str, dict[str, OpenAPIHeader]] = {
    "401": {
        "WWW-Authenticate": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING), description='`Bearer realm="folgja", ...`'
        ),
        "Folgja-Device-Action": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING, enum=["wipe", "reauthenticate"]),
            description="On a revoked device or an expired offline lease: what it must do",
        ),
    },
    "429": {"Retry-After": _RETRY_AFTER},
    "503": {"Retry-After": _RETRY_AFTER},
}


def _operation_class(documented: frozenset[str], public: bool) -> type[Operation]:
    """An Operation that keeps only the documented answers and sets headers and security."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            responses = self.responses or {}
            for status in list(responses):
                if not status.startswith("2") and status not in documented:
                    del responses[status]  # Litestar's {status_code, detail, extra} 400
            for status, headers in HEADERS.items():
                response = responses.get(status)
                if isinstance(response, OpenAPIResponse) and _is_problem(response):
                    response.headers = {**(response.headers or {}), **headers}
            if public:
                self.security = []

    return DocumentedOperation


def _is_problem(response: OpenAPIResponse | Reference) -> bool:
    return isinstance(response, OpenAPIResponse) and problems.MEDIA_TYPE in (response.content or {})


def document(app: Litestar) -> None:
    """Give every route of ``app`` its refusals (see the module's docstring)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            derived: dict[int, str] = {}
            for method in sorted(handler.http_methods):
                derived.update(answers(route, handler, method))
            declared: Mapping[int, ResponseSpec] = handler.responses or {}
            handler.responses = {
                **{status: problem_response(text) for status, text in sorted(derived.items())},
                **declared,  # what the route says of itself wins
            }
            public = all(is_public(m, route.path) for m in handler.http_methods)
            documented = frozenset(str(status) for status in handler.responses)
            handler.operation_class = _operation_class(documented, public)
