"""Use cases for NAV: acknowledging and answering a notification it received."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import nav
from domain.events import Actor
from domain.nav_commands import AcknowledgeNavNotification, AnswerNavNotification
from domain.write_model import CommandResult, Records


class NavUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def acknowledge_nav_notification(
        self, notification_id: UUID, cmd: AcknowledgeNavNotification, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        event = nav.acknowledge(self.records.existing_nav_notification(notification_id), meta)
        return self.records.result(notification_id, event)

    def answer_nav_notification(
        self, notification_id: UUID, cmd: AnswerNavNotification, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        notification = self.records.existing_nav_notification(notification_id)
        event = nav.answer(notification, cmd.answer, cmd.text, meta)
        return self.records.result(notification_id, event)
