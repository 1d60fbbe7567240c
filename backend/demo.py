"""A small, fictional demo data set. No real people: names are invented placeholders.

Ids are derived from fixed names (uuid5), so loading twice changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from domain.concern import ConcernCategory
from domain.concern_commands import RaiseConcern
from domain.consent_commands import GiveConsent
from domain.dwelling import DwellingOwner, SafetyFlagKind, SafetyFlagReason
from domain.events import MUNICIPALITY_TZ, Actor, local_date
from domain.handover import HandoverKind
from domain.handover_commands import AnnounceHandover, StartIndividualPlan
from domain.housing_commands import RegisterDwelling, SetSafetyFlag, StartLease
from domain.municipal_services import Service
from domain.nav_commands import AcknowledgeNavNotification
from domain.rent import rent_case_id_for
from domain.rent_commands import IssueEvictionWarning, OpenRentCase, ReportArrears
from domain.tenant_commands import AssignResponsibility, RegisterTenant, StartFollowUp
from domain.tenant_events import InfoCategory
from domain.usecases import UseCases
from domain.visit import FailureReason, Observations, Wellbeing
from domain.visit_commands import CompleteVisit, FailVisit, PlanVisit
from domain.write_model import WriteModel

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
PAIR = [FIELD_WORKER.user_id, SECOND_WORKER.user_id]  # the demo's two-person visits

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


def load_demo(model: WriteModel, now: datetime | None = None) -> bool:
    """Load the demo set; False if it was already there.

    Every command carries the time its story describes (``occurred_at``: a lease that
    started 100 days ago is recorded as happening then), and the commands are stored in
    the order of those times, so each tenant's timeline and risk series run forward.
    ``now`` (default: the clock) is when they are recorded.
    """
    now = now or datetime.now(UTC)
    app = UseCases.of(model)
    first_key = TENANTS[0][0]
    if app.records.tenant(demo_id(first_key)) is not None:
        return False
    story = _Story(now)
    for key, name, born, interval in TENANTS:
        _tenant_in_follow_up(app, story, key, name, born, interval)
    _tenant_in_eviction_chain(app, story)
    _dwellings_and_leases(app, story)
    _rent_and_nav(app, story)
    _concerns(app, story)
    _pending_handover(app, story)
    _individual_plan(app, story)
    story.tell()
    log.info("demo data loaded")
    return True


# How long ago the demo's story begins, in days.
REGISTERED_DAYS_AGO = 110  # the tenants and their homes are registered
LEASES_STARTED_DAYS_AGO = 100
FOLLOW_UP_STARTED_DAYS_AGO = 60


class _Story:
    """The demo's commands, each with the time it describes, told in that order."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.today = local_date(now)
        self._steps: list[tuple[datetime, int, Callable[[datetime], object]]] = []

    def days_ago(self, days: int) -> datetime:
        """09:00 in the municipality, ``days`` days before today (always in the past)."""
        return self.morning_of(self.today - timedelta(days=days))

    @staticmethod
    def morning_of(day: date) -> datetime:
        return datetime.combine(day, time(9), MUNICIPALITY_TZ).astimezone(UTC)

    def at(self, when: datetime, step: Callable[[datetime], object]) -> None:
        """``step(when)`` records one fact as happening at ``when`` (not after ``now``)."""
        self._steps.append((min(when, self.now), len(self._steps), step))

    def tell(self) -> None:
        # Stable: facts of the same moment keep the order they were added in.
        for when, _, step in sorted(self._steps, key=lambda s: (s[0], s[1])):
            step(when)


