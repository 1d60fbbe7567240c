"""The event store on PostgreSQL: ordered positions and optimistic concurrency."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime

import pytest

from domain import tenant as tenants
from domain.commands import RegisterTenant
from domain.errors import ConcurrentChange
from domain.events import Actor, EventMeta
from domain.services import Service

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID("00000000-0000-4000-8000-0000000000aa"), Service.OUTREACH_TEAM)
META = EventMeta(actor=ACTOR, occurred_at=NOW, recorded_at=NOW)


def test_a_second_write_at_the_same_version_is_a_concurrent_change(app):
    tenant = app.tenant(app.register_tenant(_register(), ACTOR, NOW).id)
    first = tenants.start_follow_up(tenant, 14, date(2026, 3, 1), META)
    second = tenants.start_follow_up(tenant, 7, date(2026, 3, 1), META)
    app.commit(first)
    with pytest.raises(ConcurrentChange):
        app.commit(second)
    assert app.tenant(tenant.id).follow_up.visit_interval_days == 14


def test_concurrent_writers_get_gap_free_increasing_positions(app):
    positions: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        for _ in range(n):
            result = app.register_tenant(_register(), ACTOR, NOW)
            with lock:
                positions.append(result.position)

    threads = [threading.Thread(target=write, args=(25,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(positions) == list(range(1, 101))


def _register() -> RegisterTenant:
    return RegisterTenant(tenant_id=uuid.uuid4(), full_name="Test Beboer")
