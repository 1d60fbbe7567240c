"""Commands for dwellings, their safety flags and leases (HTTP request bodies)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command, Reason
from domain.dwelling import DwellingOwner, SafetyFlagKind, SafetyFlagReason
from domain.lease import MAX_TERM_MONTHS, MIN_TERM_MONTHS, LeaseEndReason

Address = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Unit = Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
Postcode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{4}$")]
TermMonths = Annotated[int, msgspec.Meta(ge=MIN_TERM_MONTHS, le=MAX_TERM_MONTHS)]


class RegisterDwelling(Command, frozen=True, kw_only=True):
    dwelling_id: UUID
    address: Address
    unit: Unit | None = None  # e.g. the flat's number (bruksenhetsnummer) "H0201"
    postcode: Postcode | None = None
    owner: DwellingOwner


class SetSafetyFlag(Command, frozen=True, kw_only=True):
    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date


class ChangeSafetyFlag(Command, frozen=True, kw_only=True):
    kind: SafetyFlagKind
    reason: SafetyFlagReason
    review_on: date


class ReviewSafetyFlag(Command, frozen=True, kw_only=True):
    """The flag was reviewed and is kept until the next review."""

    review_on: date


class LiftSafetyFlag(Command, frozen=True, kw_only=True):
    reason: Reason


class StartLease(Command, frozen=True, kw_only=True):
    lease_id: UUID
    dwelling_id: UUID
    tenant_id: UUID
    starts_on: date
    ends_on: date | None = None
    term_months: TermMonths | None = None


class EndLease(Command, frozen=True, kw_only=True):
    ended_on: date
    reason: LeaseEndReason
