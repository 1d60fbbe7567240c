"""Dependencies the route handlers receive."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from backend.actor import current_actor
from backend.auth.authorize import ACCESS_DEPENDENCY, DEFERRED_KEY
from backend.runtime import Runtime
from backend.write_access import WriteAccess, request_records


def write_access(request: Request[Any, Any, Any]) -> WriteAccess:
    rt: Runtime = request.app.state.runtime
    return WriteAccess(
        rt,
        request_records(request, rt),
        state=request.state,
        need_to_know=request.state.pop(DEFERRED_KEY, None),
    )


def _runtime_part(name: str) -> Provide:
    def provide(request: Request[Any, Any, Any]) -> Any:
        return getattr(request.app.state.runtime, name)

    return Provide(provide, sync_to_thread=False)


DEPENDENCIES = {
    # The narrow parts a handler names: the request pool, the clock, read-your-writes, the
    # settings, this process's projection runner (None where another process runs them).
    "pool": _runtime_part("pool"),
    "clock": _runtime_part("clock"),
    "read_models": _runtime_part("read_models"),
    "settings": _runtime_part("settings"),
    "runner": _runtime_part("runner"),
    # This process's scheduler (None with FOLGJA_RUN_SCHEDULER=false): /health says
    # whether it leads.
    "scheduler": _runtime_part("scheduler"),
    # This process's NAV delivery worker (None: no webhook configured, or no scheduler).
    "nav_delivery": _runtime_part("nav_delivery"),
    # The write model itself, for work that is not one command (the sync push decides a
    # device's items; a pull reads its tenants).
    "write_model": _runtime_part("write_model"),
    # How many sync pushes may be under way at once in this process (Runtime.push_slots).
    "push_slots": _runtime_part("push_slots"),
    # The write model for this request (commands run their need-to-know check in it).
    "write": Provide(write_access, sync_to_thread=False),
    # From the verified bearer token (the app-wide guard), never from the request.
    "actor": Provide(current_actor, sync_to_thread=False),
    # What the policy guard decided: the caller and their view of the request's tenant.
    **ACCESS_DEPENDENCY,
}
