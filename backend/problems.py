"""Every refusal as an RFC 9457 problem response that names the field and the rule."""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any
from uuid import UUID

import asyncpg
import eventsourcing.persistence
import psycopg
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    SerializationException,
    ValidationException,
)
from litestar.routes import HTTPRoute
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
)
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

from domain.errors import (
    ConcurrentChange,
    DomainError,
    IllegalStateChange,
    InvalidValue,
    UnknownAggregate,
)

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://folgja.example/problems/"

_STATUS_BY_ERROR: dict[type[DomainError], tuple[int, str]] = {
    InvalidValue: (HTTP_422_UNPROCESSABLE_ENTITY, "invalid-value"),
    IllegalStateChange: (HTTP_409_CONFLICT, "illegal-state-change"),
    ConcurrentChange: (HTTP_409_CONFLICT, "concurrent-change"),
    UnknownAggregate: (HTTP_404_NOT_FOUND, "not-found"),
}


def problem(
    status: int,
    kind: str,
    title: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status}
    if errors:
        body["detail"] = "; ".join(f"{e['field']}: {e['detail']}" for e in errors)
        body["errors"] = errors
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


class RequestRefused(DomainError):
    """A request refused as a whole with a status of its own (e.g. 400 for a sync protocol
    version the server does not speak, 403 for sync without a device)."""

    def __init__(self, status: int, field: str, rule: str, detail: str) -> None:
        super().__init__(field, rule, detail)
        self.status = status


def domain_error_handler(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    if isinstance(exc, RequestRefused):
        status, kind = exc.status, "request-refused"
    else:
        status, kind = next(
            (v for cls, v in _STATUS_BY_ERROR.items() if isinstance(exc, cls)),
            (HTTP_422_UNPROCESSABLE_ENTITY, "invalid-value"),
        )
    error = {"field": exc.field, "rule": exc.rule, "detail": exc.detail}
    return problem(status, kind, exc.detail, [error])


# msgspec's messages, e.g. "Expected `int` >= 1 - at `$.visit_interval_days`".
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_RULES = (
    (re.compile(r"^Object missing required field `(?P<f>[^`]+)`"), "required"),
    (re.compile(r"^Object contains unknown field `(?P<f>[^`]+)`"), "unknown_field"),
    (re.compile(r"^Expected `[^`]+`, got `"), "type"),
    (re.compile(r"^Expected `\w+` (>=|<=|>|<) "), "range"),
    (re.compile(r"^Expected `\w+` of length"), "length"),
    (re.compile(r"^Expected `(array|str|object)` of length"), "length"),
    (re.compile(r"^Invalid enum value"), "allowed_values"),
    # A tagged union's tag (a sync item's command ``type``) that names no member.
    (re.compile(r"^Invalid value '[^']*'$"), "allowed_values"),
    (re.compile(r"^Expected `str` matching regex"), "pattern"),
    (re.compile(r"^Invalid (UUID|RFC3339|ISO|date|datetime|time)"), "format"),
    (re.compile(r"^(JSON is malformed|Input data was truncated)"), "valid_json"),
)


def _field_error(message: str, key: str | None, source: str | None) -> dict[str, str]:
    at = _AT.search(message)
    path = at.group("path").lstrip(".") if at else ""
    text = _AT.sub("", message)
    rule = "valid"
    # Litestar strips msgspec's " - at `$...`" and passes the location as ``key``
    # ("data" when it is the body itself); a missing or unknown field is named under it.
    base = path or (key if key and key != "data" else "")
    for pattern, name in _RULES:
        match = pattern.search(text)
        if match:
            rule = name
            if "f" in match.groupdict():
                base = ".".join(p for p in (base, match.group("f")) if p)
            break
    return {"field": base or source or "body", "rule": rule, "detail": text}


# Litestar's message when a value is missing altogether is the KeyError's: "'data'".
_MISSING = re.compile(r"^'(?P<key>\w+)'$")
_NO_BODY = {"field": "body", "rule": "required", "detail": "a JSON body is required"}


def _validation_error(error: dict[str, Any]) -> dict[str, str]:
    message, key = str(error.get("message", "")), error.get("key")
    missing = _MISSING.match(message)
    if missing and missing.group("key") == key:
        if key == "data":  # the body: empty
            return dict(_NO_BODY)
        return {"field": key, "rule": "required", "detail": f"{key} is required"}
    return _field_error(message, key, error.get("source"))


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    errors = [_validation_error(e) for e in extra if isinstance(e, dict)]
    if not errors:
        errors = [_field_error(str(exc.detail), None, "body")]
    return problem(HTTP_422_UNPROCESSABLE_ENTITY, "validation", "The request is not valid", errors)


_NO_ROUTE = {"field": "path", "rule": "must_exist", "detail": "no route has this path"}
_NO_METHOD = {"field": "method", "rule": "allowed_values", "detail": "the path has no such method"}
_TYPE_NAMES = {UUID: "UUID", int: "integer", float: "number"}


def _unparsable_path(request: Request[Any, Any, Any]) -> dict[str, str] | None:
    """The path parameter the router could not parse (``/tenants/abc``: no UUID).

    The router answers 404 without saying which; a route whose fixed segments match the
    path and one of whose typed parameters does not parse names it.
    """
    segments = [s for s in str(request.scope.get("path", "")).split("/") if s]
    for route in request.app.routes:
        if not isinstance(route, HTTPRoute) or len(route.path_components) != len(segments):
            continue
        unparsable = []
        for component, segment in zip(route.path_components, segments, strict=True):
            if isinstance(component, str):
                if component != segment:
                    break
            elif component.parser is not None:
                try:
                    component.parser(segment)
                except ValueError:
                    unparsable.append(component)
        else:
            if unparsable:
                name, kind = unparsable[0].name, unparsable[0].type
                what = _TYPE_NAMES.get(kind, kind.__name__)
                return {"field": name, "rule": "format", "detail": f"{name} must be a {what}"}
    return None


def _not_json(request: Request[Any, Any, Any], message: str) -> dict[str, str]:
    error = {**_field_error(message, None, "body"), "field": "body"}
    if message.startswith("Input data was truncated"):
        # msgspec says "truncated" of a string with half a UTF-16 surrogate pair ("\ud800"),
        # which Python's json reads: then that is what is wrong.
        body = ScopeState.from_scope(request.scope).body
        try:
            complete = body is not Empty and json.loads(body) is not None
        except (ValueError, RecursionError):
            complete = False
        error["detail"] = (
            "the JSON is not valid: a string holds half of a UTF-16 surrogate pair"
            if complete
            else "the JSON is not valid: it ends before it is complete"
        )
    return error


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    errors = None
    title = str(exc.detail)
    if isinstance(exc.extra, dict) and "field" in exc.extra:
        errors = [{k: str(v) for k, v in exc.extra.items()}]
    elif isinstance(exc.__cause__, SerializationException):
        # The body is not JSON (Litestar answers 400 with msgspec's message).
        errors = [_not_json(request, str(exc.detail))]
        title = "The body is not valid JSON"
    elif exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        errors = [{"field": "body", "rule": "max_size", "detail": "the body is too large"}]
    elif exc.status_code == HTTP_404_NOT_FOUND:
        # The router found no route, or could not parse a path parameter of one.
        unparsable = _unparsable_path(request) if isinstance(exc.__cause__, ValueError) else None
        errors = [unparsable or _NO_ROUTE]
    elif exc.status_code == HTTP_405_METHOD_NOT_ALLOWED:
        errors = [_NO_METHOD]
    return problem(exc.status_code, "http", title, errors, headers=exc.headers)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The exception text may quote stored values (names, notes); log the type and the
    # stack frames only, never the message.
    stack = "".join(traceback.format_tb(exc.__traceback__))
    log.error(
        "unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.url.path, stack
    )
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal", "Internal error")


def recursion_handler(request: Request[Any, Any, Any], exc: RecursionError) -> Response[Any]:
    # msgspec gives up on JSON nested deeper than Python's recursion limit; that is the
    # client's body, not our fault.
    if "deserializing" in str(exc):
        error = {"field": "body", "rule": "max_depth", "detail": "the JSON is nested too deeply"}
        return problem(HTTP_400_BAD_REQUEST, "http", "Bad Request", [error])
    return internal_error_handler(request, exc)


# What PostgreSQL being down, restarting or unreachable raises: on the request pool
# (asyncpg) and on the event store's pool (psycopg, wrapped by the eventsourcing library).
# None of them leaves anything half-written: every write is one transaction.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08, and a connection the server closed
    asyncpg.exceptions.OperatorInterventionError,  # 57: shutting down, starting up
    ConnectionError,  # refused, reset: nobody listens on the port
    psycopg.OperationalError,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
)
RETRY_AFTER_S = 2
_UNAVAILABLE = {
    "field": "database",
    "rule": "available",
    "detail": "the database is not available just now: send the same request again later "
    "(nothing was half-written)",
}


