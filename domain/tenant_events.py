"""Every fact recorded on the Tenant aggregate, and the small values they carry."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

import msgspec

from domain.events import DomainEvent
from domain.municipal_services import Service


class InfoCategory(StrEnum):
    """What kind of information a consent lets a service receive."""

    RENT_AND_EVICTION = "rent_and_eviction"
    HOUSING_CONDITION = "housing_condition"
    FOLLOW_UP = "follow_up"
    HEALTH = "health"


class Consent(msgspec.Struct, frozen=True):
    """Consent (samtykke): which services may receive which information, and for how long."""

    consent_id: UUID
    recipients: tuple[Service, ...]
    categories: tuple[InfoCategory, ...]
    given_on: date
    expires_on: date | None = None
    withdrawn_on: date | None = None

    def covers(self, service: Service, category: InfoCategory, on: date) -> bool:
        return (
            service in self.recipients
            and category in self.categories
            and self.given_on <= on
            and (self.expires_on is None or on <= self.expires_on)
            and (self.withdrawn_on is None or on < self.withdrawn_on)
        )


class IndividualPlan(msgspec.Struct, frozen=True):
    """Individual plan (individuell plan): who coordinates, and the responsibility group."""

    started_on: date
    coordinator_worker_id: UUID
    coordinator_service: Service
    group: tuple[Service, ...]
    ended_on: date | None = None


# --- registration and follow-up ----------------------------------------------------


class TenantRegistered(DomainEvent, frozen=True, kw_only=True):
    full_name: str
    birth_date: date | None = None


class FollowUpStarted(DomainEvent, frozen=True, kw_only=True):
    """Follow-up (booppfølging) began under an agreement (oppfølgingsavtale)."""

    visit_interval_days: int
    started_on: date


class FollowUpEnded(DomainEvent, frozen=True, kw_only=True):
    ended_on: date
    reason: str


# --- responsibility -------------------------------------------------------------------


class ResponsibilityAssigned(DomainEvent, frozen=True, kw_only=True):
    """A service took responsibility for the tenant, with a named contact worker."""

    service: Service
    contact_worker_id: UUID | None = None
    handover_id: UUID | None = None


class ResponsibilityLapsed(DomainEvent, frozen=True, kw_only=True):
    """Nobody is responsible any more: an explicit gap, never a silent one."""

    previous_service: Service | None
    reason: str
    handover_id: UUID | None = None


# --- where the tenant lives ---------------------------------------------------------


class TenantMovedIn(DomainEvent, frozen=True, kw_only=True):
    dwelling_id: UUID
    lease_id: UUID
    moved_in_on: date


class TenantMovedOut(DomainEvent, frozen=True, kw_only=True):
    dwelling_id: UUID
    moved_out_on: date


# --- consent and the right to object ---------------------------------------------------


class ConsentGiven(DomainEvent, frozen=True, kw_only=True):
    consent: Consent


class ConsentWithdrawn(DomainEvent, frozen=True, kw_only=True):
    consent_id: UUID
    withdrawn_on: date


class NavNoticeOptedOut(DomainEvent, frozen=True, kw_only=True):
    """The tenant objected in writing to the landlord notifying NAV (husleieloven § 9-11)."""

    opted_out_on: date


# --- individual plan -------------------------------------------------------------------


class IndividualPlanStarted(DomainEvent, frozen=True, kw_only=True):
    plan: IndividualPlan


class IndividualPlanChanged(DomainEvent, frozen=True, kw_only=True):
    coordinator_worker_id: UUID
    coordinator_service: Service
    group: tuple[Service, ...]


class IndividualPlanEnded(DomainEvent, frozen=True, kw_only=True):
    ended_on: date


TenantEvent = (
    TenantRegistered
    | FollowUpStarted
    | FollowUpEnded
    | ResponsibilityAssigned
    | ResponsibilityLapsed
    | TenantMovedIn
    | TenantMovedOut
    | ConsentGiven
    | ConsentWithdrawn
    | NavNoticeOptedOut
    | IndividualPlanStarted
    | IndividualPlanChanged
    | IndividualPlanEnded
)
