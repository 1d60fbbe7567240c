"""Untimed set-up: tenants in follow-up with planned visits, written through the write model.

The events are made by the domain's own rules (the functions the commands call) and stored
with :meth:`FollowUpApplication.save`, many per transaction: thousands of planned visits
in a second or two instead of one command round trip each.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from backend.database import DatabaseUrl
from domain import tenant as tenants
from domain import visit as visits
from domain.application import FollowUpApplication
from domain.events import Actor, DomainEvent, event_meta
from domain.municipal_services import Service

WORKER = UUID("00000000-0000-4000-8000-0000000000be")
ACTOR = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)
HEADERS = {"x-folgja-user": str(WORKER), "x-folgja-service": Service.OUTREACH_TEAM.value}
COMPLETION = {
    "worker_ids": [str(WORKER)],
    "observations": {
        "wellbeing": "fair",
        "note": "Beboer var hjemme og i godt humør. Kjøleskapet var nesten tomt; "
        "avtalt at NAV-kontakt følger opp søknad om økonomisk stønad. Ny avtale om to uker.",
    },
}
# Events per save (one transaction). Kept small: one save of 1000 events (~350 kB in one
# message) once hung for good in psycopg's pipeline mode, client and server both reading.
SAVE_CHUNK = 100


@dataclass(frozen=True)
class PlannedVisit:
    visit_id: UUID
    tenant_id: UUID


class VisitPool:
    """Planned visits handed out once each: a visit can be completed only once."""

    def __init__(self, planned: list[PlannedVisit]) -> None:
        self._planned = planned
        self._next = 0

    def take(self, n: int) -> list[PlannedVisit]:
        if self._next + n > len(self._planned):
            raise RuntimeError(f"fixture has {len(self._planned) - self._next} visits, need {n}")
        taken = self._planned[self._next : self._next + n]
        self._next += n
        return taken

    @property
    def left(self) -> int:
        return len(self._planned) - self._next


def create_visits(database: DatabaseUrl, *, tenants_n: int, visits_n: int) -> VisitPool:
    """``visits_n`` planned visits spread round-robin over ``tenants_n`` new tenants.

    Consecutive visits belong to different tenants, so concurrent completions never touch
    one tenant's timeline in a row, and each tenant's timeline stays short.
    """
    app = FollowUpApplication(database.eventsourcing_env())
    try:
        now = datetime.now(UTC)
        meta = event_meta(ACTOR, now - timedelta(minutes=1), now)
        events: list[DomainEvent] = []
        in_follow_up: list[tenants.Tenant] = []
        for i in range(tenants_n):
            registered = tenants.register(uuid4(), f"Benk Beboer {i}", date(1970, 1, 1), meta)
            tenant = tenants.replay([registered])
            assert tenant is not None
            started = tenants.start_follow_up(tenant, 14, now.date() - timedelta(days=30), meta)
            events += [registered, started]
            in_follow_up.append(tenants.evolve(tenant, started))
        planned = []
        cycle: Iterator[tenants.Tenant] = itertools.cycle(in_follow_up)
        for _ in range(visits_n):
            tenant = next(cycle)
            event = visits.plan(uuid4(), tenant, now + timedelta(days=1), [WORKER], meta)
            events.append(event)
            planned.append(PlannedVisit(event.originator_id, tenant.id))
        for start in range(0, len(events), SAVE_CHUNK):
            app.save(*events[start : start + SAVE_CHUNK])
        return VisitPool(planned)
    finally:
        app.close()
