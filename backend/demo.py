"""A small, fictional demo data set. No real people: names are invented placeholders.

Ids are derived from fixed names (uuid5), so loading twice changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

from domain.application import FollowUpApplication
from domain.commands import (
    AssignResponsibility,
    CompleteVisit,
    FailVisit,
    PlanVisit,
    RegisterTenant,
    StartFollowUp,
)
from domain.concern import ConcernCategory
from domain.concern_commands import RaiseConcern, RouteConcern
from domain.consent_commands import GiveConsent
from domain.dwelling import DwellingOwner, SafetyFlagKind, SafetyFlagReason
from domain.events import Actor
from domain.handover import HandoverKind
from domain.handover_commands import AnnounceHandover, StartIndividualPlan
from domain.housing_commands import RegisterDwelling, SetSafetyFlag, StartLease
from domain.nav_commands import AcknowledgeNavNotification
from domain.rent_commands import IssueEvictionWarning, OpenRentCase, ReportArrears
from domain.services import Service
from domain.tenant_events import InfoCategory
from domain.visit import FailureReason, Observations, Wellbeing

log = logging.getLogger(__name__)

DEMO_NAMESPACE = uuid.UUID("6f1c4b1e-0c55-4e0b-9a43-3d9f3f0b9d11")


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, name)


FIELD_WORKER = Actor(demo_id("user:field-worker-1"), Service.OUTREACH_TEAM)
SECOND_WORKER = Actor(demo_id("user:field-worker-2"), Service.OUTREACH_TEAM)
TEAM_LEAD = Actor(demo_id("user:team-lead"), Service.OUTREACH_TEAM)
PROPERTY_MANAGER = Actor(demo_id("user:fbe-1"), Service.PROPERTY_MANAGER)
NAV_OFFICER = Actor(demo_id("user:nav-1"), Service.NAV)
PROBATION_OFFICER = Actor(demo_id("user:kriminalomsorgen-1"), Service.CORRECTIONAL_SERVICE)
COORDINATOR = Actor(demo_id("user:koordinator-1"), Service.COORDINATING_UNIT)

TENANTS = (
    ("tenant:alfa", "Demo Beboer Alfa", date(1989, 4, 2), 7),
    ("tenant:bravo", "Demo Beboer Bravo", date(1997, 11, 20), 14),
    ("tenant:charlie", "Demo Beboer Charlie", date(1981, 1, 15), 14),
)

# (key, address, unit, owner, flag, tenant key)
DWELLINGS = (
    (
        "dwelling:gate-1-h0201",
        "Demogata 1",
        "H0201",
        DwellingOwner.MUNICIPAL,
        (SafetyFlagKind.TWO_PERSON, SafetyFlagReason.THREATS_VIOLENCE),
        "tenant:alfa",
    ),
    ("dwelling:alle-3", "Demoalléen 3", None, DwellingOwner.SUBLET_PRIVATE, None, "tenant:bravo"),
    (
        "dwelling:gate-1-h0101",
        "Demogata 1",
        "H0101",
        DwellingOwner.MUNICIPAL,
        None,
        "tenant:charlie",
    ),
    (
        "dwelling:vei-9",
        "Demovegen 9",
        None,
        DwellingOwner.MUNICIPAL,
        (SafetyFlagKind.NO_ENTRY, SafetyFlagReason.AGGRESSIVE_ANIMAL),
        "tenant:delta",
    ),
)


def load_demo(app: FollowUpApplication, now: datetime | None = None) -> bool:
    """Load the demo set; False if it was already there."""
    now = now or datetime.now(UTC)
    first_key = TENANTS[0][0]
    if app.tenant(demo_id(first_key)) is not None:
        return False
    started = now - timedelta(days=60)
    for key, name, born, interval in TENANTS:
        tenant_id = demo_id(key)
        app.register_tenant(
            RegisterTenant(
                tenant_id=tenant_id, full_name=name, birth_date=born, occurred_at=started
            ),
            TEAM_LEAD,
            now,
        )
        app.start_follow_up(
            tenant_id,
            StartFollowUp(visit_interval_days=interval, started_on=started.date()),
            TEAM_LEAD,
            now,
        )
        app.assign_responsibility(
            tenant_id,
            AssignResponsibility(
                service=Service.OUTREACH_TEAM, contact_worker_id=FIELD_WORKER.user_id
            ),
            TEAM_LEAD,
            now,
        )
        _visits(app, key, tenant_id, now)
    _tenant_in_eviction_chain(app, now)
    _dwellings_and_leases(app, now)
    _rent_and_nav(app, now)
    _concerns(app, now)
    _pending_handover(app, now)
    _individual_plan(app, now)
    log.info("demo data loaded")
    return True


def _tenant_in_eviction_chain(app: FollowUpApplication, now: datetime) -> None:
    tenant_id = demo_id("tenant:delta")
    app.register_tenant(
        RegisterTenant(
            tenant_id=tenant_id, full_name="Demo Beboer Delta", birth_date=date(1975, 6, 9)
        ),
        TEAM_LEAD,
        now,
    )
    app.start_follow_up(
        tenant_id, StartFollowUp(visit_interval_days=14, started_on=now.date()), TEAM_LEAD, now
    )
    app.assign_responsibility(
        tenant_id,
        AssignResponsibility(
            service=Service.OUTREACH_TEAM, contact_worker_id=SECOND_WORKER.user_id
        ),
        TEAM_LEAD,
        now,
    )


def _dwellings_and_leases(app: FollowUpApplication, now: datetime) -> None:
    for key, address, unit, owner, flag, tenant_key in DWELLINGS:
        dwelling_id = demo_id(key)
        app.register_dwelling(
            RegisterDwelling(
                dwelling_id=dwelling_id, address=address, unit=unit, postcode="6900", owner=owner
            ),
            PROPERTY_MANAGER,
            now,
        )
        if flag is not None:
            kind, reason = flag
            app.set_safety_flag(
                dwelling_id,
                SetSafetyFlag(
                    kind=kind, reason=reason, review_on=(now + timedelta(days=90)).date()
                ),
                PROPERTY_MANAGER,
                now,
            )
        # Delta is on a short lease after earlier evictions.
        term = 6 if tenant_key == "tenant:delta" else None
        app.start_lease(
            StartLease(
                lease_id=demo_id(f"{key}:lease"),
                dwelling_id=dwelling_id,
                tenant_id=demo_id(tenant_key),
                starts_on=(now - timedelta(days=100)).date(),
                term_months=term,
            ),
            PROPERTY_MANAGER,
            now,
        )


def _rent_and_nav(app: FollowUpApplication, now: datetime) -> None:
    alfa, delta = demo_id("tenant:alfa"), demo_id("tenant:delta")
    app.give_consent(
        alfa,
        GiveConsent(
            consent_id=demo_id("consent:alfa-nav"),
            recipients=[Service.NAV],
            categories=[InfoCategory.RENT_AND_EVICTION],
            given_on=(now - timedelta(days=100)).date(),
        ),
        FIELD_WORKER,
        now,
    )
    alfa_case = app.open_rent_case(
        OpenRentCase(lease_id=demo_id("dwelling:gate-1-h0201:lease"), tenant_id=alfa),
        PROPERTY_MANAGER,
        now,
    ).id
    app.report_arrears(
        alfa_case, ReportArrears(month=_month(now, 1), amount_nok=7400), PROPERTY_MANAGER, now
    )
    alfa_notice = app.existing_rent_case(alfa_case).nav_notices[-1].notification_id
    if alfa_notice is not None:
        app.acknowledge_nav_notification(
            alfa_notice, AcknowledgeNavNotification(), NAV_OFFICER, now
        )

    delta_case = app.open_rent_case(
        OpenRentCase(lease_id=demo_id("dwelling:vei-9:lease"), tenant_id=delta),
        PROPERTY_MANAGER,
        now,
    ).id
    for months_back in (2, 1):
        app.report_arrears(
            delta_case,
            ReportArrears(month=_month(now, months_back), amount_nok=8150),
            PROPERTY_MANAGER,
            now,
        )
    app.issue_eviction_warning(
        delta_case,
        IssueEvictionWarning(issued_on=(now - timedelta(days=3)).date()),
        PROPERTY_MANAGER,
        now,
    )


def _concerns(app: FollowUpApplication, now: datetime) -> None:
    hoarding = demo_id("concern:charlie-hoarding")
    app.raise_concern(
        RaiseConcern(
            concern_id=hoarding,
            tenant_id=demo_id("tenant:charlie"),
            dwelling_id=demo_id("dwelling:gate-1-h0101"),
            category=ConcernCategory.HOARDING,
            description="(demo) rubbish piling up in the hallway",
            occurred_at=now - timedelta(days=6),
        ),
        PROPERTY_MANAGER,
        now,
    )
    app.route_concern(
        hoarding, RouteConcern(to_service=Service.OUTREACH_TEAM), PROPERTY_MANAGER, now
    )
    app.raise_concern(
        RaiseConcern(
            concern_id=demo_id("concern:vei-9-fire"),
            dwelling_id=demo_id("dwelling:vei-9"),
            category=ConcernCategory.FIRE_SAFETY,
            description="(demo) smoke detector without battery",
            occurred_at=now - timedelta(days=2),
        ),
        PROPERTY_MANAGER,
        now,
    )


def _pending_handover(app: FollowUpApplication, now: datetime) -> None:
    tenant_id = demo_id("tenant:echo")
    app.register_tenant(
        RegisterTenant(
            tenant_id=tenant_id, full_name="Demo Beboer Echo", birth_date=date(1991, 2, 28)
        ),
        PROBATION_OFFICER,
        now,
    )
    app.start_follow_up(
        tenant_id,
        StartFollowUp(visit_interval_days=7, started_on=now.date()),
        PROBATION_OFFICER,
        now,
    )
    app.assign_responsibility(
        tenant_id,
        AssignResponsibility(
            service=Service.CORRECTIONAL_SERVICE, contact_worker_id=PROBATION_OFFICER.user_id
        ),
        PROBATION_OFFICER,
        now,
    )
    app.announce_handover(
        AnnounceHandover(
            handover_id=demo_id("handover:echo-release"),
            tenant_id=tenant_id,
            from_service=Service.CORRECTIONAL_SERVICE,
            to_service=Service.OUTREACH_TEAM,
            kind=HandoverKind.RELEASE_FROM_PRISON,
            effective_on=(now + timedelta(days=5)).date(),
        ),
        PROBATION_OFFICER,
        now,
    )


def _individual_plan(app: FollowUpApplication, now: datetime) -> None:
    app.start_individual_plan(
        demo_id("tenant:charlie"),
        StartIndividualPlan(
            started_on=(now - timedelta(days=30)).date(),
            coordinator_worker_id=COORDINATOR.user_id,
            coordinator_service=Service.COORDINATING_UNIT,
            group=(Service.OUTREACH_TEAM, Service.MENTAL_HEALTH, Service.NAV),
        ),
        COORDINATOR,
        now,
    )


def _month(now: datetime, months_back: int) -> str:
    year, month = now.year, now.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _visits(app: FollowUpApplication, key: str, tenant_id: uuid.UUID, now: datetime) -> None:
    pair = [FIELD_WORKER.user_id, SECOND_WORKER.user_id]
    for n, days_ago in enumerate((21, 9, 2)):
        visit_id = demo_id(f"{key}:visit:{n}")
        when = now - timedelta(days=days_ago)
        app.plan_visit(
            tenant_id,
            PlanVisit(
                visit_id=visit_id,
                planned_for=when,
                worker_ids=pair,
                occurred_at=when - timedelta(days=3),
            ),
            FIELD_WORKER,
            now,
        )
        if key == "tenant:bravo" and n > 0:
            app.fail_visit(
                visit_id,
                FailVisit(worker_ids=pair, reason=FailureReason.NOT_AT_HOME, occurred_at=when),
                FIELD_WORKER,
                now,
            )
        else:
            wellbeing = Wellbeing.POOR if key == "tenant:charlie" else Wellbeing.FAIR
            app.complete_visit(
                visit_id,
                CompleteVisit(
                    worker_ids=pair,
                    observations=Observations(wellbeing=wellbeing, note="(demo note)"),
                    occurred_at=when,
                ),
                FIELD_WORKER,
                now,
            )
    upcoming = demo_id(f"{key}:visit:next")
    app.plan_visit(
        tenant_id,
        PlanVisit(visit_id=upcoming, planned_for=now + timedelta(days=3), worker_ids=pair),
        FIELD_WORKER,
        now,
    )
