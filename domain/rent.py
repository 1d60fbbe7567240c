"""Rent case (husleiesak): one per lease — arrears, repayment, and the eviction chain.

The property manager (FBE) reports unpaid months; a repayment agreement
(nedbetalingsavtale) or an automatic rent deduction (trekk) may follow, until the arrears
are cleared. The eviction chain follows Norwegian law:

1. a written warning (tvangsfullbyrdelsesloven § 4-18) gives the tenant 14 days to pay;
2. an eviction petition (begjæring om fravikelse) may be filed once that time has run out;
3. the enforcement officer sets an eviction date, which may be moved;
4. the eviction is carried out — or the chain is cancelled at any step before that.

A rent case is opened only for an active lease of the tenant it names. Carrying out the
eviction ends that lease (reason ``eviction``) in the same commit, which vacates the
dwelling and moves the tenant out; a lease that has already ended is left as it is.

Arrears and every eviction step may be notified to NAV (see :mod:`domain.nav`). The
notification is decided in the same commit as the step: either NAV's notification is
opened (its id derived from this case's event) or this case records
``NavNotificationWithheld`` and why. ``RentCase.nav_notices`` lists both outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid5

import msgspec

from domain import lease as leases
from domain.errors import IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.lease import Lease, LeaseEnded, LeaseEndReason
from domain.nav import NavTrigger, WithheldReason, notification_id
from domain.tenant import Tenant

# tvangsfullbyrdelsesloven § 4-18: the tenant has 14 days from the warning to pay.
WARNING_DAYS_TO_PAY = 14
MAX_AMOUNT_NOK = 10_000_000

MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)

Month = Annotated[str, msgspec.Meta(pattern=MONTH_PATTERN, examples=["2026-02"])]
AmountNok = Annotated[int, msgspec.Meta(gt=0, le=MAX_AMOUNT_NOK)]


def rent_case_id_for(lease_id: UUID) -> UUID:
    """A lease has one rent case; its id is derived from the lease's, so it is found again."""
    return uuid5(lease_id, "rent_case")


class EvictionStage(StrEnum):
    NONE = "none"
    WARNED = "warned"
    PETITIONED = "petitioned"
    DATE_SET = "date_set"
    CARRIED_OUT = "carried_out"
    CANCELLED = "cancelled"


class EvictionCancelReason(StrEnum):
    ARREARS_PAID = "arrears_paid"
    REPAYMENT_AGREED = "repayment_agreed"
    WITHDRAWN_BY_LANDLORD = "withdrawn_by_landlord"
    REFUSED_BY_ENFORCEMENT_OFFICER = "refused_by_enforcement_officer"
    OTHER = "other"


class MonthInArrears(msgspec.Struct, frozen=True):
    month: str
    amount_nok: int


class RepaymentAgreement(msgspec.Struct, frozen=True):
    """Nedbetalingsavtale: a monthly instalment from a first due date."""

    monthly_amount_nok: int
    first_due_on: date


class RentDeduction(msgspec.Struct, frozen=True):
    """Automatic rent deduction (trekk) from the tenant's benefits."""

    monthly_amount_nok: int
    starts_on: date


class NavNotice(msgspec.Struct, frozen=True):
    """What became of one step's notice to NAV: sent (with its id) or withheld (and why)."""

    trigger: NavTrigger
    step_version: int
    notification_id: UUID | None
    withheld_reason: WithheldReason | None = None


# --- events ----------------------------------------------------------------------------


class RentCaseEvent(DomainEvent, frozen=True, kw_only=True):
    """Every rent-case event names the tenant it is about."""

    tenant_id: UUID


class RentCaseOpened(RentCaseEvent, frozen=True, kw_only=True):
    lease_id: UUID


class ArrearsReported(RentCaseEvent, frozen=True, kw_only=True):
    month: str
    amount_nok: int


class RepaymentAgreed(RentCaseEvent, frozen=True, kw_only=True):
    agreement: RepaymentAgreement


class RentDeductionSetUp(RentCaseEvent, frozen=True, kw_only=True):
    deduction: RentDeduction


class ArrearsCleared(RentCaseEvent, frozen=True, kw_only=True):
    cleared_on: date


class EvictionWarningIssued(RentCaseEvent, frozen=True, kw_only=True):
    """Written warning (tvangsfullbyrdelsesloven § 4-18): pay by ``pay_by`` or face eviction."""

    issued_on: date
    pay_by: date


