"""Use cases for consent (samtykke) and the tenant's objection to NAV being notified."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain import consent as consents
from domain.consent_commands import GiveConsent, ObjectToNavNotice, WithdrawConsent
from domain.events import Actor
from domain.write_model import CommandResult, Records


class ConsentUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def give_consent(
        self, tenant_id: UUID, cmd: GiveConsent, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        consent = consents.new_consent(
            cmd.consent_id, cmd.recipients, cmd.categories, cmd.given_on, cmd.expires_on
        )
        if consent in tenant.consents:
            # A retry restating a recorded (not withdrawn) consent is answered again.
            return CommandResult(tenant_id, self.records.head())
        event = consents.give_consent(
            tenant,
            cmd.consent_id,
            cmd.recipients,
            cmd.categories,
            cmd.given_on,
            cmd.expires_on,
            meta,
        )
        return self.records.result(tenant_id, event)

    def withdraw_consent(
        self, tenant_id: UUID, consent_id: UUID, cmd: WithdrawConsent, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = consents.withdraw_consent(tenant, consent_id, cmd.withdrawn_on, meta)
        return self.records.result(tenant_id, event)

    def opt_out_of_nav_notice(
        self, tenant_id: UUID, cmd: ObjectToNavNotice, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        tenant = self.records.existing_tenant(tenant_id)
        event = consents.opt_out_of_nav_notice(tenant, cmd.opted_out_on, meta)
        return self.records.result(tenant_id, event)
