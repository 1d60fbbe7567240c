"""Offline sync for the field tablets (docs/sync-protocol.md): push and pull, version 1.

The handlers wire the protocol (:mod:`sync.push`, :mod:`sync.pull`) to the caller's
device, the access policy and the access log; the use cases decide every item.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from backend.auth.access_middleware import begin_shown
from backend.auth.authorize import Access, tenant_fields
from backend.auth.devices import touch_last_synced
from backend.auth.need_to_know import standing_from, views_on
from backend.auth.policy import POLICY, View
from backend.auth.roles import Principal
from backend.openapi import problem_response
from backend.problems import RequestRefused
from backend.runtime import Runtime
from domain.tenant import Tenant
from sync import pull as pulls
from sync import push as pushes
from sync.protocol import (
    MAX_PUSH_BYTES,
    PROTOCOL_VERSION,
    CheckInItem,
    CheckOutItem,
    CompleteVisitItem,
    FailVisitItem,
    ItemCommand,
    ItemProblem,
    PlanVisitItem,
    PullRequest,
    PullResponse,
    PushRequest,
    PushResponse,
    RaiseConcernItem,
)

SUPPORTED = f"v{PROTOCOL_VERSION}"

# Each command a device may push is the HTTP API's command: the same policy line decides it.
ROUTE_OF: dict[type[Any], tuple[str, str]] = {
    PlanVisitItem: ("POST", "/tenants/{tenant_id:uuid}/visits"),
    CompleteVisitItem: ("POST", "/visits/{visit_id:uuid}/completion"),
    FailVisitItem: ("POST", "/visits/{visit_id:uuid}/failure"),
    RaiseConcernItem: ("POST", "/concerns"),
    CheckInItem: ("POST", "/check-ins"),
    CheckOutItem: ("POST", "/check-ins/{check_in_id:uuid}/check-out"),
}


class PolicyAuthority:
    """The access policy, as :mod:`sync.push` asks it about each item and :mod:`sync.pull`
    about each tenant it sends (:class:`sync.push.Authority`, :class:`sync.pull.Viewer`)."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def refusal(self, command: ItemCommand) -> ItemProblem | None:
        line = POLICY[ROUTE_OF[type(command)]]
        if self.principal.has_any(*line.roles):
            return None
        return ItemProblem(
            status=403,
            field="command.type",
            rule="role_required",
            detail=f"the user's roles may not {command.__struct_config__.tag}",
        )

    def follows(self, tenant: Tenant) -> bool:
        return View.FULL in views_on(self.principal, standing_from(tenant))

    def present(self, tenant: Tenant) -> dict[str, Any]:
        return tenant_fields(Access(self.principal, View.FULL), tenant)


def _device_of(principal: Principal, version: str) -> UUID:
    if version != SUPPORTED:
        raise RequestRefused(
            400,
            "version",
            "supported_version",
            f"this server speaks sync protocol {SUPPORTED} only (/sync/{SUPPORTED}/...)",
        )
    if principal.device_id is None:
        raise RequestRefused(
            403,
            "authorization",
            "device_token_required",
            "sync needs an access token bound to a registered device "
            "(POST /auth/device-token, or POST /auth/login with device_id)",
        )
    return principal.device_id


# What only the sync routes answer, beside what every route documents (backend/openapi.py).
_REFUSALS = {
    400: problem_response(
        "`version`/`supported_version`: the path names a protocol version this server does "
        "not speak; or the body is not JSON."
    ),
    403: problem_response(
        "`role_required`: only field workers sync; `authorization`/`device_token_required`: "
        "the access token is not bound to a registered device."
    ),
}


class SyncCall(msgspec.Struct, frozen=True):
    """What a sync handler works with: the verified caller and the server's parts.

    One dependency rather than five: Litestar resolves two or more dependencies of one
    level in an anyio task group, which cost a pull about a twentieth of its server CPU
    (py-spy; decision 71). It is made from the policy guard's ``access``.
    """

    principal: Principal
    runtime: Runtime


def sync_call(request: Request[Any, Any, Any], access: NamedDependency[Access]) -> SyncCall:
    return SyncCall(access.principal, request.app.state.runtime)


class SyncController(Controller):
    path = "/sync/{version:str}"
    tags = ["sync"]
    # Gzipped (the app leaves other answers uncompressed): tablets sync over weak links.
    opt = {"uncompressed": False}
    dependencies = {"sync": Provide(sync_call, sync_to_thread=False)}

    @post(
        "/push",
        status_code=200,
        request_max_body_size=MAX_PUSH_BYTES,
        summary="Push items recorded on the device; each answered with its outcome",
        responses={
            **_REFUSALS,
            413: problem_response("`body`/`max_size`: the body is over 2 MiB."),
        },
    )
    async def push(
        self, version: FromPath[str], data: JSONBody[PushRequest], sync: NamedDependency[SyncCall]
    ) -> PushResponse:
        device_id = _device_of(sync.principal, version)
        runtime = sync.runtime
        pusher = pushes.Pusher(
            device_id=device_id,
            actor=sync.principal.actor(),
            now=runtime.clock(),
            max_skew_s=runtime.settings.max_clock_skew_s,
        )
        response = await pushes.push(
            runtime.pool,
            runtime.push_slots,
            runtime.write_model,
            PolicyAuthority(sync.principal),
            pusher,
            data,
        )
        async with runtime.pool.acquire() as conn:
            await touch_last_synced(conn, device_id, pusher.now)
        return response

    @post(
        "/pull",
        status_code=200,
        summary="Pull safety flags, purges and the device's tenants, page by page",
        responses=_REFUSALS,
    )
    async def pull(
        self,
        request: Request[Any, Any, Any],
        version: FromPath[str],
        data: JSONBody[PullRequest],
        sync: NamedDependency[SyncCall],
    ) -> PullResponse:
        device_id = _device_of(sync.principal, version)
        runtime = sync.runtime
        puller = pulls.Puller(
            device_id=device_id, user_id=sync.principal.user_id, now=runtime.clock()
        )
        return await pulls.pull(
            runtime.pool,
            runtime.write_model,
            PolicyAuthority(sync.principal),
            puller,
            data,
            # The page's access-log rows are written while its answer is built (decision 74).
            on_page=lambda shown: begin_shown(request, [(t, None) for t in shown]),
        )
