"""Who is calling: the verified principal of the request, as the write model's actor.

The application-wide guard (:func:`backend.auth.guards.authenticated`) verifies the bearer
token before any handler runs; the event actor is taken from that principal only. No
header, query value or body field can name the actor.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from backend.auth.guards import current_principal
from domain.events import Actor


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The actor the write model records: the verified caller's user id and service."""
    return current_principal(request).actor()
