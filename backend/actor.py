"""Who is calling. Until sign-in exists (the access-control issue), the caller names
themselves in two headers; this is the one place that will read a verified token instead.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request
from litestar.exceptions import NotAuthorizedException

from domain.events import Actor
from domain.services import Service

USER_HEADER = "x-folgja-user"
SERVICE_HEADER = "x-folgja-service"


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    user = request.headers.get(USER_HEADER)
    service = request.headers.get(SERVICE_HEADER)
    try:
        user_id = UUID(user or "")
    except ValueError:
        raise NotAuthorizedException(
            "the caller must be identified",
            extra={
                "field": USER_HEADER,
                "rule": "uuid_required",
                "detail": "missing or not a UUID",
            },
        ) from None
    try:
        acting_for = Service(service or "")
    except ValueError:
        raise NotAuthorizedException(
            "the caller's service must be named",
            extra={"field": SERVICE_HEADER, "rule": "allowed_values", "detail": "unknown service"},
        ) from None
    return Actor(user_id=user_id, service=acting_for)