def _tenant_in_follow_up(
    app: UseCases, story: _Story, key: str, name: str, born: date, interval: int
) -> None:
    tenant_id, now = demo_id(key), story.now
    story.at(
        story.days_ago(REGISTERED_DAYS_AGO),
        lambda at: app.tenants.register_tenant(
            RegisterTenant(tenant_id=tenant_id, full_name=name, birth_date=born, occurred_at=at),
            TEAM_LEAD,
            now,
        ),
    )
    started = story.days_ago(FOLLOW_UP_STARTED_DAYS_AGO)
    story.at(
        started,
        lambda at: app.tenants.start_follow_up(
            tenant_id,
            StartFollowUp(visit_interval_days=interval, started_on=local_date(at), occurred_at=at),
            TEAM_LEAD,
            now,
        ),
    )
    story.at(
        started,
        lambda at: app.tenants.assign_responsibility(
            tenant_id,
            AssignResponsibility(
                service=Service.OUTREACH_TEAM,
                contact_worker_id=FIELD_WORKER.user_id,
                occurred_at=at,
            ),
            TEAM_LEAD,
            now,
        ),
    )
    _visits(app, story, key, tenant_id)


def _tenant_in_eviction_chain(app: UseCases, story: _Story) -> None:
    """Delta: housed months ago, in arrears, and taken into follow-up today."""
    tenant_id, now = demo_id("tenant:delta"), story.now
    story.at(
        story.days_ago(REGISTERED_DAYS_AGO),
        lambda at: app.tenants.register_tenant(
            RegisterTenant(
                tenant_id=tenant_id,
                full_name="Demo Beboer Delta",
                birth_date=date(1975, 6, 9),
                occurred_at=at,
            ),
            TEAM_LEAD,
            now,
        ),
    )
    story.at(
        now,
        lambda at: app.tenants.start_follow_up(
            tenant_id,
            StartFollowUp(visit_interval_days=14, started_on=local_date(at), occurred_at=at),
            TEAM_LEAD,
            now,
        ),
    )
    story.at(
        now,
        lambda at: app.tenants.assign_responsibility(
            tenant_id,
            AssignResponsibility(
                service=Service.OUTREACH_TEAM,
                contact_worker_id=SECOND_WORKER.user_id,
                occurred_at=at,
            ),
            TEAM_LEAD,
            now,
        ),
    )


def _dwellings_and_leases(app: UseCases, story: _Story) -> None:
    for key, address, unit, owner, flag, tenant_key in DWELLINGS:
        _dwelling_and_lease(app, story, key, address, unit, owner, flag, tenant_key)


def _dwelling_and_lease(
    app: UseCases,
    story: _Story,
    key: str,
    address: str,
    unit: str | None,
    owner: DwellingOwner,
    flag: tuple[SafetyFlagKind, SafetyFlagReason] | None,
    tenant_key: str,
) -> None:
    dwelling_id, now = demo_id(key), story.now
    registered = story.days_ago(REGISTERED_DAYS_AGO)
    story.at(
        registered,
        lambda at: app.housing.register_dwelling(
            RegisterDwelling(
                dwelling_id=dwelling_id,
                address=address,
                unit=unit,
                postcode="6900",
                owner=owner,
                occurred_at=at,
            ),
            PROPERTY_MANAGER,
            now,
        ),
    )
    if flag is not None:
        kind, reason = flag
        story.at(
            registered,
            lambda at: app.housing.set_safety_flag(
                dwelling_id,
                SetSafetyFlag(
                    kind=kind,
                    reason=reason,
                    review_on=story.today + timedelta(days=90),
                    occurred_at=at,
                ),
                PROPERTY_MANAGER,
                now,
            ),
        )
    # Delta is on a short lease after earlier evictions.
    term = 6 if tenant_key == "tenant:delta" else None
    story.at(
        story.days_ago(LEASES_STARTED_DAYS_AGO),
        lambda at: app.housing.start_lease(
            StartLease(
                lease_id=demo_id(f"{key}:lease"),
                dwelling_id=dwelling_id,
                tenant_id=demo_id(tenant_key),
                starts_on=local_date(at),
                term_months=term,
                occurred_at=at,
            ),
            PROPERTY_MANAGER,
            now,
        ),
    )


