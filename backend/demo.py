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
from domain.events import Actor
from domain.services import Service
from domain.visit import FailureReason, Observations, Wellbeing

log = logging.getLogger(__name__)

DEMO_NAMESPACE = uuid.UUID("6f1c4b1e-0c55-4e0b-9a43-3d9f3f0b9d11")


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, name)


FIELD_WORKER = Actor(demo_id("user:field-worker-1"), Service.OUTREACH_TEAM)
SECOND_WORKER = Actor(demo_id("user:field-worker-2"), Service.OUTREACH_TEAM)
TEAM_LEAD = Actor(demo_id("user:team-lead"), Service.OUTREACH_TEAM)

TENANTS = (
    ("tenant:alfa", "Demo Beboer Alfa", date(1989, 4, 2), 7),
    ("tenant:bravo", "Demo Beboer Bravo", date(1997, 11, 20), 14),
    ("tenant:charlie", "Demo Beboer Charlie", date(1981, 1, 15), 14),
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
    log.info("demo data loaded: %d tenants", len(TENANTS))
    return True


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
