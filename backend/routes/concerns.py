"""Concerns (bekymringsmeldinger): raise, route, acknowledge, resolve, escalate; read one."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.runtime import Runtime
from domain.application import CommandResult
from domain.concern import Concern
from domain.concern_commands import (
    AcknowledgeConcern,
    EscalateConcern,
    RaiseConcern,
    ResolveConcern,
    RouteConcern,
)
from domain.errors import UnknownAggregate
from domain.events import Actor


class ConcernController(Controller):
    path = "/concerns"
    tags = ["concerns"]

    @post("/", summary="Raise a concern about a tenant or an address (client-supplied id)")
    async def raise_concern(
        self,
        data: JSONBody[RaiseConcern],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.raise_concern, data, actor)

    @get("/{concern_id:uuid}", summary="A concern's current status")
    async def current(
        self, concern_id: FromPath[UUID], runtime: NamedDependency[Runtime]
    ) -> Concern:
        concern = await runtime.load(runtime.commands.concern, concern_id)
        if concern is None:
            raise UnknownAggregate("concern_id", "must_exist", f"no concern with id {concern_id}")
        return concern

    @post("/{concern_id:uuid}/routing", summary="Route the concern to a responsible service")
    async def route(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[RouteConcern],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.route_concern, concern_id, data, actor)

    @post("/{concern_id:uuid}/acknowledgement", summary="The routed-to service acknowledges")
    async def acknowledge(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[AcknowledgeConcern],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.acknowledge_concern, concern_id, data, actor)

    @post("/{concern_id:uuid}/resolution", summary="Resolve the concern with an outcome")
    async def resolve(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[ResolveConcern],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.resolve_concern, concern_id, data, actor)

    @post("/{concern_id:uuid}/escalation", summary="Escalate a concern that waits")
    async def escalate(
        self,
        concern_id: FromPath[UUID],
        data: JSONBody[EscalateConcern],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.escalate_concern, concern_id, data, actor)
