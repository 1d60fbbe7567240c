"""The demo data set tells its story in time order: loaded and projected in a real database."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from backend.auth.demo_users import ensure_demo_users
from backend.cli import main
from backend.database import DatabaseUrl
from backend.demo import TENANTS, demo_id, load_demo
from domain.codec import decode_event
from domain.events import local_date
from domain.lease import LeaseStarted
from domain.tenant_events import FollowUpStarted, ResponsibilityAssigned, TenantMovedIn
from projections.risk_timeline_queries import risk_series

DEMO_TENANTS = [key for key, *_ in TENANTS] + ["tenant:delta", "tenant:echo"]
# The day a summary names: "Follow-up started 2026-01-05, ...", "Lease started ...".
NAMED_DAY = re.compile(r"^(?:Follow-up started|Lease started|Moved in) (\d{4}-\d{2}-\d{2})")

# An afternoon; the first minutes of a month in Oslo (still the month before in UTC); New
# Year's Day in Oslo (the arrears months lie in the year before).
NOWS = [
    datetime(2026, 3, 6, 15, 30, tzinfo=UTC),
    datetime(2026, 2, 28, 23, 10, tzinfo=UTC),
    datetime(2026, 1, 1, 8, 0, tzinfo=UTC),
]


async def _timelines(database: DatabaseUrl) -> dict[str, list[Any]]:
    conn = await asyncpg.connect(database.url)
    try:
        return {
            key: await conn.fetch(
                "SELECT position, occurred_at, event_type, summary FROM risk_timeline "
                "WHERE tenant_id = $1 ORDER BY position",
                demo_id(key),
            )
            for key in DEMO_TENANTS
        }
    finally:
        await conn.close()


async def _series(database: DatabaseUrl) -> dict[str, list[Any]]:
    conn = await asyncpg.connect(database.url)
    try:
        return {key: await risk_series(conn, demo_id(key)) for key in DEMO_TENANTS}
    finally:
        await conn.close()


async def _events(database: DatabaseUrl) -> list[Any]:
    conn = await asyncpg.connect(database.url)
    try:
        rows = await conn.fetch(
            "SELECT originator_id, originator_version, topic, state FROM folgja_events "
            "ORDER BY notification_id"
        )
    finally:
        await conn.close()
    return [decode_event(r["topic"], r["state"], r["originator_id"], r[1]) for r in rows]


@pytest.fixture(autouse=True)
def demo_users(database: DatabaseUrl) -> None:
    """The demo's users, as `folgja run --demo` makes them before it loads the data."""

    async def ensure() -> None:
        conn = await asyncpg.connect(database.url)
        try:
            await ensure_demo_users(conn)
        finally:
            await conn.close()

    asyncio.run(ensure())


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.isoformat())
def test_each_demo_tenants_risk_series_runs_forward_in_time(
    write_model: Any, database: DatabaseUrl, monkeypatch: Any, now: datetime
) -> None:
    assert load_demo(write_model, now)
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["rebuild", "all"]) == 0

    for key, points in asyncio.run(_series(database)).items():
        assert len(points) > 2, key
        times = [occurred_at for _, occurred_at, _, _ in points]
        assert times == sorted(times), key  # in log order, never back in time
        assert times[-1] <= now, key

    for key, rows in asyncio.run(_timelines(database)).items():
        named = [(row, NAMED_DAY.match(row["summary"])) for row in rows]
        checked = [(row, match.group(1)) for row, match in named if match]
        assert checked, key
        for row, day in checked:
            # What the row says happened on that day is placed on that day.
            assert local_date(row["occurred_at"]).isoformat() == day, (key, row["summary"])


@pytest.mark.parametrize("now", NOWS[:1], ids=lambda now: now.isoformat())
def test_follow_up_and_lease_events_carry_the_days_they_name(
    write_model: Any, database: DatabaseUrl, now: datetime
) -> None:
    assert load_demo(write_model, now)
    events = asyncio.run(_events(database))
    follow_ups = {e.originator_id: e for e in events if isinstance(e, FollowUpStarted)}
    assert {demo_id(key) for key in DEMO_TENANTS} == follow_ups.keys()
    for event in follow_ups.values():
        assert local_date(event.meta.occurred_at) == event.started_on
    # A service takes the tenant when the follow-up starts, not when the demo is loaded.
    for event in (e for e in events if isinstance(e, ResponsibilityAssigned)):
        assert event.meta.occurred_at == follow_ups[event.originator_id].meta.occurred_at
    leases = [e for e in events if isinstance(e, LeaseStarted)]
    moves = [e for e in events if isinstance(e, TenantMovedIn)]
    assert len(leases) == len(moves) == 4
    for lease in leases:
        assert local_date(lease.meta.occurred_at) == lease.starts_on < local_date(now)
    for move in moves:
        assert local_date(move.meta.occurred_at) == move.moved_in_on
    # Recorded now, whatever time they describe.
    assert {e.meta.recorded_at for e in events} == {now}
