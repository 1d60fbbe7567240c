"""NAV notifications: read one; NAV acknowledges and answers."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.write_access import WriteAccess
from domain.events import Actor
from domain.nav import NavNotification, require
from domain.nav_commands import AcknowledgeNavNotification, AnswerNavNotification
from domain.write_model import CommandResult


class NavNotificationController(Controller):
    path = "/nav-notifications"
    tags = ["nav"]

    @get("/{notification_id:uuid}", summary="A NAV notification and NAV's response")
    async def current(
        self, notification_id: FromPath[UUID], write: NamedDependency[WriteAccess]
    ) -> NavNotification:
        notification = await write.read(lambda uc: uc.records.nav_notification(notification_id))
        return require(notification, notification_id)

    @post("/{notification_id:uuid}/acknowledgement", summary="NAV acknowledges the notification")
    async def acknowledge(
        self,
        notification_id: FromPath[UUID],
        data: JSONBody[AcknowledgeNavNotification],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.nav.acknowledge_nav_notification, notification_id, data, actor
        )

    @post("/{notification_id:uuid}/answer", summary="NAV answers the notification")
    async def answer(
        self,
        notification_id: FromPath[UUID],
        data: JSONBody[AnswerNavNotification],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.nav.answer_nav_notification, notification_id, data, actor
        )
