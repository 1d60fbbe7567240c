"""Consent (samtykke) and the tenant's written objection to NAV being notified."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.write_access import WriteAccess
from domain.consent_commands import GiveConsent, ObjectToNavNotice, WithdrawConsent
from domain.events import Actor
from domain.write_model import CommandResult


class ConsentController(Controller):
    path = "/tenants"
    tags = ["consent"]

    @post("/{tenant_id:uuid}/consents", summary="Record a consent (client-supplied id)")
    async def give(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[GiveConsent],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.consents.give_consent, tenant_id, data, actor)

    @post(
        "/{tenant_id:uuid}/consents/{consent_id:uuid}/withdrawal",
        summary="Record that a consent was withdrawn",
    )
    async def withdraw(
        self,
        tenant_id: FromPath[UUID],
        consent_id: FromPath[UUID],
        data: JSONBody[WithdrawConsent],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.consents.withdraw_consent, tenant_id, consent_id, data, actor
        )

    @post(
        "/{tenant_id:uuid}/nav-notice-objection",
        summary="Record the tenant's written objection to NAV notice (husleieloven § 9-11)",
    )
    async def object_to_nav_notice(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[ObjectToNavNotice],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.consents.opt_out_of_nav_notice, tenant_id, data, actor
        )