def _rent_and_nav(app: UseCases, story: _Story) -> None:
    now = story.now
    alfa, delta = demo_id("tenant:alfa"), demo_id("tenant:delta")
    story.at(
        story.days_ago(LEASES_STARTED_DAYS_AGO),
        lambda at: app.consents.give_consent(
            alfa,
            GiveConsent(
                consent_id=demo_id("consent:alfa-nav"),
                recipients=[Service.NAV],
                categories=[InfoCategory.RENT_AND_EVICTION],
                given_on=local_date(at),
                occurred_at=at,
            ),
            FIELD_WORKER,
            now,
        ),
    )

    # Alfa: last month's rent unpaid, reported on the 20th; NAV is told (consent) and
    # acknowledges the next day. The case is opened with the first report.
    alfa_lease = demo_id("dwelling:gate-1-h0201:lease")
    reported = _reported_on(story, 1)
    story.at(
        reported,
        lambda at: app.rent.open_rent_case(
            OpenRentCase(lease_id=alfa_lease, tenant_id=alfa, occurred_at=at),
            PROPERTY_MANAGER,
            now,
        ),
    )
    _arrears(app, story, alfa_lease, 1, 7400)

    def acknowledge(at: datetime) -> None:
        notice = app.records.existing_rent_case(rent_case_id_for(alfa_lease)).nav_notices[-1]
        if notice.notification_id is not None:
            app.nav.acknowledge_nav_notification(
                notice.notification_id,
                AcknowledgeNavNotification(occurred_at=at),
                NAV_OFFICER,
                now,
            )

    story.at(reported + timedelta(days=1), acknowledge)

    # Delta: two months unpaid, then a warning three days ago.
    delta_lease = demo_id("dwelling:vei-9:lease")
    story.at(
        _reported_on(story, 2),
        lambda at: app.rent.open_rent_case(
            OpenRentCase(lease_id=delta_lease, tenant_id=delta, occurred_at=at),
            PROPERTY_MANAGER,
            now,
        ),
    )
    for months_back in (2, 1):
        _arrears(app, story, delta_lease, months_back, 8150)
    story.at(
        story.days_ago(3),
        lambda at: app.rent.issue_eviction_warning(
            rent_case_id_for(delta_lease),
            IssueEvictionWarning(issued_on=local_date(at), occurred_at=at),
            PROPERTY_MANAGER,
            now,
        ),
    )


def _concerns(app: UseCases, story: _Story) -> None:
    now = story.now
    # Charlie's service is responsible for him: the concern goes to it as it is raised.
    hoarding = demo_id("concern:charlie-hoarding")
    raised = now - timedelta(days=6)
    story.at(
        raised,
        lambda at: app.concerns.raise_concern(
            RaiseConcern(
                concern_id=hoarding,
                tenant_id=demo_id("tenant:charlie"),
                dwelling_id=demo_id("dwelling:gate-1-h0101"),
                category=ConcernCategory.HOARDING,
                description="(demo) rubbish piling up in the hallway",
                occurred_at=at,
            ),
            PROPERTY_MANAGER,
            now,
        ),
    )
    story.at(
        now - timedelta(days=2),
        lambda at: app.concerns.raise_concern(
            RaiseConcern(
                concern_id=demo_id("concern:vei-9-fire"),
                dwelling_id=demo_id("dwelling:vei-9"),
                category=ConcernCategory.FIRE_SAFETY,
                description="(demo) smoke detector without battery",
                occurred_at=at,
            ),
            PROPERTY_MANAGER,
            now,
        ),
    )


def _pending_handover(app: UseCases, story: _Story) -> None:
    """Echo: registered by the correctional service today, released in five days."""
    tenant_id, now = demo_id("tenant:echo"), story.now

    def record(at: datetime) -> None:
        app.tenants.register_tenant(
            RegisterTenant(
                tenant_id=tenant_id,
                full_name="Demo Beboer Echo",
                birth_date=date(1991, 2, 28),
                occurred_at=at,
            ),
            PROBATION_OFFICER,
            now,
        )
        app.tenants.start_follow_up(
            tenant_id,
            StartFollowUp(visit_interval_days=7, started_on=local_date(at), occurred_at=at),
            PROBATION_OFFICER,
            now,
        )
        app.tenants.assign_responsibility(
            tenant_id,
            AssignResponsibility(
                service=Service.CORRECTIONAL_SERVICE,
                contact_worker_id=PROBATION_OFFICER.user_id,
                occurred_at=at,
            ),
            PROBATION_OFFICER,
            now,
        )
        app.handovers.announce_handover(
            AnnounceHandover(
                handover_id=demo_id("handover:echo-release"),
                tenant_id=tenant_id,
                from_service=Service.CORRECTIONAL_SERVICE,
                to_service=Service.OUTREACH_TEAM,
                kind=HandoverKind.RELEASE_FROM_PRISON,
                effective_on=local_date(at) + timedelta(days=5),
                occurred_at=at,
            ),
            PROBATION_OFFICER,
            now,
        )

    story.at(now, record)