class EvictionPetitioned(RentCaseEvent, frozen=True, kw_only=True):
    """Begjæring om fravikelse filed with the enforcement officer (namsmannen)."""

    petitioned_on: date


class EvictionDateSet(RentCaseEvent, frozen=True, kw_only=True):
    eviction_on: date


class EvictionCarriedOut(RentCaseEvent, frozen=True, kw_only=True):
    carried_out_on: date


class EvictionCancelled(RentCaseEvent, frozen=True, kw_only=True):
    reason: EvictionCancelReason


class NavNotificationWithheld(RentCaseEvent, frozen=True, kw_only=True):
    """NAV was not told about the step just recorded, and why."""

    trigger: NavTrigger
    reason: WithheldReason


RentCaseEvents = (
    RentCaseOpened
    | ArrearsReported
    | RepaymentAgreed
    | RentDeductionSetUp
    | ArrearsCleared
    | EvictionWarningIssued
    | EvictionPetitioned
    | EvictionDateSet
    | EvictionCarriedOut
    | EvictionCancelled
    | NavNotificationWithheld
)

# The steps NAV may be told about.
TRIGGERS: dict[type[RentCaseEvent], NavTrigger] = {
    ArrearsReported: NavTrigger.ARREARS_REPORTED,
    EvictionWarningIssued: NavTrigger.EVICTION_WARNING,
    EvictionPetitioned: NavTrigger.EVICTION_PETITION,
    EvictionDateSet: NavTrigger.EVICTION_DATE_SET,
}


def trigger_of(event: RentCaseEvent) -> NavTrigger | None:
    return TRIGGERS.get(type(event))


# --- state ------------------------------------------------------------------------------


