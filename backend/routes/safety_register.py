"""The address safety register: every flagged address, and each address's flag history."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, Parameter

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
