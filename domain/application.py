"""The write model's service layer: load an aggregate, ask the pure rules, store the events.

Runs on the eventsourcing library's PostgreSQL event store, whose table lock gives every
event a gap-free position in one global order. That position is what command callers get
back, so they can ask a read model to have caught up with their own write.
No clock reads here: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain import tenant as tenants
from domain import visit as visits
from domain.codec import MsgspecMapper
from domain.commands import (
    AssignResponsibility,
    CompleteVisit,
    EndFollowUp,
    FailVisit,
    PlanVisit,
    RegisterTenant,
    StartFollowUp,
)
from domain.errors import ConcurrentChange, IllegalStateChange
from domain.events import Actor, DomainEvent, event_meta

EventT = TypeVar("EventT", bound=DomainEvent)


class CommandResult(msgspec.Struct, frozen=True):
    """What a command answers: the aggregate it touched and the log position it reached."""

    id: UUID
    position: int


class FollowUpApplication(Application[UUID]):
    """Records the facts of housing follow-up as events in PostgreSQL."""

    name = "Folgja"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        # Alembic owns all DDL, the event store's included.
        "CREATE_TABLE": "no",
    }

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)

    # --- loading ---------------------------------------------------------------

    def _history(self, aggregate_id: UUID) -> list[Any]:
        return list(self.events.get(aggregate_id))

    def tenant(self, tenant_id: UUID) -> tenants.Tenant | None:
        return tenants.replay(self._history(tenant_id))

    def visit(self, visit_id: UUID) -> visits.Visit | None:
        return visits.replay(self._history(visit_id))

    def _existing_tenant(self, tenant_id: UUID) -> tenants.Tenant:
        return tenants.require(self.tenant(tenant_id), tenant_id)

    def _existing_visit(self, visit_id: UUID) -> visits.Visit:
        return visits.require(self.visit(visit_id), visit_id)

    # --- storing ---------------------------------------------------------------

    def _commit(self, *events: DomainEvent) -> int:
        try:
            recordings = self.save(*events)
        except IntegrityError as error:
            raise ConcurrentChange(
                "id", "no_concurrent_change", "the record changed meanwhile; read it and retry"
            ) from error
        return max(r.notification.id for r in recordings)

    def _current_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _created(self, aggregate_id: UUID, new: EventT, field: str) -> CommandResult:
        """Store a creating event; a retry with the same id and content is answered again."""
        history = self._history(aggregate_id)
        if not history:
            return CommandResult(aggregate_id, self._commit(new))
        first = history[0]
        if type(first) is type(new) and _same_fact(first, new):
            return CommandResult(aggregate_id, self._current_position())
        raise IllegalStateChange(field, "unique_id", f"{field} is already used for another record")

    # --- tenant commands ---------------------------------------------------------

    def register_tenant(self, cmd: RegisterTenant, actor: Actor, now: datetime) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        event = tenants.register(cmd.tenant_id, cmd.full_name, cmd.birth_date, meta)
        return self._created(cmd.tenant_id, event, "tenant_id")

    def start_follow_up(
        self, tenant_id: UUID, cmd: StartFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self._existing_tenant(tenant_id)
        event = tenants.start_follow_up(tenant, cmd.visit_interval_days, cmd.started_on, meta)
        return CommandResult(tenant_id, self._commit(event))

    def assign_responsibility(
        self, tenant_id: UUID, cmd: AssignResponsibility, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self._existing_tenant(tenant_id)
        event = tenants.assign_responsibility(tenant, cmd.service, cmd.contact_worker_id, meta)
        return CommandResult(tenant_id, self._commit(event))

    def end_follow_up(
        self, tenant_id: UUID, cmd: EndFollowUp, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self._existing_tenant(tenant_id)
        event = tenants.end_follow_up(tenant, cmd.ended_on, cmd.reason, meta)
        return CommandResult(tenant_id, self._commit(event))

    # --- visit commands ----------------------------------------------------------

    def plan_visit(
        self, tenant_id: UUID, cmd: PlanVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        tenant = self._existing_tenant(tenant_id)
        event = visits.plan(cmd.visit_id, tenant, cmd.planned_for, cmd.worker_ids, meta)
        return self._created(cmd.visit_id, event, "visit_id")

    def complete_visit(
        self, visit_id: UUID, cmd: CompleteVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        visit = self._existing_visit(visit_id)
        tenant = self._existing_tenant(visit.tenant_id)
        event = visits.complete(visit, tenant, cmd.worker_ids, cmd.observations, meta)
        return CommandResult(visit_id, self._commit(event))

    def fail_visit(
        self, visit_id: UUID, cmd: FailVisit, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = event_meta(actor, cmd.occurred_at, now)
        visit = self._existing_visit(visit_id)
        tenant = self._existing_tenant(visit.tenant_id)
        event = visits.fail(visit, tenant, cmd.worker_ids, cmd.reason, meta)
        return CommandResult(visit_id, self._commit(event))


def _same_fact(stored: DomainEvent, new: DomainEvent) -> bool:
    """Equal apart from provenance: a retried command restates the same fact."""

    def fact(event: DomainEvent) -> dict[str, Any]:
        fields = msgspec.structs.asdict(event)
        del fields["meta"]
        return fields

    return fact(stored) == fact(new)
