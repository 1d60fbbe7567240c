"""Dependencies the route handlers receive."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from backend.actor import current_actor
from backend.auth.authorize import ACCESS_DEPENDENCY, DEFERRED_KEY
from backend.runtime import Runtime
from backend.write_access import WriteAccess, request_records


def runtime(request: Request[Any, Any, Any]) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def write_access(request: Request[Any, Any, Any]) -> WriteAccess:
    rt: Runtime = request.app.state.runtime
    return WriteAccess(
        rt,
        request_records(request, rt),
        state=request.state,
        need_to_know=request.state.pop(DEFERRED_KEY, None),
    )


DEPENDENCIES = {
    "runtime": Provide(runtime, sync_to_thread=False),
    # The write model for this request (commands run their need-to-know check in it).
    "write": Provide(write_access, sync_to_thread=False),
    # From the verified bearer token (the app-wide guard), never from the request.
    "actor": Provide(current_actor, sync_to_thread=False),
    # What the policy guard decided: the caller and their view of the request's tenant.
    **ACCESS_DEPENDENCY,
}
