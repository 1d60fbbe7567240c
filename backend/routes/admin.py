"""Administration: users, devices, the access log and NAV deliveries (admins only).

Reading the access log about a tenant is itself a read about that tenant, so it is
recorded in the log as well.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_200_OK

from backend.auth import access_log, users
from backend.auth.access_log import AccessAction, AccessLogEntry
from backend.auth.devices import DeviceList, device_statuses
from backend.auth.guards import PRINCIPAL_DEPENDENCY
from backend.auth.roles import Principal, Role
from backend.nav_delivery import NavDeliveryWorker
from backend.openapi import problem_response
from backend.routes.params import Cursor, Limit
from backend.runtime import Clock
from backend.settings import Settings
from domain.municipal_services import Service
from projections import nav_outbox
from projections.nav_outbox import DeliveryState, NavDelivery
from projections.pagination import DEFAULT_PAGE_SIZE, Page


class NewUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    service: Service
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=len(Role))]
    password: Annotated[str, msgspec.Meta(min_length=users.MIN_PASSWORD_LENGTH, max_length=1024)]
    user_id: UUID | None = None


class AdminController(Controller):
    path = "/admin"
    tags = ["admin"]
    dependencies = PRINCIPAL_DEPENDENCY

    @post(
        "/users",
        summary="Create a user with a password",
        responses={
            409: problem_response(
                "`username`/`unique_username`, `user_id`/`unique_user_id`: already taken."
            )
        },
    )
    async def create_user(
        self,
        data: JSONBody[NewUser],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
    ) -> users.UserRow:
        async with pool.acquire() as conn:
            return await users.create_user(
                conn,
                username=data.username,
                display_name=data.display_name,
                service=data.service,
                roles=data.roles,
                password=data.password,
                now=clock(),
                user_id=data.user_id,
            )

    @get(
        "/devices",
        summary="Every registered device: its user, lease, last syncs and clock skew",
        description="`clock_skew_seconds` is the device's clock minus the server's, measured "
        "at its last push or pull that carried `device_time`; `clock_skewed` says it is "
        "further off than `FOLGJA_MAX_CLOCK_SKEW_S`, so the items it pushes are marked "
        "`device_clock_skew` for review. The furthest-off clocks come first.",
    )
    async def devices(
        self, pool: NamedDependency[asyncpg.Pool], settings: NamedDependency[Settings]
    ) -> DeviceList:
        async with pool.acquire() as conn:
            return await device_statuses(conn, max_skew_s=settings.max_clock_skew_s)

    @get("/users", summary="Users by username")
    async def users(
        self, pool: NamedDependency[asyncpg.Pool], cursor: Cursor = None, limit: Limit = 50
    ) -> Page[users.UserRow]:
        async with pool.acquire() as conn:
            return await users.list_users(conn, cursor=cursor, limit=limit)

    @get("/access-log", summary="Who read or changed what, newest first; per tenant and/or user")
    async def access_log(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        tenant_id: Annotated[
            UUID | None, Parameter(description="Entries about this tenant")
        ] = None,
        user_id: Annotated[UUID | None, Parameter(description="Entries by this user")] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Page[AccessLogEntry]:
        async with pool.acquire() as conn:
            page = await access_log.access_entries(
                conn, tenant_id=tenant_id, user_id=user_id, cursor=cursor, limit=limit
            )
            if tenant_id is not None:
                await access_log.record_access(
                    conn,
                    principal,
                    tenant_id,
                    AccessAction.READ,
                    access_log.endpoint_of(request),
                    None,
                    200,
                    at=clock(),
                )
        return page

    @get(
        "/nav-deliveries",
        summary="NAV deliveries (decision 66), the oldest first; by state",
        description="Each NAV notification, and each re-delivery an alert asks for, is one "
        "delivery to NAV's endpoint (`FOLGJA_NAV_WEBHOOK_URL`). `pending`: waiting for "
        "its next attempt (`next_attempt_at`); `delivered`: NAV answered 2xx; `dead`: given "
        "up after the last attempt (`last_error`: the last status code or error class; "
        "`basis_lapsed`: NAV may no longer read the notification). The notification's "
        "content is not shown.",
    )
    async def nav_deliveries(
        self,
        pool: NamedDependency[asyncpg.Pool],
        # ``state`` is a name Litestar reserves; the query parameter is still ``state``.
        in_state: Annotated[
            DeliveryState | None,
            QueryParameter(name="state", description="Only deliveries in this state"),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Page[NavDelivery]:
        async with pool.acquire() as conn:
            return await nav_outbox.deliveries(conn, state=in_state, cursor=cursor, limit=limit)

    @post(
        "/nav-deliveries/{delivery_id:uuid}/retry",
        summary="Send a dead NAV delivery again (pending, attempts from zero, due now)",
        description="The delivery keeps its id, which is its `Idempotency-Key`: if NAV "
        "received an earlier attempt after all, it recognises the repeat.",
        status_code=HTTP_200_OK,
        responses={
            404: problem_response(
                "`delivery_id`/`must_exist`: no delivery with that id; "
                "`delivery_id`/`format`: not a UUID."
            ),
            409: problem_response(
                "`delivery_id`/`dead`: the delivery is pending or delivered; only a dead "
                "one is retried."
            ),
        },
    )
    async def retry_nav_delivery(
        self,
        delivery_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        nav_delivery: NamedDependency[NavDeliveryWorker | None],
    ) -> NavDelivery:
        async with pool.acquire() as conn:
            delivery = await nav_outbox.retry_dead(conn, delivery_id, clock())
        if nav_delivery is not None:
            # Sent at once where this process delivers; otherwise at the leader's next poll.
            nav_delivery.wake()
        return delivery
