"""The address safety register: every flagged address, and each address's flag history."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

from backend.auth.authorize import Access
from backend.auth.roles import Role
from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import Clock, ReadModels
from domain.dwelling import SafetyFlagKind, SafetyFlagReason
from domain.errors import UnknownAggregate
from domain.events import local_date
from projections.pagination import DEFAULT_PAGE_SIZE, Page
from projections.safety_register import (
    SafetyFlagHistory,
    SafetyFlagRow,
    SafetyRegisterProjection,
    active_flags,
    flag_history,
)
from sync.flags import DevicesLacking, devices_lacking


class SafetyRegisterController(Controller):
    path = "/safety-register"
    tags = ["boards"]

    @get("/", summary="Every address with an active safety flag, by address")
    async def active(
        self,
        pool: NamedDependency[asyncpg.Pool],
        clock: NamedDependency[Clock],
        read_models: NamedDependency[ReadModels],
        kind: FromQuery[SafetyFlagKind | None] = None,
        reason: FromQuery[SafetyFlagReason | None] = None,
        review_due_by: Annotated[
            date | None,
            Parameter(description="Only flags whose review is due on or before this date"),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[SafetyFlagRow]:
        await read_models.at(SafetyRegisterProjection.name, min_position)
        async with pool.acquire() as conn:
            return await active_flags(
                conn,
                today=local_date(clock()),
                kind=kind,
                reason=reason,
                review_due_by=review_due_by,
                cursor=cursor,
                limit=limit,
            )

    @get("/{dwelling_id:uuid}/history", summary="Every change to the address's safety flag")
    async def history(
        self,
        dwelling_id: FromPath[UUID],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        min_position: MinPosition = None,
    ) -> SafetyFlagHistory:
        await read_models.at(SafetyRegisterProjection.name, min_position)
        async with pool.acquire() as conn:
            history = await flag_history(conn, dwelling_id)
        if history is None:
            raise UnknownAggregate(
                "dwelling_id", "must_exist", f"no dwelling with id {dwelling_id}"
            )
        return history

    @get(
        "/{dwelling_id:uuid}/devices-lacking",
        summary="The field tablets that have not yet pulled the address's current flag",
        description="Registered, unrevoked devices of active users whose confirmed "
        "`flags_through` is below the position of the flag's current version (set, "
        "changed, reviewed or lifted); a device that never pulled lacks it. A team lead or "
        "service staff sees their own service's devices, the property manager every "
        "service's (docs/access.md, 'Devices lacking a flag'). 404: the address has no flag.",
    )
    async def devices_lacking(
        self,
        dwelling_id: FromPath[UUID],
        access: NamedDependency[Access],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        min_position: MinPosition = None,
    ) -> DevicesLacking:
        await read_models.at(SafetyRegisterProjection.name, min_position)
        principal = access.principal
        service = None if principal.has_any(Role.PROPERTY_MANAGER) else principal.service
        async with pool.acquire() as conn:
            lacking = await devices_lacking(conn, dwelling_id, service)
        if lacking is None:
            raise UnknownAggregate(
                "dwelling_id", "must_exist", f"no safety flag on the dwelling {dwelling_id}"
            )
        return lacking
