"""The risk timeline and caseload projections against a real PostgreSQL, through the real runner.

Facts are recorded through the real write model (``FollowUpApplication`` use cases); the
projections are followed by the real ``ProjectionRunner`` (or rebuilt by the real
``projections.rebuild``), and read back with their own query functions.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest

from backend.database import DatabaseUrl
from domain import risk
from domain.concern import ConcernCategory, ConcernOutcome
from domain.concern_commands import RaiseConcern, ResolveConcern
from domain.dwelling import DwellingOwner, SafetyFlagKind, SafetyFlagReason
from domain.events import Actor
from domain.housing_commands import (
    EndLease,
    LiftSafetyFlag,
    RegisterDwelling,
    SetSafetyFlag,
    StartLease,
)
from domain.lease import LeaseEndReason
from domain.municipal_services import Service
from domain.rent_commands import IssueEvictionWarning, OpenRentCase, ReportArrears
from domain.risk import RiskLevel
from domain.tenant_commands import AssignResponsibility, RegisterTenant, StartFollowUp
from domain.usecases import UseCases
from domain.visit import Observations, Wellbeing
from domain.visit_commands import CompleteVisit, PlanVisit
from domain.write_model import WriteModel
from projections import rebuild as rebuilds
from projections import runner as runner_module
from projections import tablet_parts
from projections.base import PositionedEvent, Projection
from projections.caseload import CaseloadProjection
from projections.caseload_queries import caseload_for_worker, tenants_without_responsible_service
from projections.risk_timeline import RECENT_ENTRIES, RiskTimelineProjection
from projections.risk_timeline_queries import current_risk, risk_series, risk_timeline
from projections.runner import ProjectionRunner
from sync.protocol import CHANGES_MAX_ENTRIES, HISTORY_MAX_ENTRIES
from tests.projection_helpers import head, tracked, until
from tests.staff import enrol_staff

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECOND_WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
OUTREACH = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)
FBE = Actor(
    user_id=uuid.UUID("00000000-0000-4000-8000-0000000000f1"), service=Service.PROPERTY_MANAGER
)


@pytest.fixture(autouse=True)
def quick_lock_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)


class Story:
    """Records facts through the real write model, as a worker of the outreach team or FBE."""

    def __init__(self, model: WriteModel) -> None:
        self.uses = UseCases.of(model)
        self.now = NOW

    def tenant(self, *, interval_days: int = 14, responsible: bool = True) -> uuid.UUID:
        tenant_id = uuid.uuid4()
        self.uses.tenants.register_tenant(
            RegisterTenant(tenant_id=tenant_id, full_name="Test Beboer"), OUTREACH, self.now
        )
        self.uses.tenants.start_follow_up(
            tenant_id,
            StartFollowUp(visit_interval_days=interval_days, started_on=date(2026, 3, 1)),
            OUTREACH,
            self.now,
        )
        if responsible:
            self.uses.tenants.assign_responsibility(
                tenant_id,
                AssignResponsibility(service=Service.OUTREACH_TEAM, contact_worker_id=WORKER),
                OUTREACH,
                self.now,
            )
        return tenant_id

    def dwelling(self, address: str = "Strandgata 12") -> uuid.UUID:
        dwelling_id = uuid.uuid4()
        body = RegisterDwelling(
            dwelling_id=dwelling_id, address=address, unit="H0201", owner=DwellingOwner.MUNICIPAL
        )
        self.uses.housing.register_dwelling(body, FBE, self.now)
        return dwelling_id

    def lease(self, tenant_id: uuid.UUID, dwelling_id: uuid.UUID) -> uuid.UUID:
        lease_id = uuid.uuid4()
        self.uses.housing.start_lease(
            StartLease(
                lease_id=lease_id,
                dwelling_id=dwelling_id,
                tenant_id=tenant_id,
                starts_on=date(2026, 3, 2),
            ),
            FBE,
            self.now,
        )
        return lease_id

    def end_lease(self, lease_id: uuid.UUID) -> None:
        body = EndLease(ended_on=date(2026, 3, 6), reason=LeaseEndReason.TERMINATED_BY_TENANT)
        self.uses.housing.end_lease(lease_id, body, FBE, self.now)

    def flag(self, dwelling_id: uuid.UUID) -> None:
        body = SetSafetyFlag(
            kind=SafetyFlagKind.TWO_PERSON,
            reason=SafetyFlagReason.THREATS_VIOLENCE,
            review_on=date(2026, 6, 1),
        )
        self.uses.housing.set_safety_flag(dwelling_id, body, FBE, self.now)

    def lift(self, dwelling_id: uuid.UUID) -> None:
        self.uses.housing.lift_safety_flag(
            dwelling_id, LiftSafetyFlag(reason="calm now"), FBE, self.now
        )

    def rent_case(self, tenant_id: uuid.UUID, lease_id: uuid.UUID) -> uuid.UUID:
        result = self.uses.rent.open_rent_case(
            OpenRentCase(lease_id=lease_id, tenant_id=tenant_id), FBE, self.now
        )
        return result.id

    def arrears(self, case_id: uuid.UUID, month: str) -> None:
        self.uses.rent.report_arrears(
            case_id, ReportArrears(month=month, amount_nok=6500), FBE, self.now
        )

    def warning(self, case_id: uuid.UUID) -> None:
        body = IssueEvictionWarning(issued_on=date(2026, 3, 6))
        self.uses.rent.issue_eviction_warning(case_id, body, FBE, self.now)

    def address_concern(self, dwelling_id: uuid.UUID, category: str) -> uuid.UUID:
        concern_id = uuid.uuid4()
        body = RaiseConcern(
            concern_id=concern_id,
            dwelling_id=dwelling_id,
            category=ConcernCategory(category),
            description="smoke alarm removed",
        )
        self.uses.concerns.raise_concern(body, FBE, self.now)
        return concern_id

    def resolve(self, concern_id: uuid.UUID) -> None:
        body = ResolveConcern(outcome=ConcernOutcome.ACTION_TAKEN, outcome_text="alarm refitted")
        self.uses.concerns.resolve_concern(concern_id, body, FBE, self.now)

    def visit(self, tenant_id: uuid.UUID, planned_for: datetime, *, done: bool) -> uuid.UUID:
        visit_id = uuid.uuid4()
        body = PlanVisit(
            visit_id=visit_id, planned_for=planned_for, worker_ids=(WORKER, SECOND_WORKER)
        )
        self.uses.visits.plan_visit(tenant_id, body, OUTREACH, self.now)
        if done:
            self.uses.visits.complete_visit(
                visit_id,
                CompleteVisit(
                    worker_ids=(WORKER, SECOND_WORKER),
                    observations=Observations(wellbeing=Wellbeing.GOOD),
                ),
                OUTREACH,
                self.now,
            )
        return visit_id


@pytest.fixture
def story(write_model: WriteModel, database: DatabaseUrl) -> Story:
    enrol_staff(database, [(WORKER, Service.OUTREACH_TEAM), (SECOND_WORKER, Service.OUTREACH_TEAM)])
    return Story(write_model)


@asynccontextmanager
async def running(pool: asyncpg.Pool, *projections: Projection) -> AsyncIterator[None]:
    runner = ProjectionRunner(pool, list(projections), batch_size=500)
    await runner.start()
    try:
        yield
    finally:
        await runner.stop()


async def caught_up(pool: asyncpg.Pool, *names: str) -> None:
    async with pool.acquire() as conn:

        async def reached() -> bool:
            top = await head(conn)
            return all([await tracked(conn, name) == top for name in names])

        await until(reached, f"{', '.join(names)} to reach the head of the log")


async def project(pool: asyncpg.Pool) -> None:
    """Run both projections with the real runner until they show the whole log."""
    async with running(pool, RiskTimelineProjection(), CaseloadProjection()):
        await caught_up(pool, RiskTimelineProjection.name, CaseloadProjection.name)


async def levels_by_type(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> dict[str, str]:
    page = await risk_timeline(conn, tenant_id, None, 500)
    return {e.event_type: e.level for e in page.items}


# --- risk moves as facts arrive --------------------------------------------------------------


async def test_arrears_and_an_eviction_warning_raise_the_level(
    story: Story, pool: asyncpg.Pool
) -> None:
    tenant_id = story.tenant()
    lease_id = story.lease(tenant_id, story.dwelling())
    case_id = story.rent_case(tenant_id, lease_id)
    story.arrears(case_id, "2026-01")
    async with running(pool, RiskTimelineProjection(), CaseloadProjection()):
        await caught_up(pool, RiskTimelineProjection.name)
        async with pool.acquire() as conn:
            after_one = (await risk_timeline(conn, tenant_id, None, 500)).items[-1]
        assert (after_one.event_type, after_one.level, after_one.score) == (
            "NavNotificationWithheld",
            "low",
            1,
        )

        # The runner follows the log: more facts arrive while it runs.
        story.arrears(case_id, "2026-02")
        story.warning(case_id)
        await caught_up(pool, RiskTimelineProjection.name)

    async with pool.acquire() as conn:
        entries = (await risk_timeline(conn, tenant_id, None, 500)).items
        arrears_rows = [e for e in entries if e.event_type == "ArrearsReported"]
        assert [(e.level, e.score) for e in arrears_rows] == [("low", 1), ("moderate", 3)]
        warning = next(e for e in entries if e.event_type == "EvictionWarningIssued")
        assert (warning.level, warning.score) == ("high", 6)
        assert {r.rule: r.weight for r in warning.reasons} == {
            "arrears_months": 3,
            "eviction_stage": 3,
        }
        assert warning.model_version == risk.RISK_MODEL_VERSION
        assert warning.summary.startswith("Eviction warning issued 2026-03-06")
        # Every fact about the tenant is on the timeline, in log order.
        positions = [e.position for e in entries]
        assert positions == sorted(positions)
        assert entries[0].event_type == "TenantRegistered"
        assert {"LeaseStarted", "TenantMovedIn", "RentCaseOpened"} <= {
            e.event_type for e in entries
        }
        series = await risk_series(conn, tenant_id)
        assert [p[0] for p in series] == positions
        assert series[-1][2:] == (6, "high")
        current = await current_risk(conn, tenant_id, NOW)
        assert current is not None and current.level is RiskLevel.HIGH


async def test_a_flag_on_the_tenants_address_appears_on_their_timeline(
    story: Story, pool: asyncpg.Pool
) -> None:
    resident = story.tenant()
    neighbour = story.tenant()
    dwelling_id = story.dwelling()
    lease_id = story.lease(resident, dwelling_id)
    story.lease(neighbour, story.dwelling("Havnegata 1"))
    story.flag(dwelling_id)
    story.end_lease(lease_id)
    story.lift(dwelling_id)  # after the resident moved out: not on their timeline
    await project(pool)

    async with pool.acquire() as conn:
        entries = (await risk_timeline(conn, resident, None, 500)).items
        flagged = [e for e in entries if e.event_type.startswith("SafetyFlag")]
        assert [(e.event_type, e.summary) for e in flagged] == [
            ("SafetyFlagSet", "Address flagged two-person (threats/violence)")
        ]
        others = (await risk_timeline(conn, neighbour, None, 500)).items
        assert not [e for e in others if e.event_type.startswith("SafetyFlag")]


async def test_a_concern_about_the_address_reaches_whoever_lives_there(
    story: Story, pool: asyncpg.Pool
) -> None:
    first = story.tenant()
    dwelling_id = story.dwelling()
    first_lease = story.lease(first, dwelling_id)
    concern_id = story.address_concern(dwelling_id, "fire_safety")
    await project(pool)
    async with pool.acquire() as conn:
        current = await current_risk(conn, first, NOW)
        assert current is not None
        assert {r.rule: r.weight for r in current.reasons} == {"open_concerns": 3}
        entries = (await risk_timeline(conn, first, None, 500)).items
        assert entries[-1].summary == "Concern about the address raised by fbe: fire safety"

    # The first tenant moves out, a second moves in: the concern goes with the address.
    story.end_lease(first_lease)
    second = story.tenant()
    story.lease(second, dwelling_id)
    await project(pool)
    async with pool.acquire() as conn:
        assert (await current_risk(conn, first, NOW)).reasons == ()  # type: ignore[union-attr]
        inherited = await current_risk(conn, second, NOW)
        assert inherited is not None and [r.rule for r in inherited.reasons] == ["open_concerns"]

    story.resolve(concern_id)
    await project(pool)
    async with pool.acquire() as conn:
        assert (await current_risk(conn, second, NOW)).reasons == ()  # type: ignore[union-attr]
        last = (await risk_timeline(conn, second, None, 500)).items[-1]
        assert last.summary == "Address concern (fire safety) resolved: action taken"
        first_types = [e.event_type for e in (await risk_timeline(conn, first, None, 500)).items]
        assert "ConcernResolved" not in first_types


async def test_overdue_shows_in_the_current_risk_as_time_passes(
    story: Story, pool: asyncpg.Pool
) -> None:
    tenant_id = story.tenant(interval_days=7)
    story.visit(tenant_id, NOW - timedelta(hours=2), done=True)
    await project(pool)
    async with pool.acquire() as conn:
        now = await current_risk(conn, tenant_id, NOW)
        later = await current_risk(conn, tenant_id, NOW + timedelta(days=8))
        stored = await conn.fetchval("SELECT level FROM risk_state WHERE tenant_id = $1", tenant_id)
    assert now is not None and later is not None
    assert [r.rule for r in now.reasons] == []
    assert [r.rule for r in later.reasons] == ["visit_overdue"]
    assert stored == "low"  # the stored level is the one at the last event


# --- rebuild after a change to the model ----------------------------------------------------


async def test_a_rebuild_after_changing_a_weight_gives_the_new_levels(
    story: Story, pool: asyncpg.Pool, database: DatabaseUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant_id = story.tenant()
    case_id = story.rent_case(tenant_id, story.lease(tenant_id, story.dwelling()))
    story.arrears(case_id, "2026-01")
    story.arrears(case_id, "2026-02")
    story.warning(case_id)
    await project(pool)
    async with pool.acquire() as conn:
        before = await levels_by_type(conn, tenant_id)
    assert before["EvictionWarningIssued"] == "high"

    # Version 2 of the model: a warning weighs as much as a date set.
    rules = tuple(
        dataclasses.replace(rule, weights={**rule.weights, "warned": 7})
        if rule.name == "eviction_stage"
        else rule
        for rule in risk.RULES
    )
    monkeypatch.setattr(risk, "RULES", rules)
    monkeypatch.setattr(risk, "RISK_MODEL_VERSION", 2)
    async with pool.acquire() as conn:
        # Reads never serve an assessment stored by another version of the model.
        now = await current_risk(conn, tenant_id, NOW)
    assert now is not None and (now.level, now.model_version) == (RiskLevel.CRITICAL, 2)
    outcome = await rebuilds.rebuild(database.url, [RiskTimelineProjection()])
    assert isinstance(outcome[RiskTimelineProjection.name], int), outcome

    async with pool.acquire() as conn:
        after = await levels_by_type(conn, tenant_id)
        entries = (await risk_timeline(conn, tenant_id, None, 500)).items
    assert after["EvictionWarningIssued"] == "critical"
    assert after["ArrearsReported"] == before["ArrearsReported"]
    assert {e.model_version for e in entries} == {2}


# --- batches ---------------------------------------------------------------------------------


async def snapshot(conn: asyncpg.Connection, tables: tuple[str, ...]) -> dict[str, Any]:
    return {
        table: sorted(tuple(r.values()) for r in await conn.fetch(f"SELECT * FROM {table}"))
        for table in tables
    }


async def test_a_batch_gives_the_same_rows_as_one_event_at_a_time(
    story: Story, pool: asyncpg.Pool
) -> None:
    """The in-memory batch state (moves, flags and address concerns in one batch) must
    agree with applying the same events one by one."""
    tenants = [story.tenant(responsible=n % 2 == 0) for n in range(3)]
    dwelling_id = story.dwelling()
    leases = [story.lease(t, dwelling_id) for t in tenants[:1]]
    story.flag(dwelling_id)
    concern_id = story.address_concern(dwelling_id, "hoarding")
    story.end_lease(leases[0])
    story.lease(tenants[1], dwelling_id)
    story.address_concern(dwelling_id, "wellbeing")
    story.resolve(concern_id)
    story.visit(tenants[2], NOW + timedelta(days=3), done=False)
    story.visit(tenants[2], NOW - timedelta(days=1), done=True)
    story.lift(dwelling_id)

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM folgja_events ORDER BY notification_id"
        )
        items = [runner_module.decode_row(r).event for r in rows]
        events: list[PositionedEvent] = [i for i in items if i is not None]
        for projection in (RiskTimelineProjection(), CaseloadProjection()):
            tr = conn.transaction()
            await tr.start()
            await projection.apply(conn, events)
            together = await snapshot(conn, projection.tables)
            await tr.rollback()
            tr = conn.transaction()
            await tr.start()
            for event in events:
                await projection.apply(conn, [event])
            one_by_one = await snapshot(conn, projection.tables)
            await tr.rollback()
            assert together == one_by_one, projection.name
            assert any(together.values())


# --- caseload -------------------------------------------------------------------------------


async def test_the_caseload_row_follows_the_tenant(story: Story, pool: asyncpg.Pool) -> None:
    tenant_id = story.tenant()
    dwelling_id = story.dwelling()
    story.lease(tenant_id, dwelling_id)
    story.flag(dwelling_id)
    story.visit(tenant_id, NOW - timedelta(hours=3), done=True)
    story.visit(tenant_id, NOW + timedelta(days=9), done=False)
    soonest = story.visit(tenant_id, NOW + timedelta(days=4), done=False)
    orphan = story.tenant(responsible=False)
    await project(pool)

    async with pool.acquire() as conn:
        page = await caseload_for_worker(conn, WORKER, NOW)
        (row,) = page.items
        assert row.tenant_id == tenant_id
        assert row.full_name == "Test Beboer"
        assert row.responsible_service == "tiltaksteamet"
        assert row.address == "Strandgata 12, H0201"
        assert row.safety_flag == "two_person"
        assert row.last_visit_at == NOW
        assert row.next_visit_at == NOW + timedelta(days=4)
        assert row.visit_due_at == NOW + timedelta(days=14)
        assert row.overdue is False
        assert row.risk is not None and row.risk.level is RiskLevel.LOW

        without = await tenants_without_responsible_service(conn)
        assert [e.tenant_id for e in without.items] == [orphan]
        assert without.items[0].lapsed is False

    story.uses.visits.complete_visit(
        soonest,
        CompleteVisit(
            worker_ids=(WORKER, SECOND_WORKER), observations=Observations(wellbeing=Wellbeing.FAIR)
        ),
        OUTREACH,
        NOW + timedelta(minutes=5),
    )
    story.lift(dwelling_id)
    await project(pool)
    async with pool.acquire() as conn:
        (row,) = (await caseload_for_worker(conn, WORKER, NOW)).items
        assert row.next_visit_at == NOW + timedelta(days=9)
        assert row.last_visit_at == NOW + timedelta(minutes=5)
        assert row.safety_flag is None


# --- what a tablet new to the tenant is sent (projections/tablet_parts.py) -------------------


def test_the_tablets_history_cap_is_the_projections_kept_entries() -> None:
    # Otherwise every pull takes the slow path (decision 72).
    assert HISTORY_MAX_ENTRIES == RECENT_ENTRIES


async def test_a_new_tenants_timeline_is_its_newest_entries_within_the_window(
    story: Story, pool: asyncpg.Pool
) -> None:
    """Whether the stored newest entries are sent or the rows are joined, a tablet gets
    the newest RECENT_ENTRIES entries that occurred since the window's start, oldest
    first, and is told when older ones within the window were left out."""
    few = story.tenant()  # a tenant with fewer entries than are kept
    many = story.tenant()
    start = story.now
    for day in range(0, 140, 2):  # 70 visits: 140 entries, one planned and one done
        story.now = start + timedelta(days=day)
        story.visit(many, story.now, done=True)
    await project(pool)

    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT tenant_id, position, occurred_at, entry FROM risk_timeline ORDER BY position"
        )
        # The projection keeps each tenant's newest entries joined, oldest first.
        for tenant_id in (few, many):
            stored = await conn.fetchval(
                "SELECT entries FROM risk_timeline_recent WHERE tenant_id = $1", tenant_id
            )
            own = [r["position"] for r in rows if r["tenant_id"] == tenant_id]
            kept = [e["position"] for e in msgspec.json.decode(stored)]
            assert kept == own[-RECENT_ENTRIES:]

        def expected(tenant_id: uuid.UUID, since: datetime) -> tuple[list[int], bool]:
            matching = [r["position"] for r in rows if r["tenant_id"] == tenant_id]
            within = [
                r["position"]
                for r in rows
                if r["tenant_id"] == tenant_id and r["occurred_at"] >= since
            ]
            assert matching
            newest = within[-RECENT_ENTRIES:]
            return newest, len(within) > len(newest)

        for since in (
            start - timedelta(days=1),  # all of it within: the stored row
            start + timedelta(days=85),  # the newest 50 within, more left out: the stored row
            start + timedelta(days=100),  # fewer than 50 within: joined here
            start + timedelta(days=400),  # nothing within
        ):
            parts = await tablet_parts.tenant_parts(
                conn,
                [few, many],
                new=[True, True],
                history_since=since,
                history_cap=RECENT_ENTRIES,
                changed_after=0,
                changes_cap=CHANGES_MAX_ENTRIES,
            )
            for tenant_id in (few, many):
                sent = msgspec.json.decode(parts[tenant_id].timeline)
                positions, cut = expected(tenant_id, since)
                assert [e["position"] for e in sent] == positions, (tenant_id, since)
                assert parts[tenant_id].timeline_cut == cut, (tenant_id, since)
                by_position = {r["position"]: r["entry"] for r in rows}
                assert [msgspec.json.encode(e) for e in sent] == [
                    msgspec.json.encode(msgspec.json.decode(by_position[p])) for p in positions
                ]
