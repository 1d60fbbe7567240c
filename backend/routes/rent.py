"""Rent cases: arrears, repayment, rent deduction and the eviction chain; read one."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from backend.write_access import WriteAccess
from domain.events import Actor
from domain.rent import RentCase, require
from domain.rent_commands import (
    AgreeRepayment,
    CancelEviction,
    CarryOutEviction,
    ClearArrears,
    IssueEvictionWarning,
    OpenRentCase,
    PetitionEviction,
    ReportArrears,
    SetEvictionDate,
    SetUpRentDeduction,
)
from domain.write_model import CommandResult


class RentCaseController(Controller):
    path = "/rent-cases"
    tags = ["rent"]

    @post("/", summary="Open the rent case of a lease (id derived from the lease; retry-safe)")
    async def open_case(
        self,
        data: JSONBody[OpenRentCase],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.open_rent_case, data, actor)

    @get("/{rent_case_id:uuid}", summary="A rent case: arrears, eviction stage, NAV notices")
    async def current(
        self, rent_case_id: FromPath[UUID], write: NamedDependency[WriteAccess]
    ) -> RentCase:
        return require(
            await write.read(lambda uc: uc.records.rent_case(rent_case_id)), rent_case_id
        )

    @post(
        "/{rent_case_id:uuid}/arrears",
        summary="Report a month's unpaid rent (NAV notified if allowed)",
    )
    async def report_arrears(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[ReportArrears],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.report_arrears, rent_case_id, data, actor)

    @post(
        "/{rent_case_id:uuid}/repayment-agreement",
        summary="Record a repayment agreement (nedbetalingsavtale)",
    )
    async def agree_repayment(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[AgreeRepayment],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.agree_repayment, rent_case_id, data, actor)

    @post(
        "/{rent_case_id:uuid}/rent-deduction", summary="Record an automatic rent deduction (trekk)"
    )
    async def set_up_rent_deduction(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[SetUpRentDeduction],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.rent.set_up_rent_deduction, rent_case_id, data, actor
        )

    @post("/{rent_case_id:uuid}/cleared", summary="Record that the arrears are cleared")
    async def clear_arrears(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[ClearArrears],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.clear_arrears, rent_case_id, data, actor)

    @post(
        "/{rent_case_id:uuid}/eviction-warning", summary="Issue the § 4-18 warning: 14 days to pay"
    )
    async def issue_eviction_warning(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[IssueEvictionWarning],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(
            lambda uc: uc.rent.issue_eviction_warning, rent_case_id, data, actor
        )

    @post(
        "/{rent_case_id:uuid}/eviction-petition",
        summary="Petition for eviction (begjæring om fravikelse)",
    )
    async def petition_eviction(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[PetitionEviction],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.petition_eviction, rent_case_id, data, actor)

    @post("/{rent_case_id:uuid}/eviction-date", summary="Set or move the eviction date")
    async def set_eviction_date(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[SetEvictionDate],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.set_eviction_date, rent_case_id, data, actor)

    @post(
        "/{rent_case_id:uuid}/eviction-carried-out",
        summary="Record that the eviction was carried out",
    )
    async def carry_out_eviction(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[CarryOutEviction],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.carry_out_eviction, rent_case_id, data, actor)

    @post("/{rent_case_id:uuid}/eviction-cancelled", summary="Cancel the eviction chain")
    async def cancel_eviction(
        self,
        rent_case_id: FromPath[UUID],
        data: JSONBody[CancelEviction],
        actor: NamedDependency[Actor],
        write: NamedDependency[WriteAccess],
    ) -> CommandResult:
        return await write.command(lambda uc: uc.rent.cancel_eviction, rent_case_id, data, actor)


class TenantRentCasesController(Controller):
    path = "/tenants/{tenant_id:uuid}/rent-cases"
    tags = ["rent"]

    @get("/", summary="The tenant's rent cases, one per lease, the newest lease first")
    async def of_tenant(
        self, tenant_id: FromPath[UUID], write: NamedDependency[WriteAccess]
    ) -> list[RentCase]:
        return await write.read(lambda uc: uc.rent.rent_cases_of(tenant_id))
