"""Lone-worker check-in (innsjekk ved alenearbeid): check in, check out, read one; and the
caller's own timeline (docs/lone-work.md)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.routes.params import Cursor, Limit, MinPosition
from backend.runtime import ReadModels
from backend.write_access import WriteAccess
from domain.events import Actor
from domain.lone_work import CheckIn
from domain.lone_work_commands import RecordCheckIn, RecordCheckOut
from domain.write_model import CommandResult
from projections.lone_work import LoneWorkProjection, WorkerTimelineEntry, worker_timeline
from projections.pagination import DEFAULT_PAGE_SIZE, Page


class CheckInController(Controller):
    path = "/check-ins"
    tags = ["lone work"]

    @post(
        "/",
        summary="Check in at an address for an expected number of minutes "
        "(client-supplied id; retry-safe)",
        description="The caller is the worker. At an address flagged two-person a second "
        "worker must be named (a real, active colleague who may visit, not the caller); at "
        "one flagged no-entry the check-in is recorded, marked `no_entry_address` for "
        "review. A `tenant_id` must be a tenant the caller follows.",
    )
    async def check_in(
        self,
        data: JSONBody[RecordCheckIn],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.lone_work.check_in, data, actor)

    @get(
        "/{check_in_id:uuid}",
        summary="A check-in's current state",
        description="For the worker, the named second worker, and the team leads and "
        "service staff of the worker's service; anyone else is answered 404.",
    )
    async def current(
        self,
        check_in_id: FromPath[UUID],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CheckIn:
        return await write.read(lambda uc: uc.lone_work.visible_check_in(check_in_id, actor))

    @post(
        "/{check_in_id:uuid}/check-out",
        summary="Check out of the address (once)",
        description="By the worker, the named second worker, or a team lead or service "
        "staff of the worker's service (anyone else: 404); not before the check-in.",
    )
    async def check_out(
        self,
        check_in_id: FromPath[UUID],
        data: JSONBody[RecordCheckOut],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.lone_work.check_out, check_in_id, data, actor)


class MeController(Controller):
    path = "/me"
    tags = ["lone work"]

    @get(
        "/timeline",
        summary="The caller's own timeline (check-ins and check-outs), newest first",
    )
    async def timeline(
        self,
        actor: NamedDependency[Actor],
        pool: NamedDependency[asyncpg.Pool],
        read_models: NamedDependency[ReadModels],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Page[WorkerTimelineEntry]:
        await read_models.at(LoneWorkProjection.name, min_position)
        async with pool.acquire() as conn:
            return await worker_timeline(conn, actor.user_id, cursor=cursor, limit=limit)
