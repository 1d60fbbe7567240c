"""Consent (samtykke) and the tenant's written objection to NAV being notified."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.runtime import Runtime
from domain.application import CommandResult
from domain.consent_commands import GiveConsent, ObjectToNavNotice, WithdrawConsent
from domain.events import Actor


class ConsentController(Controller):
    path = "/tenants"
    tags = ["consent"]

    @post("/{tenant_id:uuid}/consents", summary="Record a consent (client-supplied id)")
    async def give(
        self,
        tenant_id: FromPath[UUID],
        data: JSONBody[GiveConsent],
        actor: NamedDependency[Actor],
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.give_consent, tenant_id, data, actor)

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
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(
            runtime.commands.withdraw_consent, tenant_id, consent_id, data, actor
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
        runtime: NamedDependency[Runtime],
    ) -> CommandResult:
        return await runtime.command(runtime.commands.opt_out_of_nav_notice, tenant_id, data, actor)
