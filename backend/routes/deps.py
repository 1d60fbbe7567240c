"""Dependencies the route handlers receive."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from backend.actor import current_actor
from backend.auth.authorize import ACCESS_DEPENDENCY
from backend.runtime import Runtime


def runtime(request: Request[Any, Any, Any]) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


DEPENDENCIES = {
    "runtime": Provide(runtime, sync_to_thread=False),
    # From the verified bearer token (the app-wide guard), never from the request.
    "actor": Provide(current_actor, sync_to_thread=False),
    # What the policy guard decided: the caller and their view of the request's tenant.
    **ACCESS_DEPENDENCY,
}
