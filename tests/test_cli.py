"""The CLI against a real database: migrate, demo data, rebuild."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from backend.auth.demo_users import DEMO_USERS
from backend.cli import main
from backend.database import DatabaseUrl
from backend.scheduler import JOBS
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


# --- folgja jobs ---------------------------------------------------------------------------


async def _job_row(database: DatabaseUrl, job: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(database.url)
    try:
        return await conn.fetchrow("SELECT * FROM scheduler_jobs WHERE job = $1", job)
    finally:
        await conn.close()


def test_jobs_run_records_the_run_and_jobs_list_shows_it(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    for name in JOBS.names():
        assert f"{name}\n" in listed
    assert "last run:     never" in listed

    assert main(["jobs", "run", "purge_expired_tokens"]) == 0
    assert re.fullmatch(r"purge_expired_tokens: ok in \d+ ms, 0 done\n", capsys.readouterr().out)
    row = asyncio.run(_job_row(database, "purge_expired_tokens"))
    assert row is not None
    assert (row["runs"], row["failures"], row["last_outcome"]) == (1, 0, "ok")
    assert (row["last_trigger"], row["last_result_count"]) == ("cli", 0)
    assert asyncio.run(_job_row(database, "settle_due_handovers")) is None  # only that one

    assert main(["jobs", "list"]) == 0
    listed = capsys.readouterr().out
    purge = listed[listed.index("purge_expired_tokens\n") :]
    assert "(cli, pid " in purge and "last outcome: ok" in purge
    assert "runs 1, failures 0" in purge


def test_a_failing_job_run_exits_1_and_is_recorded_as_failed(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["migrate"]) == 0

    async def break_the_tokens_table() -> None:  # a real failure, in the real database
        conn = await asyncpg.connect(database.url)
        try:
            await conn.execute("ALTER TABLE auth_tokens RENAME TO auth_tokens_gone")
        finally:
            await conn.close()

    asyncio.run(break_the_tokens_table())
    assert main(["jobs", "run", "purge_expired_tokens"]) == 1
    err = capsys.readouterr().err
    assert "purge_expired_tokens: UndefinedTableError: " in err
    row = asyncio.run(_job_row(database, "purge_expired_tokens"))
    assert row is not None
    assert (row["runs"], row["failures"], row["last_outcome"]) == (1, 1, "failed")
    assert row["last_error"].startswith("UndefinedTableError: ")


def test_jobs_run_of_an_unknown_job_exits_2_naming_the_known(database, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database.url)
    assert main(["jobs", "run", "no_such_job"]) == 2
    err = capsys.readouterr().err
    assert "unknown job 'no_such_job'; known: " + ", ".join(JOBS.names()) in err
