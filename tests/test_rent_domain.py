"""Rent-case rules: arrears per month, repayment, and the eviction chain in legal order.

Pure domain code: no database, no clock. Today is 2026-03-06.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import dwelling as dwellings
from domain import lease as leases
from domain import nav
from domain import rent as rents
from domain import tenant as tenants
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import Actor, EventMeta, event_meta
from domain.lease import Lease, LeaseEndReason
from domain.municipal_services import Service
from domain.nav import NavTrigger, WithheldReason
from domain.rent import (
    EvictionCancelReason,
    EvictionStage,
    MonthInArrears,
    NavNotice,
    RentCase,
    RentDeduction,
    RepaymentAgreement,
)
from domain.tenant import Tenant

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
FBE = Actor(user_id=uuid.uuid4(), service=Service.PROPERTY_MANAGER)
WARNED_ON = date(2026, 2, 10)
PAY_BY = date(2026, 2, 24)


def meta() -> EventMeta:
    return event_meta(FBE, None, NOW)


LEASE_STARTS_ON = date(2026, 1, 1)


def registered_tenant() -> Tenant:
    tenant = tenants.replay([tenants.register(uuid.uuid4(), "Ola", None, meta())])
    assert tenant is not None
    return tenant


def lease_of(tenant: Tenant) -> Lease:
    started = leases.start(
        uuid.uuid4(), uuid.uuid4(), tenant.id, LEASE_STARTS_ON, None, None, meta()
    )
    lease = leases.replay([started])
    assert lease is not None
    return lease


def ended(lease: Lease, on: date = date(2026, 2, 28)) -> Lease:
    reason = LeaseEndReason.TERMINATED_BY_TENANT
    return leases.evolve(lease, leases.end(lease, on, reason, meta()))


def opened(lease: Lease | None = None) -> RentCase:
    if lease is None:
        lease = lease_of(registered_tenant())
    tenant = tenants.replay([tenants.register(lease.tenant_id, "Ola", None, meta())])
    assert tenant is not None
    state = rents.replay([rents.open_case(lease, tenant, meta())])
    assert state is not None
    return state


def then(case: RentCase, step: Callable[[RentCase], rents.RentCaseEvents]) -> RentCase:
    return rents.evolve(case, step(case))


def in_arrears(*months: str, amount: int = 8_500) -> RentCase:
    case = opened()
    for month in months or ("2026-01",):
        case = then(case, lambda c, m=month: rents.report_arrears(c, m, amount, meta()))
    return case


def warned() -> RentCase:
    return then(in_arrears(), lambda c: rents.issue_eviction_warning(c, WARNED_ON, meta()))


def petitioned() -> RentCase:
    return then(warned(), lambda c: rents.petition_eviction(c, PAY_BY, meta()))


def date_set(on: date = date(2026, 4, 15), case: RentCase | None = None) -> RentCase:
    case = case or petitioned()
    return then(case, lambda c: rents.set_eviction_date(c, on, meta()))


def chain_to_date_set(case: RentCase, on: date = TODAY) -> RentCase:
    """Arrears, warning, petition and the eviction date, on the given case."""
    case = then(case, lambda c: rents.report_arrears(c, "2026-01", 8_500, meta()))
    case = then(case, lambda c: rents.issue_eviction_warning(c, WARNED_ON, meta()))
    case = then(case, lambda c: rents.petition_eviction(c, PAY_BY, meta()))
    return date_set(on, case)


def assert_refused(error: pytest.ExceptionInfo[DomainError], field: str, rule: str) -> None:
    assert (error.value.field, error.value.rule) == (field, rule)


# --- the case ------------------------------------------------------------------------------


def test_a_lease_has_one_rent_case_whose_id_is_derived_from_the_lease() -> None:
    lease = uuid.uuid4()
    assert rents.rent_case_id_for(lease) == rents.rent_case_id_for(lease)
    assert rents.rent_case_id_for(lease) != rents.rent_case_id_for(uuid.uuid4())


def test_an_opened_case_names_the_lease_and_tenant_and_owes_nothing() -> None:
    tenant = registered_tenant()
    lease = lease_of(tenant)
    case = rents.replay([rents.open_case(lease, tenant, meta())])
    assert case == RentCase(
        id=rents.rent_case_id_for(lease.id), version=1, lease_id=lease.id, tenant_id=tenant.id
    )
    assert case.eviction_stage is EvictionStage.NONE


def test_a_case_is_opened_only_for_the_tenant_s_own_lease() -> None:
    someone_elses = lease_of(registered_tenant())
    with pytest.raises(InvalidValue) as error:
        rents.open_case(someone_elses, registered_tenant(), meta())
    assert_refused(error, "lease_id", "lease_of_tenant")


def test_a_case_is_not_opened_for_a_lease_that_has_ended() -> None:
    tenant = registered_tenant()
    with pytest.raises(IllegalStateChange) as error:
        rents.open_case(ended(lease_of(tenant)), tenant, meta())
    assert_refused(error, "lease_id", "lease_active")


def test_a_retried_opening_restates_the_same_fact_without_checking_the_lease() -> None:
    tenant = registered_tenant()
    lease = lease_of(tenant)
    first = rents.open_case(lease, tenant, meta())
    assert rents.case_opened(lease.id, tenant, meta()) == first


def test_an_unknown_rent_case_is_reported_by_id() -> None:
    with pytest.raises(UnknownAggregate) as error:
        rents.require(None, uuid.uuid4())
    assert_refused(error, "rent_case_id", "must_exist")


# --- arrears ----------------------------------------------------------------------------------


def test_arrears_keep_the_unpaid_months_in_order_and_the_total() -> None:
    case = in_arrears("2026-02", "2025-12", "2026-01", amount=5_000)
    assert [a.month for a in case.arrears] == ["2025-12", "2026-01", "2026-02"]
    assert case.months_in_arrears == {"2025-12", "2026-01", "2026-02"}
    assert case.total_owed_nok == 15_000


@pytest.mark.parametrize("month", ["2026-1", "2026-13", "2026-00", "26-01", "2026/01", "januar"])
def test_a_month_must_look_like_yyyy_mm(month: str) -> None:
    with pytest.raises(InvalidValue) as error:
        rents.report_arrears(opened(), month, 1_000, meta())
    assert_refused(error, "month", "format_yyyy_mm")


def test_the_current_month_may_be_in_arrears_but_not_a_later_one() -> None:
    assert rents.report_arrears(opened(), "2026-03", 1_000, meta()).month == "2026-03"
    with pytest.raises(InvalidValue) as error:
        rents.report_arrears(opened(), "2026-04", 1_000, meta())
    assert_refused(error, "month", "not_in_future")


@pytest.mark.parametrize("amount", [0, -1, rents.MAX_AMOUNT_NOK + 1])
def test_an_amount_must_be_positive_and_bounded(amount: int) -> None:
    with pytest.raises(InvalidValue) as error:
        rents.report_arrears(opened(), "2026-01", amount, meta())
    assert_refused(error, "amount_nok", "range_1_10000000")


def test_an_unpaid_month_is_reported_once() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.report_arrears(in_arrears("2026-01"), "2026-01", 100, meta())
    assert_refused(error, "month", "month_not_in_arrears")


def test_a_month_may_fall_into_arrears_again_after_clearing() -> None:
    case = then(in_arrears("2026-01"), lambda c: rents.clear_arrears(c, TODAY, meta()))
    assert rents.report_arrears(case, "2026-01", 100, meta()).month == "2026-01"


def test_clearing_empties_the_months_and_the_total() -> None:
    case = then(in_arrears("2026-01", "2026-02"), lambda c: rents.clear_arrears(c, TODAY, meta()))
    assert (case.arrears, case.total_owed_nok) == ((), 0)


def test_nothing_owed_cannot_be_cleared() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.clear_arrears(opened(), TODAY, meta())
    assert_refused(error, "rent_case_id", "arrears_owed")


def test_arrears_are_not_cleared_in_the_future() -> None:
    with pytest.raises(InvalidValue) as error:
        rents.clear_arrears(in_arrears(), TODAY + timedelta(days=1), meta())
    assert_refused(error, "cleared_on", "not_in_future")


# --- repayment and rent deduction ----------------------------------------------------------


def test_a_repayment_agreement_is_recorded_while_arrears_are_owed() -> None:
    case = then(in_arrears(), lambda c: rents.agree_repayment(c, 1_000, date(2026, 4, 1), meta()))
    assert case.repayment_agreement == RepaymentAgreement(1_000, date(2026, 4, 1))


def test_no_repayment_agreement_without_arrears() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.agree_repayment(opened(), 1_000, date(2026, 4, 1), meta())
    assert_refused(error, "rent_case_id", "arrears_owed")


def test_a_repayment_instalment_must_be_positive() -> None:
    with pytest.raises(InvalidValue) as error:
        rents.agree_repayment(in_arrears(), 0, date(2026, 4, 1), meta())
    assert_refused(error, "monthly_amount_nok", "range_1_10000000")


def test_a_rent_deduction_may_be_set_up_before_any_arrears() -> None:
    case = then(opened(), lambda c: rents.set_up_rent_deduction(c, 6_000, date(2026, 4, 1), meta()))
    assert case.rent_deduction == RentDeduction(6_000, date(2026, 4, 1))


# --- the eviction chain ------------------------------------------------------------------------


def test_the_warning_gives_fourteen_days_to_pay() -> None:
    event = rents.issue_eviction_warning(in_arrears(), WARNED_ON, meta())
    assert event.pay_by == WARNED_ON + timedelta(days=14) == PAY_BY
    case = warned()
    assert (case.eviction_stage, case.warning_issued_on, case.pay_by) == (
        EvictionStage.WARNED,
        WARNED_ON,
        PAY_BY,
    )


def test_no_warning_without_arrears() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.issue_eviction_warning(opened(), WARNED_ON, meta())
    assert_refused(error, "rent_case_id", "arrears_owed")


def test_no_second_warning_while_an_eviction_is_in_progress() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.issue_eviction_warning(petitioned(), TODAY, meta())
    assert_refused(error, "eviction_stage", "no_eviction_in_progress")


def test_a_warning_is_not_dated_in_the_future() -> None:
    with pytest.raises(InvalidValue) as error:
        rents.issue_eviction_warning(in_arrears(), TODAY + timedelta(days=1), meta())
    assert_refused(error, "issued_on", "not_in_future")


def test_a_petition_needs_a_warning_first() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.petition_eviction(in_arrears(), TODAY, meta())
    assert_refused(error, "eviction_stage", "warning_before_petition")


def test_a_petition_waits_for_the_pay_by_date() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.petition_eviction(warned(), PAY_BY - timedelta(days=1), meta())
    assert_refused(error, "petitioned_on", "not_before_pay_by")


def test_a_petition_on_the_pay_by_date_is_accepted() -> None:
    case = petitioned()
    assert (case.eviction_stage, case.petitioned_on) == (EvictionStage.PETITIONED, PAY_BY)


def test_no_petition_once_the_arrears_are_paid() -> None:
    case = then(warned(), lambda c: rents.clear_arrears(c, TODAY, meta()))
    with pytest.raises(IllegalStateChange) as error:
        rents.petition_eviction(case, TODAY, meta())
    assert_refused(error, "rent_case_id", "arrears_owed")


def test_an_eviction_date_needs_a_petition() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.set_eviction_date(warned(), date(2026, 4, 15), meta())
    assert_refused(error, "eviction_stage", "petition_before_eviction_date")


def test_the_eviction_date_is_not_before_the_petition() -> None:
    with pytest.raises(InvalidValue) as error:
        rents.set_eviction_date(petitioned(), PAY_BY - timedelta(days=1), meta())
    assert_refused(error, "eviction_on", "not_before_petition")


def test_the_eviction_date_may_be_moved_but_not_to_the_same_day() -> None:
    case = then(date_set(), lambda c: rents.set_eviction_date(c, date(2026, 5, 2), meta()))
    assert (case.eviction_stage, case.eviction_on) == (EvictionStage.DATE_SET, date(2026, 5, 2))
    with pytest.raises(IllegalStateChange) as error:
        rents.set_eviction_date(case, date(2026, 5, 2), meta())
    assert_refused(error, "eviction_on", "different_date")


def test_an_eviction_is_carried_out_only_on_or_after_its_date() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.carry_out_eviction(petitioned(), TODAY, meta())
    assert_refused(error, "eviction_stage", "eviction_date_before_carried_out")
    with pytest.raises(InvalidValue) as error2:
        rents.carry_out_eviction(date_set(TODAY), TODAY - timedelta(days=1), meta())
    assert_refused(error2, "carried_out_on", "not_before_eviction_date")


def test_an_eviction_is_not_recorded_before_it_happened() -> None:
    with pytest.raises(InvalidValue) as error:
        rents.carry_out_eviction(date_set(date(2026, 4, 15)), date(2026, 4, 15), meta())
    assert_refused(error, "carried_out_on", "not_in_future")


def test_a_carried_out_eviction_ends_the_chain() -> None:
    case = then(date_set(TODAY), lambda c: rents.carry_out_eviction(c, TODAY, meta()))
    assert (case.eviction_stage, case.carried_out_on) == (EvictionStage.CARRIED_OUT, TODAY)
    for refused in (
        lambda: rents.issue_eviction_warning(case, TODAY, meta()),
        lambda: rents.cancel_eviction(case, EvictionCancelReason.OTHER, meta()),
    ):
        with pytest.raises(IllegalStateChange):
            refused()


def test_a_carried_out_eviction_ends_the_lease_and_the_tenant_moves_out_that_day() -> None:
    tenant = registered_tenant()
    dwelling = dwellings.replay(
        [
            dwellings.register(
                uuid.uuid4(), "Strandgata 12", None, None, dwellings.DwellingOwner.MUNICIPAL, meta()
            )
        ]
    )
    assert dwelling is not None
    started = leases.start(
        uuid.uuid4(), dwelling.id, tenant.id, LEASE_STARTS_ON, None, None, meta()
    )
    let, moved_in = leases.move_in(started, dwelling, tenant)
    lease = leases.replay([started])
    assert lease is not None
    dwelling, tenant = dwellings.evolve(dwelling, let), tenants.evolve(tenant, moved_in)
    case = chain_to_date_set(opened(lease))

    evicted = rents.carry_out_eviction(case, TODAY, meta())
    lease_ended = rents.end_lease_on_eviction(lease, evicted)

    assert lease_ended is not None
    assert (lease_ended.originator_id, lease_ended.ended_on, lease_ended.reason) == (
        lease.id,
        TODAY,
        LeaseEndReason.EVICTION,
    )
    vacated, moved_out = leases.move_out(lease_ended, dwelling, tenant)
    assert leases.evolve(lease, lease_ended).is_active is False
    assert dwellings.evolve(dwelling, vacated).active_lease_id is None
    assert (tenants.evolve(tenant, moved_out).dwelling_id, moved_out.moved_out_on) == (None, TODAY)


def test_an_eviction_after_the_tenant_has_left_leaves_the_ended_lease_as_it_is() -> None:
    lease = lease_of(registered_tenant())
    case = chain_to_date_set(opened(lease))
    evicted = rents.carry_out_eviction(case, TODAY, meta())

    assert rents.end_lease_on_eviction(ended(lease), evicted) is None
    assert rents.end_lease_on_eviction(None, evicted) is None  # a case naming no lease
    assert rents.evolve(case, evicted).eviction_stage is EvictionStage.CARRIED_OUT


def test_an_eviction_ends_only_its_own_case_s_lease() -> None:
    case = chain_to_date_set(opened())
    evicted = rents.carry_out_eviction(case, TODAY, meta())
    with pytest.raises(ValueError, match="rent case's own"):
        rents.end_lease_on_eviction(lease_of(registered_tenant()), evicted)


def test_an_eviction_is_not_carried_out_before_its_lease_started() -> None:
    tenant = registered_tenant()
    later = leases.start(
        uuid.uuid4(), uuid.uuid4(), tenant.id, TODAY + timedelta(days=30), None, None, meta()
    )
    lease = leases.replay([later])
    assert lease is not None
    evicted = rents.carry_out_eviction(chain_to_date_set(opened(lease)), TODAY, meta())
    with pytest.raises(InvalidValue) as refused:
        rents.end_lease_on_eviction(lease, evicted)
    assert (refused.value.field, refused.value.rule) == ("carried_out_on", "not_before_lease_start")


@pytest.mark.parametrize("stage", [warned, petitioned, date_set])
def test_an_eviction_in_progress_may_be_cancelled(stage: Callable[[], RentCase]) -> None:
    reason = EvictionCancelReason.REPAYMENT_AGREED
    case = then(stage(), lambda c: rents.cancel_eviction(c, reason, meta()))
    assert (case.eviction_stage, case.cancel_reason) == (EvictionStage.CANCELLED, reason)


def test_nothing_to_cancel_without_an_eviction() -> None:
    with pytest.raises(IllegalStateChange) as error:
        rents.cancel_eviction(in_arrears(), EvictionCancelReason.OTHER, meta())
    assert_refused(error, "eviction_stage", "eviction_in_progress")


def test_after_a_cancellation_a_new_chain_starts_with_a_new_warning() -> None:
    case = then(date_set(), lambda c: rents.cancel_eviction(c, EvictionCancelReason.OTHER, meta()))
    case = then(case, lambda c: rents.issue_eviction_warning(c, TODAY, meta()))
    assert (case.eviction_stage, case.pay_by, case.petitioned_on, case.eviction_on) == (
        EvictionStage.WARNED,
        TODAY + timedelta(days=14),
        None,
        None,
    )


# --- what NAV was told ---------------------------------------------------------------------------


def test_every_notifiable_step_lists_its_notification_by_derived_id() -> None:
    case = date_set()
    assert [(n.trigger, n.step_version) for n in case.nav_notices] == [
        (NavTrigger.ARREARS_REPORTED, 2),
        (NavTrigger.EVICTION_WARNING, 3),
        (NavTrigger.EVICTION_PETITION, 4),
        (NavTrigger.EVICTION_DATE_SET, 5),
    ]
    assert all(
        n.notification_id == nav.notification_id(case.id, n.trigger, n.step_version)
        for n in case.nav_notices
    )


def test_steps_nav_never_hears_of_list_nothing() -> None:
    case = then(in_arrears(), lambda c: rents.agree_repayment(c, 500, TODAY, meta()))
    case = then(case, lambda c: rents.clear_arrears(c, TODAY, meta()))
    assert len(case.nav_notices) == 1


def test_a_withheld_notice_replaces_the_step_s_notification_with_the_reason() -> None:
    case = in_arrears()
    reason = WithheldReason.NO_CONSENT_NO_LEGAL_BASIS
    case = then(
        case,
        lambda c: rents.withhold_nav_notification(c, NavTrigger.ARREARS_REPORTED, reason, meta()),
    )
    assert case.nav_notices == (NavNotice(NavTrigger.ARREARS_REPORTED, 2, None, reason),)
    assert case.arrears == (MonthInArrears("2026-01", 8_500),)


def test_nav_is_withheld_only_for_the_step_just_recorded() -> None:
    case = then(in_arrears(), lambda c: rents.agree_repayment(c, 500, TODAY, meta()))
    with pytest.raises(ValueError, match="step just recorded"):
        rents.withhold_nav_notification(
            case, NavTrigger.ARREARS_REPORTED, WithheldReason.NO_CONSENT_NO_LEGAL_BASIS, meta()
        )


def test_every_rent_case_event_names_the_tenant() -> None:
    case = warned()
    event = rents.petition_eviction(case, PAY_BY, meta())
    assert event.tenant_id == case.tenant_id


def test_an_event_before_opening_cannot_be_replayed() -> None:
    event = rents.report_arrears(opened(), "2026-01", 100, meta())
    with pytest.raises(ValueError, match="before RentCaseOpened"):
        rents.evolve(None, event)
