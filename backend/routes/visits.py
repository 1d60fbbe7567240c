"""Visits: completing or failing a planned visit, and reading one."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.write_access import WriteAccess
from domain.errors import UnknownAggregate
from domain.events import Actor
from domain.visit import Visit
from domain.visit_commands import CompleteVisit, FailVisit
from domain.write_model import CommandResult


class VisitController(Controller):
    path = "/visits"
    tags = ["visits"]

    @get("/{visit_id:uuid}", summary="A visit's current state")
    async def current(self, visit_id: FromPath[UUID], write: NamedDependency[WriteAccess]) -> Visit:
        visit = await write.read(lambda uc: uc.records.visit(visit_id))
        if visit is None:
            raise UnknownAggregate("visit_id", "must_exist", f"no visit with id {visit_id}")
        return visit

    @post("/{visit_id:uuid}/completion", summary="Record a completed visit with observations")
    async def complete(
        self,
        visit_id: FromPath[UUID],
        data: JSONBody[CompleteVisit],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.visits.complete_visit, visit_id, data, actor)

    @post("/{visit_id:uuid}/failure", summary="Record a failed visit and why")
    async def fail(
        self,
        visit_id: FromPath[UUID],
        data: JSONBody[FailVisit],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.visits.fail_visit, visit_id, data, actor)
