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
from domain.write_model import CommandResult, Records


class ConcernUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def raise_concern(self, cmd: RaiseConcern, actor: Actor, now: datetime) -> CommandResult:
        """Raise a concern; one about a tenant goes to their responsible service at once.

        The routing is part of the same commit (decision 36): a concern about a tenant whom
        a service follows never waits for someone to route it by hand.
        """
        meta = self.records.meta(cmd, actor, now)
        tenant = None if cmd.tenant_id is None else self.records.existing_tenant(cmd.tenant_id)
        if cmd.dwelling_id is not None:
            self.records.existing_dwelling(cmd.dwelling_id)
        concerns.require_tenant_lives_at(tenant, cmd.dwelling_id)
        event = concerns.raise_concern(
            cmd.concern_id, cmd.tenant_id, cmd.dwelling_id, cmd.category, cmd.description, meta
        )
        routed = concerns.route_on_raising(concerns.evolve(None, event), tenant, meta)
        then = () if routed is None else (routed,)
        return self.records.created(cmd.concern_id, event, "concern_id", *then)

    def route_concern(
        self, concern_id: UUID, cmd: RouteConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        event = concerns.route(self.records.existing_concern(concern_id), cmd.to_service, meta)
        return self.records.result(concern_id, event)

    def acknowledge_concern(
        self, concern_id: UUID, cmd: AcknowledgeConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        event = concerns.acknowledge(self.records.existing_concern(concern_id), meta)
        return self.records.result(concern_id, event)

    def resolve_concern(
        self, concern_id: UUID, cmd: ResolveConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        concern = self.records.existing_concern(concern_id)
        event = concerns.resolve(concern, cmd.outcome, cmd.outcome_text, meta)
        return self.records.result(concern_id, event)

    def escalate_concern(
        self, concern_id: UUID, cmd: EscalateConcern, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        concern = self.records.existing_concern(concern_id)
        event = concerns.escalate(concern, cmd.reason, cmd.to_service, meta)
        return self.records.result(concern_id, event)