def _individual_plan(app: UseCases, story: _Story) -> None:
    story.at(
        story.days_ago(30),
        lambda at: app.plans.start_individual_plan(
            demo_id("tenant:charlie"),
            StartIndividualPlan(
                started_on=local_date(at),
                coordinator_worker_id=COORDINATOR.user_id,
                coordinator_service=Service.COORDINATING_UNIT,
                group=(Service.OUTREACH_TEAM, Service.MENTAL_HEALTH, Service.NAV),
                occurred_at=at,
            ),
            COORDINATOR,
            story.now,
        ),
    )


def _arrears(
    app: UseCases, story: _Story, lease_id: uuid.UUID, months_back: int, amount: int
) -> None:
    story.at(
        _reported_on(story, months_back),
        lambda at: app.rent.report_arrears(
            rent_case_id_for(lease_id),
            ReportArrears(month=_month(story, months_back), amount_nok=amount, occurred_at=at),
            PROPERTY_MANAGER,
            story.now,
        ),
    )


def _month(story: _Story, months_back: int) -> str:
    """The municipality's month ``months_back`` before this one, as ``YYYY-MM``."""
    year, month = story.today.year, story.today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return f"{year:04d}-{month:02d}"


def _reported_on(story: _Story, months_back: int) -> datetime:
    """The 20th of that month, 09:00: when the demo's property manager reports arrears."""
    year, month = (int(part) for part in _month(story, months_back).split("-"))
    return story.morning_of(date(year, month, 20))


def _visits(app: UseCases, story: _Story, key: str, tenant_id: uuid.UUID) -> None:
    now = story.now
    for n, days_ago in enumerate((21, 9, 2)):
        failed = key == "tenant:bravo" and n > 0
        wellbeing = Wellbeing.POOR if key == "tenant:charlie" else Wellbeing.FAIR
        _visit(
            app,
            story,
            tenant_id,
            demo_id(f"{key}:visit:{n}"),
            now - timedelta(days=days_ago),
            None if failed else wellbeing,
        )
    story.at(
        now,
        lambda at: app.visits.plan_visit(
            tenant_id,
            PlanVisit(
                visit_id=demo_id(f"{key}:visit:next"),
                planned_for=now + timedelta(days=3),
                worker_ids=PAIR,
                occurred_at=at,
            ),
            FIELD_WORKER,
            now,
        ),
    )


def _visit(
    app: UseCases,
    story: _Story,
    tenant_id: uuid.UUID,
    visit_id: uuid.UUID,
    when: datetime,
    wellbeing: Wellbeing | None,
) -> None:
    """A visit planned three days ahead, then made (None: nobody at home) at ``when``."""
    now = story.now
    story.at(
        when - timedelta(days=3),
        lambda at: app.visits.plan_visit(
            tenant_id,
            PlanVisit(visit_id=visit_id, planned_for=when, worker_ids=PAIR, occurred_at=at),
            FIELD_WORKER,
            now,
        ),
    )
    if wellbeing is None:
        story.at(
            when,
            lambda at: app.visits.fail_visit(
                visit_id,
                FailVisit(worker_ids=PAIR, reason=FailureReason.NOT_AT_HOME, occurred_at=at),
                FIELD_WORKER,
                now,
            ),
        )
        return
    story.at(
        when,
        lambda at: app.visits.complete_visit(
            visit_id,
            CompleteVisit(
                worker_ids=PAIR,
                observations=Observations(wellbeing=wellbeing, note="(demo note)"),
                occurred_at=at,
            ),
            FIELD_WORKER,
            now,
        ),
    )