def database_unavailable() -> Response[dict[str, Any]]:
    """503 ``database``/``available``: try the same request again later."""
    return problem(
        503,
        "database-unavailable",
        "The database is not available",
        [dict(_UNAVAILABLE)],
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # The type only: the message may name the host or quote stored values.
    log.warning(
        "database unavailable (%s) on %s %s", type(exc).__name__, request.method, request.url.path
    )
    return database_unavailable()


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` says PostgreSQL is away (down, restarting, the connection closed).

    asyncpg may raise another error while unwinding from the first as the server goes
    (a transaction's exit on a closed connection, a pool holder released twice): the
    chain of errors is looked at, not only the last.
    """
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, DATABASE_UNAVAILABLE):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "connection is closed" in str(seen):
            return True
        # A connection the server ended (shutting down) between two of our statements
        # answers the next one out of step; the request never shares a connection, so
        # that is the only way to get here.
        if isinstance(seen, asyncpg.exceptions.InternalClientError) and (
            "cannot switch to state" in str(seen)
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def client_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """asyncpg's own errors are a bug of ours, unless they come of PostgreSQL going away
    (:func:`database_away`): then the 503 of the database's own errors."""
    if database_away(exc):
        return database_unavailable_handler(request, exc)
    return internal_error_handler(request, exc)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **dict.fromkeys(DATABASE_UNAVAILABLE, database_unavailable_handler),
    asyncpg.InterfaceError: client_error_handler,
    asyncpg.exceptions.InternalClientError: client_error_handler,
    DomainError: domain_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    RecursionError: recursion_handler,
    Exception: internal_error_handler,
}
