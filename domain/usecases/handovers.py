"""Use cases for handovers (overgangene): announce, answer, and settle on the date."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import handover as handovers
from domain import staff
from domain.events import SYSTEM_ACTOR, Actor, DomainEvent, EventMeta, event_meta, local_date
from domain.handover_commands import AcceptHandover, AnnounceHandover, DeclineHandover
from domain.write_model import CommandResult, Records


class HandoverUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def announce_handover(
        self, cmd: AnnounceHandover, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(cmd.tenant_id)
        event = handovers.announce(
            cmd.handover_id,
            tenant,
            cmd.from_service,
            cmd.to_service,
            cmd.kind,
            cmd.effective_on,
            meta,
        )
        return self.records.created(cmd.handover_id, event, "handover_id")

    def accept_handover(
        self, handover_id: UUID, cmd: AcceptHandover, actor: Actor, now: datetime
    ) -> CommandResult:
        """Accept; a handover whose date has already come completes in the same commit."""
        meta = self.records.meta(cmd, actor, now)
        handover = self.records.existing_handover(handover_id)
        accepted = handovers.accept(handover, cmd.contact_worker_id, meta)
        staff.require_worker_of(
            cmd.contact_worker_id,
            handover.to_service,
            self.records.staff_members([cmd.contact_worker_id]),
            "contact_worker_id",
        )
        now_accepted = handovers.evolve(handover, accepted)
        settlement = handovers.settle(now_accepted, local_date(now), meta)
        if settlement is None:
            return self.records.result(handover_id, accepted)
        return self._settled(now_accepted, settlement, meta, accepted)

    def decline_handover(
        self, handover_id: UUID, cmd: DeclineHandover, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        handover = self.records.existing_handover(handover_id)
        return self.records.result(handover_id, handovers.decline(handover, cmd.reason, meta))

    def settle_handover(self, handover_id: UUID, now: datetime) -> CommandResult | None:
        """Complete or lapse a due handover, with its effect on the tenant, in one commit.

        Answers None when there is nothing to do (not due yet, or already settled), so the
        scheduler may call it again and again.
        """
        meta = event_meta(SYSTEM_ACTOR, None, now)
        handover = self.records.existing_handover(handover_id)
        settlement = handovers.settle(handover, local_date(now), meta)
        if settlement is None:
            return None
        return self._settled(handover, settlement, meta)

    def _settled(
        self,
        handover: handovers.Handover,
        settlement: handovers.Settlement,
        meta: EventMeta,
        *before: DomainEvent,
    ) -> CommandResult:
        tenant = self.records.existing_tenant(handover.tenant_id)
        effect = handovers.responsibility_after(handover, settlement, tenant, meta)
        events = (*before, settlement) if effect is None else (*before, settlement, effect)
        return self.records.result(handover.id, *events)
