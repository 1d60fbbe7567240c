"""Commands (request bodies) for rent cases: arrears, repayment, and the eviction chain."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from domain.commands import Command
from domain.rent import AmountNok, EvictionCancelReason, Month


class OpenRentCase(Command, frozen=True, kw_only=True):
    """Open the lease's rent case; its id is derived from ``lease_id`` (retry-safe)."""

    lease_id: UUID
    tenant_id: UUID


class ReportArrears(Command, frozen=True, kw_only=True):
    month: Month
    amount_nok: AmountNok


class AgreeRepayment(Command, frozen=True, kw_only=True):
    monthly_amount_nok: AmountNok
    first_due_on: date


class SetUpRentDeduction(Command, frozen=True, kw_only=True):
    monthly_amount_nok: AmountNok
    starts_on: date


class ClearArrears(Command, frozen=True, kw_only=True):
    cleared_on: date


class IssueEvictionWarning(Command, frozen=True, kw_only=True):
    issued_on: date


class PetitionEviction(Command, frozen=True, kw_only=True):
    petitioned_on: date


class SetEvictionDate(Command, frozen=True, kw_only=True):
    eviction_on: date


class CarryOutEviction(Command, frozen=True, kw_only=True):
    carried_out_on: date


class CancelEviction(Command, frozen=True, kw_only=True):
    reason: EvictionCancelReason