class RentCase(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    lease_id: UUID
    tenant_id: UUID
    arrears: tuple[MonthInArrears, ...] = ()  # the unpaid months, in month order
    total_owed_nok: int = 0
    repayment_agreement: RepaymentAgreement | None = None
    rent_deduction: RentDeduction | None = None
    eviction_stage: EvictionStage = EvictionStage.NONE
    warning_issued_on: date | None = None
    pay_by: date | None = None
    petitioned_on: date | None = None
    eviction_on: date | None = None
    carried_out_on: date | None = None
    cancel_reason: EvictionCancelReason | None = None
    nav_notices: tuple[NavNotice, ...] = ()

    @property
    def months_in_arrears(self) -> frozenset[str]:
        return frozenset(a.month for a in self.arrears)


def _apply(s: RentCase, event: RentCaseEvents) -> RentCase:
    change = msgspec.structs.replace
    match event:
        case ArrearsReported():
            reported = MonthInArrears(event.month, event.amount_nok)
            arrears = tuple(sorted((*s.arrears, reported), key=lambda a: a.month))
            return change(s, arrears=arrears, total_owed_nok=s.total_owed_nok + event.amount_nok)
        case RepaymentAgreed():
            return change(s, repayment_agreement=event.agreement)
        case RentDeductionSetUp():
            return change(s, rent_deduction=event.deduction)
        case ArrearsCleared():
            return change(s, arrears=(), total_owed_nok=0)
        case EvictionWarningIssued():
            return change(
                s,
                eviction_stage=EvictionStage.WARNED,
                warning_issued_on=event.issued_on,
                pay_by=event.pay_by,
                petitioned_on=None,
                eviction_on=None,
                carried_out_on=None,
                cancel_reason=None,
            )
        case EvictionPetitioned():
            return change(
                s, eviction_stage=EvictionStage.PETITIONED, petitioned_on=event.petitioned_on
            )
        case EvictionDateSet():
            return change(s, eviction_stage=EvictionStage.DATE_SET, eviction_on=event.eviction_on)
        case EvictionCarriedOut():
            return change(
                s, eviction_stage=EvictionStage.CARRIED_OUT, carried_out_on=event.carried_out_on
            )
        case EvictionCancelled():
            return change(s, eviction_stage=EvictionStage.CANCELLED, cancel_reason=event.reason)
        case NavNotificationWithheld():
            *earlier, last = s.nav_notices
            if last.trigger is not event.trigger:
                raise ValueError("NavNotificationWithheld does not follow its step")
            withheld = change(last, notification_id=None, withheld_reason=event.reason)
            return change(s, nav_notices=(*earlier, withheld))
    raise TypeError(f"not a rent-case event: {type(event).__name__}")


def evolve(state: RentCase | None, event: RentCaseEvents) -> RentCase:
    if isinstance(event, RentCaseOpened):
        return RentCase(
            id=event.originator_id,
            version=event.originator_version,
            lease_id=event.lease_id,
            tenant_id=event.tenant_id,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before RentCaseOpened")
    s = _apply(msgspec.structs.replace(state, version=event.originator_version), event)
    trigger = trigger_of(event)
    if trigger is not None:
        # Sent unless the same commit records it withheld (see the module's docstring).
        version = event.originator_version
        notice = NavNotice(trigger, version, notification_id(s.id, trigger, version))
        s = msgspec.structs.replace(s, nav_notices=(*s.nav_notices, notice))
    return s


def replay(events: Iterable[RentCaseEvents]) -> RentCase | None:
    state: RentCase | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[RentCase] = Kind("rent case", RentCaseOpened, evolve)


def require(case: RentCase | None, rent_case_id: UUID) -> RentCase:
    if case is None:
        raise UnknownAggregate("rent_case_id", "must_exist", f"no rent case with id {rent_case_id}")
    return case


# --- rules ------------------------------------------------------------------------------


def _today(meta: EventMeta) -> date:
    return meta.recorded_on


def _not_in_future(field: str, day: date, meta: EventMeta) -> None:
    if day > _today(meta):
        raise InvalidValue(field, "not_in_future", f"{field} must not be later than today")


def _positive_amount(field: str, amount: int) -> None:
    if not 0 < amount <= MAX_AMOUNT_NOK:
        raise InvalidValue(
            field, "range_1_10000000", f"{field} must be between 1 and {MAX_AMOUNT_NOK} NOK"
        )


def _require_arrears(case: RentCase) -> None:
    if case.total_owed_nok <= 0:
        raise IllegalStateChange("rent_case_id", "arrears_owed", "the tenant owes no rent")


def _require_stage(case: RentCase, allowed: Iterable[EvictionStage], rule: str) -> None:
    if case.eviction_stage not in set(allowed):
        raise IllegalStateChange(
            "eviction_stage", rule, f"not allowed while the eviction stage is {case.eviction_stage}"
        )


# --- commands -----------------------------------------------------------------------------


def open_case(lease: Lease, tenant: Tenant, meta: EventMeta) -> RentCaseOpened:
    """Open the rent case of the tenant's active lease."""
    if lease.tenant_id != tenant.id:
        raise InvalidValue("lease_id", "lease_of_tenant", "the lease is not the tenant's")
    if not lease.is_active:
        raise IllegalStateChange("lease_id", "lease_active", "the lease has already ended")
    return case_opened(lease.id, tenant, meta)


def case_opened(lease_id: UUID, tenant: Tenant, meta: EventMeta) -> RentCaseOpened:
    """The fact of opening, unchecked: what a retry of :func:`open_case` restates.

    Only for comparing a retried command with the case already stored; a new case is
    opened with :func:`open_case`, which checks the lease.
    """
    return RentCaseOpened(
        originator_id=rent_case_id_for(lease_id),
        originator_version=1,
        meta=meta,
        tenant_id=tenant.id,
        lease_id=lease_id,
    )


def report_arrears(case: RentCase, month: str, amount_nok: int, meta: EventMeta) -> ArrearsReported:
    if not _MONTH.match(month):
        raise InvalidValue("month", "format_yyyy_mm", "month must look like 2026-02")
    if month > _today(meta).strftime("%Y-%m"):
        raise InvalidValue("month", "not_in_future", "rent for a future month cannot be overdue")
    _positive_amount("amount_nok", amount_nok)
    if month in case.months_in_arrears:
        raise IllegalStateChange(
            "month", "month_not_in_arrears", f"arrears for {month} are already reported"
        )
    return ArrearsReported(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        month=month,
        amount_nok=amount_nok,
    )


def agree_repayment(
    case: RentCase, monthly_amount_nok: int, first_due_on: date, meta: EventMeta
) -> RepaymentAgreed:
    _require_arrears(case)
    _positive_amount("monthly_amount_nok", monthly_amount_nok)
    agreement = RepaymentAgreement(monthly_amount_nok, first_due_on)
    return RepaymentAgreed(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        agreement=agreement,
    )


def set_up_rent_deduction(
    case: RentCase, monthly_amount_nok: int, starts_on: date, meta: EventMeta
) -> RentDeductionSetUp:
    _positive_amount("monthly_amount_nok", monthly_amount_nok)
    deduction = RentDeduction(monthly_amount_nok, starts_on)
    return RentDeductionSetUp(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        deduction=deduction,
    )


def clear_arrears(case: RentCase, cleared_on: date, meta: EventMeta) -> ArrearsCleared:
    _require_arrears(case)
    _not_in_future("cleared_on", cleared_on, meta)
    return ArrearsCleared(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        cleared_on=cleared_on,
    )


def issue_eviction_warning(
    case: RentCase, issued_on: date, meta: EventMeta
) -> EvictionWarningIssued:
    _require_stage(case, (EvictionStage.NONE, EvictionStage.CANCELLED), "no_eviction_in_progress")
    _require_arrears(case)
    _not_in_future("issued_on", issued_on, meta)
    pay_by = issued_on + timedelta(days=WARNING_DAYS_TO_PAY)
    return EvictionWarningIssued(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        issued_on=issued_on,
        pay_by=pay_by,
    )


def petition_eviction(case: RentCase, petitioned_on: date, meta: EventMeta) -> EvictionPetitioned:
    _require_stage(case, (EvictionStage.WARNED,), "warning_before_petition")
    _require_arrears(case)
    _not_in_future("petitioned_on", petitioned_on, meta)
    assert case.pay_by is not None
    if petitioned_on < case.pay_by:
        raise IllegalStateChange(
            "petitioned_on",
            "not_before_pay_by",
            f"the tenant has until {case.pay_by.isoformat()} to pay (§ 4-18)",
        )
    return EvictionPetitioned(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        petitioned_on=petitioned_on,
    )


def set_eviction_date(case: RentCase, eviction_on: date, meta: EventMeta) -> EvictionDateSet:
    """Set, or move, the day the enforcement officer carries out the eviction."""
    _require_stage(
        case,
        (EvictionStage.PETITIONED, EvictionStage.DATE_SET),
        "petition_before_eviction_date",
    )
    assert case.petitioned_on is not None
    if eviction_on < case.petitioned_on:
        raise InvalidValue(
            "eviction_on", "not_before_petition", "the eviction date is before the petition"
        )
    if eviction_on == case.eviction_on:
        raise IllegalStateChange(
            "eviction_on", "different_date", "the eviction is already set for that day"
        )
    return EvictionDateSet(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        eviction_on=eviction_on,
    )


def carry_out_eviction(case: RentCase, carried_out_on: date, meta: EventMeta) -> EvictionCarriedOut:
    _require_stage(case, (EvictionStage.DATE_SET,), "eviction_date_before_carried_out")
    _not_in_future("carried_out_on", carried_out_on, meta)
    assert case.eviction_on is not None
    if carried_out_on < case.eviction_on:
        raise InvalidValue(
            "carried_out_on",
            "not_before_eviction_date",
            "an eviction is not carried out before its date",
        )
    return EvictionCarriedOut(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        carried_out_on=carried_out_on,
    )


def end_lease_on_eviction(lease: Lease | None, evicted: EvictionCarriedOut) -> LeaseEnded | None:
    """The eviction ends the case's lease on the day it was carried out.

    None if there is no active lease to end: it ended before (say the tenant left ahead
    of the eviction date, and that end and its reason stand), or the case was opened
    before leases were checked and names none. The eviction is recorded all the same.
    """
    if lease is None or not lease.is_active:
        return None
    if rent_case_id_for(lease.id) != evicted.originator_id:
        raise ValueError("the lease must be the rent case's own")
    if evicted.carried_out_on < lease.starts_on:
        raise InvalidValue(
            "carried_out_on",
            "not_before_lease_start",
            "an eviction is not carried out before the lease started",
        )
    return leases.end(lease, evicted.carried_out_on, LeaseEndReason.EVICTION, evicted.meta)


def cancel_eviction(
    case: RentCase, reason: EvictionCancelReason, meta: EventMeta
) -> EvictionCancelled:
    _require_stage(
        case,
        (EvictionStage.WARNED, EvictionStage.PETITIONED, EvictionStage.DATE_SET),
        "eviction_in_progress",
    )
    return EvictionCancelled(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        reason=reason,
    )


def withhold_nav_notification(
    case: RentCase, trigger: NavTrigger, reason: WithheldReason, meta: EventMeta
) -> NavNotificationWithheld:
    """Record that NAV was not told about the step ``case`` has just recorded."""
    last = case.nav_notices[-1] if case.nav_notices else None
    if last is None or last.trigger is not trigger or last.step_version != case.version:
        raise ValueError("NAV can only be withheld for the step just recorded")
    return NavNotificationWithheld(
        originator_id=case.id,
        originator_version=case.version + 1,
        meta=meta,
        tenant_id=case.tenant_id,
        trigger=trigger,
        reason=reason,
    )
