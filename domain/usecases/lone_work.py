"""Use cases of the lone-worker check-in (innsjekk ved alenearbeid)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain import lone_work
from domain.events import Actor
from domain.lone_work_commands import RecordCheckIn, RecordCheckOut
from domain.write_model import CommandResult, Records


class LoneWorkUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def check_in(
        self,
        cmd: RecordCheckIn,
        actor: Actor,
        now: datetime,
        *,
        also_review: Sequence[str] = (),
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        dwelling = self.records.existing_dwelling(cmd.dwelling_id)
        tenant = None if cmd.tenant_id is None else self.records.existing_tenant(cmd.tenant_id)
        event = lone_work.check_in(
            cmd.check_in_id,
            dwelling,
            cmd.expected_minutes,
            meta,
            second_worker_id=cmd.second_worker_id,
            tenant=tenant,
            staff_members=self.records.staff_members([cmd.second_worker_id]),
            recorded_offline=cmd.recorded_offline,
            also_review=also_review,
        )
        return self.records.created(cmd.check_in_id, event, "check_in_id")

    def check_out(
        self, check_in_id: UUID, cmd: RecordCheckOut, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        check_in = self.records.existing_check_in(check_in_id)
        closer = self.records.staff_members([actor.user_id]).get(actor.user_id)
        event = lone_work.check_out(check_in, meta, closer)
        return self.records.result(check_in_id, event)

    def visible_check_in(self, check_in_id: UUID, actor: Actor) -> lone_work.CheckIn:
        """The check-in, if the actor may see it; else 404 as for one that does not exist."""
        check_in = self.records.existing_check_in(check_in_id)
        if actor.user_id in (check_in.worker_id, check_in.second_worker_id):
            return check_in
        member = self.records.staff_members([actor.user_id]).get(actor.user_id)
        if not lone_work.may_see(check_in, actor.user_id, member):
            raise lone_work.not_found(check_in_id)
        return check_in
