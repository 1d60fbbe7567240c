"""Use cases for NAV: acknowledging and answering a notification it received."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import nav
from domain.events import Actor
from domain.nav_commands import AcknowledgeNavNotification, AnswerNavNotification
from domain.usecases.base import CommandResult
from domain.usecases.tenants import TenantUseCases


class NavUseCases(TenantUseCases):
    def nav_notification(self, notification_id: UUID) -> nav.NavNotification | None:
        return self.load(nav.replay, notification_id, nav.NavNotificationSent)

    def existing_nav_notification(self, notification_id: UUID) -> nav.NavNotification:
        return nav.require(self.nav_notification(notification_id), notification_id)

    def acknowledge_nav_notification(
        self, notification_id: UUID, cmd: AcknowledgeNavNotification, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        event = nav.acknowledge(self.existing_nav_notification(notification_id), meta)
        return self.result(notification_id, event)

    def answer_nav_notification(
        self, notification_id: UUID, cmd: AnswerNavNotification, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.meta(cmd, actor, now)
        notification = self.existing_nav_notification(notification_id)
        event = nav.answer(notification, cmd.answer, cmd.text, meta)
        return self.result(notification_id, event)
