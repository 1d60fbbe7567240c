"""Commands (request bodies) for consent (samtykke) and the objection to NAV notice."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command
from domain.municipal_services import Service
from domain.tenant_events import InfoCategory


class GiveConsent(Command, frozen=True, kw_only=True):
    consent_id: UUID
    recipients: Annotated[list[Service], msgspec.Meta(min_length=1, max_length=len(Service))]
    categories: Annotated[
        list[InfoCategory], msgspec.Meta(min_length=1, max_length=len(InfoCategory))
    ]
    given_on: date
    expires_on: date | None = None


class WithdrawConsent(Command, frozen=True, kw_only=True):
    withdrawn_on: date


class ObjectToNavNotice(Command, frozen=True, kw_only=True):
    """The tenant's written objection to NAV being notified (husleieloven § 9-11)."""

    opted_out_on: date
