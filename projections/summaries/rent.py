"""Timeline summaries of rent-case events: arrears, repayment, the eviction chain."""

from __future__ import annotations

from domain.rent import (
    ArrearsCleared,
    ArrearsReported,
    EvictionCancelled,
    EvictionCarriedOut,
    EvictionDateSet,
    EvictionPetitioned,
    EvictionWarningIssued,
    NavNotificationWithheld,
    RentCaseOpened,
    RentDeductionSetUp,
    RepaymentAgreed,
)
from projections.summaries.core import Summary, summarize


def _nok(amount: int) -> str:
    return f"NOK {amount:,}".replace(",", " ")


def _words(value: str) -> str:
    return value.replace("_", " ")


@summarize.register
def _(event: RentCaseOpened) -> Summary:
    return event.tenant_id, "Rent case opened for the lease"


@summarize.register
def _(event: ArrearsReported) -> Summary:
    return event.tenant_id, f"Rent arrears reported for {event.month}: {_nok(event.amount_nok)}"


@summarize.register
def _(event: RepaymentAgreed) -> Summary:
    agreement = event.agreement
    return (
        event.tenant_id,
        f"Repayment agreement: {_nok(agreement.monthly_amount_nok)} a month "
        f"from {agreement.first_due_on.isoformat()}",
    )


@summarize.register
def _(event: RentDeductionSetUp) -> Summary:
    return (
        event.tenant_id,
        f"Automatic rent deduction from {event.deduction.starts_on.isoformat()}",
    )


@summarize.register
def _(event: ArrearsCleared) -> Summary:
    return event.tenant_id, f"Rent arrears cleared {event.cleared_on.isoformat()}"


@summarize.register
def _(event: EvictionWarningIssued) -> Summary:
    return (
        event.tenant_id,
        f"Eviction warning issued {event.issued_on.isoformat()}; "
        f"pay by {event.pay_by.isoformat()} (§ 4-18)",
    )


@summarize.register
def _(event: EvictionPetitioned) -> Summary:
    return event.tenant_id, f"Eviction petitioned {event.petitioned_on.isoformat()}"


@summarize.register
def _(event: EvictionDateSet) -> Summary:
    return event.tenant_id, f"Eviction date set: {event.eviction_on.isoformat()}"


@summarize.register
def _(event: EvictionCarriedOut) -> Summary:
    return event.tenant_id, f"Eviction carried out {event.carried_out_on.isoformat()}"


@summarize.register
def _(event: EvictionCancelled) -> Summary:
    return event.tenant_id, f"Eviction cancelled: {_words(event.reason.value)}"


@summarize.register
def _(event: NavNotificationWithheld) -> Summary:
    return (
        event.tenant_id,
        f"NAV not notified of {_words(event.trigger.value)}: {_words(event.reason.value)}",
    )
