"""Consent (samtykke) and the tenant's written objection to NAV being notified.

Who may receive what is decided here, from the tenant's own recorded declarations.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from domain.errors import IllegalStateChange, InvalidValue
from domain.events import EventMeta
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_events import (
    Consent,
    ConsentGiven,
    ConsentWithdrawn,
    InfoCategory,
    NavNoticeOptedOut,
)


def new_consent(
    consent_id: UUID,
    recipients: Sequence[Service],
    categories: Sequence[InfoCategory],
    given_on: date,
    expires_on: date | None,
) -> Consent:
    """The consent as it would be recorded (checked, duplicates dropped)."""
    if not recipients:
        raise InvalidValue("recipients", "at_least_one", "name at least one receiving service")
    if not categories:
        raise InvalidValue("categories", "at_least_one", "name at least one information category")
    if expires_on is not None and expires_on < given_on:
        raise InvalidValue("expires_on", "not_before_given", "expires_on is before given_on")
    return Consent(
        consent_id=consent_id,
        recipients=tuple(dict.fromkeys(recipients)),
        categories=tuple(dict.fromkeys(categories)),
        given_on=given_on,
        expires_on=expires_on,
    )


def give_consent(
    tenant: Tenant,
    consent_id: UUID,
    recipients: Sequence[Service],
    categories: Sequence[InfoCategory],
    given_on: date,
    expires_on: date | None,
    meta: EventMeta,
) -> ConsentGiven:
    consent = new_consent(consent_id, recipients, categories, given_on, expires_on)
    if any(c.consent_id == consent_id for c in tenant.consents):
        raise IllegalStateChange("consent_id", "unique_id", "consent_id is already used")
    return ConsentGiven(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        consent=consent,
    )


def withdraw_consent(
    tenant: Tenant, consent_id: UUID, withdrawn_on: date, meta: EventMeta
) -> ConsentWithdrawn:
    consent = next((c for c in tenant.consents if c.consent_id == consent_id), None)
    if consent is None:
        raise InvalidValue("consent_id", "must_exist", "the tenant has no consent with that id")
    if consent.withdrawn_on is not None:
        raise IllegalStateChange("consent_id", "not_withdrawn", "the consent is already withdrawn")
    if withdrawn_on < consent.given_on:
        raise InvalidValue("withdrawn_on", "not_before_given", "withdrawn_on is before given_on")
    return ConsentWithdrawn(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        consent_id=consent_id,
        withdrawn_on=withdrawn_on,
    )


def opt_out_of_nav_notice(tenant: Tenant, opted_out_on: date, meta: EventMeta) -> NavNoticeOptedOut:
    if tenant.nav_notice_opted_out_on is not None:
        raise IllegalStateChange(
            "tenant_id", "not_opted_out", "the tenant's objection is already recorded"
        )
    return NavNoticeOptedOut(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        opted_out_on=opted_out_on,
    )


def consent_covering(
    tenant: Tenant, service: Service, category: InfoCategory, on: date
) -> Consent | None:
    """The tenant's consent that lets ``service`` receive ``category`` on ``on``, if any."""
    return next((c for c in tenant.consents if c.covers(service, category, on)), None)
