"""The CLI against a real database: migrate, demo data, rebuild."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from backend.auth.demo_users import DEMO_USERS
from backend.cli import main
from backend.database import DatabaseUrl
from domain.codec import decode_event
from projections.summaries import summarize

# Facts about an address alone reach the timelines of the people living there.
ADDRESS_FACTS = {
    "SafetyFlagSet",
    "SafetyFlagChanged",
    "SafetyFlagLifted",
    "ConcernRaised",
    "ConcernRouted",
    "ConcernAcknowledged",
    "ConcernEscalated",
    "ConcernResolved",
}


async def _rows(database: DatabaseUrl) -> tuple[int, set[tuple[object, int]], dict[tuple, str]]:
    """(events in the log, (tenant, position) of each event naming a tenant, the timeline)."""
    conn = await asyncpg.connect(database.url)
    try:
        rows = await conn.fetch(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM folgja_events"
        )
        about_tenant = set()
        for r in rows:
            event = decode_event(r["topic"], r["state"], r["originator_id"], r[2])
            about = summarize(event)
            if about is not None:
                about_tenant.add((about[0], r["notification_id"]))
        timeline = {
            (r["tenant_id"], r["position"]): r["event_type"]
            for r in await conn.fetch("SELECT tenant_id, position, event_type FROM risk_timeline")
        }
        return len(rows), about_tenant, timeline
    finally:
        await conn.close()


def test_demo_then_rebuild_projects_every_tenant_event(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["migrate"]) == 0
    assert main(["demo"]) == 0
    events, about_tenant, timeline_before = asyncio.run(_rows(database))
    assert events > len(about_tenant) > 0
    assert timeline_before == {}  # no runner was running: nothing projected yet

    assert main(["rebuild", "all"]) == 0

    _, _, timeline = asyncio.run(_rows(database))
    assert about_tenant <= timeline.keys()
    assert {timeline[k] for k in timeline.keys() - about_tenant} <= ADDRESS_FACTS
    assert "rebuilt up to position" in capsys.readouterr().err


def test_demo_loads_once(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["demo"]) == 0
    events_first, _, _ = asyncio.run(_rows(database))
    assert main(["demo"]) == 0
    events_second, _, _ = asyncio.run(_rows(database))
    assert events_first == events_second
    out = capsys.readouterr().out
    assert "already present" in out


def test_demo_says_how_long_its_printed_tokens_live(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "the admin's too, are valid for 12 hours, until 20" in out
    assert out.count("Authorization: Bearer ") == len(DEMO_USERS)


def test_a_setting_out_of_bounds_stops_the_cli_naming_it(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("FOLGJA_OFFLINE_LEASE_DAYS", "0")
    assert main(["migrate"]) == 2
    assert "FOLGJA_OFFLINE_LEASE_DAYS='0'" in capsys.readouterr().err


def test_rebuild_of_unknown_projection_is_refused(database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["rebuild", "no_such_projection"]) == 2


@pytest.mark.parametrize("url", ["mysql://x@y/z", "not a url"])
def test_database_url_must_be_postgresql(url):
    with pytest.raises(ValueError):
        DatabaseUrl.parse(url)
