"""Use cases for concerns (bekymringsmeldinger)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import concern as concerns
from domain.concern_commands import (
    AcknowledgeConcern,
    EscalateConcern,
    RaiseConcern,
    ResolveConcern,
    RouteConcern,
)
from domain.events import Actor
from domain.usecases.base import CommandResult
from domain.usecases.housing import HousingRecords


class ConcernUseCases(HousingRecords):
    def concern(self, concern_id: UUID) -> concerns.Concern | None:
        return self.load(concerns.replay, concern_id, concerns.ConcernRaised)

    def existing_concern(self, concern_id: UUID) -> concerns.Concern:
        return concerns.require(self.concern(concern_id), concern_id)

    def raise_concern(self, cmd: RaiseConcern, actor: Actor, now: datetime) -> CommandResult:
        """Raise a concern; one about a tenant goes to their responsible service at once.

        The routing is part of the same commit (decision 36): a concern about a tenant whom
        a service follows never waits for someone to route it by hand.
        """
        meta = self.meta(cmd, actor, now)
        tenant = None if cmd.tenant_id is None else self.existing_tenant(cmd.tenant_id)
        if cmd.dwelling_id is not None:
            self.existing_dwelling(cmd.dwelling_id)
        concerns.require_tenant_lives_at(tenant, cmd.dwelling_id)
        event = concerns.raise_concern(
            cmd.concern_id, cmd.tenant_id, cmd.dwelling_id, cmd.category, cmd.description, meta
        )
        routed = concerns.route_on_raising(concerns.evolve(None, event), tenant, meta)
        then = () if routed is None else (routed,)
        return self.created(cmd.concern_id, event, "concern_id", *then)

    def route_concern(
        self, concern_id: UUID, cmd: RouteConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        event = concerns.route(self.existing_concern(concern_id), cmd.to_service, meta)
        return self.result(concern_id, event)

    def acknowledge_concern(
        self, concern_id: UUID, cmd: AcknowledgeConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        event = concerns.acknowledge(self.existing_concern(concern_id), meta)
        return self.result(concern_id, event)

    def resolve_concern(
        self, concern_id: UUID, cmd: ResolveConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        concern = self.existing_concern(concern_id)
        event = concerns.resolve(concern, cmd.outcome, cmd.outcome_text, meta)
        return self.result(concern_id, event)

    def escalate_concern(
        self, concern_id: UUID, cmd: EscalateConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        concern = self.existing_concern(concern_id)
        event = concerns.escalate(concern, cmd.reason, cmd.to_service, meta)
        return self.result(concern_id, event)
