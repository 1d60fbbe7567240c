"""Alerts end to end: the time rules raise, escalate and clear; recipients read and
acknowledge through the API; nothing is raised twice.

Through the real app on real PostgreSQL, with the app's scheduler off: the tests run the
rules themselves at the time they set on the app's clock.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from backend.alerting import RULES, RuleRun, TimeRule, run_time_rules
from backend.app import create_app
from backend.auth.roles import Role
from backend.database import DatabaseUrl
from backend.runtime import Runtime
from backend.settings import Settings
from domain.alert_thresholds import AlertThresholds, CheckOutMissing
from domain.alerts import AlertRule, alert_id
from domain.municipal_services import Service
from projections.registry import all_projections
from tests.api import assert_problem, head_position, post, tenant_in_follow_up, timeline
from tests.conftest import Clock
from tests.sync_api import Tablet
from tests.sync_api import followed_by as tablet_followed_by

# Follow-up starts 2026-03-01 with a 14-day interval: the first visit is due at midnight
# starting 15 March (Oslo); with the default three days' grace it is late from 18 March.
DUE = datetime(2026, 3, 14, 23, 0, tzinfo=UTC)
LATE = DUE + timedelta(days=3)


@pytest.fixture
def client(database: DatabaseUrl, clock: Clock) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, run_scheduler=False)
    app = create_app(settings, database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


class Team:
    """A field worker and a team lead of the outreach team, real users."""

    def __init__(self, client: TestClient) -> None:
        self.worker = client.colleague(Service.OUTREACH_TEAM, Role.FIELD_WORKER)
        self.lead = client.colleague(Service.OUTREACH_TEAM, Role.TEAM_LEAD)
        self.other = client.colleague(Service.OUTREACH_TEAM, Role.FIELD_WORKER)

    def as_(self, user: uuid.UUID) -> dict[str, str]:
        return {"x-folgja-user": str(user), "x-folgja-service": Service.OUTREACH_TEAM.value}


def followed_by(client: TestClient, team: Team) -> uuid.UUID:
    tenant_id = tenant_in_follow_up(client)
    post(
        client,
        f"/tenants/{tenant_id}/responsibility",
        {"service": "tiltaksteamet", "contact_worker_id": str(team.worker)},
    )
    return tenant_id


def run_rules(client: TestClient, rules: Sequence[TimeRule] = RULES) -> dict[AlertRule, RuleRun]:
    """One run of the time rules, once every read model has seen every event so far."""
    rt: Runtime = client.app.state.runtime
    head = head_position(client)

    async def run() -> list[RuleRun]:
        for projection in all_projections():
            await rt.read_models.at(projection.name, head)
        return await run_time_rules(rt, rules)

    runs: list[RuleRun] = client.blocking_portal.call(run)
    return {r.rule: r for r in runs}


def inbox(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        "/alerts", params={"min_position": head_position(client), **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_an_overdue_visit_is_raised_to_the_contact_worker_once_past_the_grace(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    tenant_id = followed_by(client, team)
    clock.now = LATE - timedelta(minutes=1)
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 0
    clock.now = LATE
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 1

    [alert] = inbox(client, team.as_(team.worker))
    assert alert["rule"] == "visit_overdue"
    assert alert["tenant_id"] == str(tenant_id)
    assert alert["state"] == "open" and alert["your_tier"] == 0
    assert inbox(client, team.as_(team.lead)) == []
    assert inbox(client, team.as_(team.other)) == []
    # The tenant's timeline shows it.
    summaries = [e["summary"] for e in timeline(client, tenant_id, head_position(client))]
    assert any(s.startswith("Alert raised: visit overdue") for s in summaries)


def test_a_second_run_and_two_runs_at_once_raise_nothing_twice(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    followed_by(client, team)
    clock.now = LATE
    rt: Runtime = client.app.state.runtime
    run_rules(client, ())  # the read models have caught up

    async def twice() -> list[list[RuleRun]]:
        return list(await asyncio.gather(run_time_rules(rt), run_time_rules(rt)))

    first, second = client.blocking_portal.call(twice)
    raised = [r.raised for r in (*first, *second) if r.rule is AlertRule.VISIT_OVERDUE]
    assert sorted(raised) == [0, 1]
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 0
    assert len(inbox(client, team.as_(team.worker))) == 1
    assert client.blocking_portal.call(_raised_events, rt) == 1


async def _raised_events(rt: Runtime) -> int:
    async with rt.pool.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM folgja_events WHERE topic = 'domain.alerts:AlertRaised'"
        )
        return count


def test_unacknowledged_it_is_escalated_to_the_team_lead_and_acknowledged_it_stops(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    followed_by(client, team)
    clock.now = LATE
    run_rules(client)
    clock.advance(days=2, seconds=-1)
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].escalated == 0
    clock.advance(seconds=1)
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].escalated == 1
    [seen_by_lead] = inbox(client, team.as_(team.lead))
    assert seen_by_lead["your_tier"] == 1 and seen_by_lead["tier"] == 1

    done = client.post(
        f"/alerts/{seen_by_lead['alert_id']}/acknowledgement",
        json={"note": "Calling today"},
        headers=team.as_(team.lead),
    )
    assert done.status_code == 201, done.text
    assert inbox(client, team.as_(team.worker)) == []
    [acknowledged] = inbox(client, team.as_(team.worker), state="acknowledged")
    assert acknowledged["acknowledged_by"] == str(team.lead)
    # Not raised again for the same cause and period, however often the rules run.
    clock.advance(days=5)
    runs = run_rules(client)[AlertRule.VISIT_OVERDUE]
    assert (runs.raised, runs.escalated, runs.cleared) == (0, 0, 0)


def test_a_visit_made_clears_the_alert_and_the_next_missed_visit_is_a_new_one(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    tenant_id = followed_by(client, team)
    clock.now = LATE
    run_rules(client)
    visit_id = uuid.uuid4()
    post(
        client,
        f"/tenants/{tenant_id}/visits",
        {
            "visit_id": str(visit_id),
            "planned_for": LATE.isoformat(),
            "worker_ids": [str(team.worker)],
        },
        team.as_(team.worker),
    )
    post(
        client,
        f"/visits/{visit_id}/completion",
        {"worker_ids": [str(team.worker)], "observations": {"wellbeing": "good"}},
        team.as_(team.worker),
    )
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].cleared == 1
    [cleared] = inbox(client, team.as_(team.worker), state="cleared")
    assert cleared["cleared_at"] is not None
    # The next interval is missed too: a new alert, for the new period.
    clock.advance(days=14 + 3)
    assert run_rules(client)[AlertRule.VISIT_OVERDUE].raised == 1
    assert len(inbox(client, team.as_(team.worker))) == 1


def test_only_a_recipient_may_acknowledge_and_only_once(client: TestClient, clock: Clock) -> None:
    team = Team(client)
    followed_by(client, team)
    clock.now = LATE
    run_rules(client)
    [alert] = inbox(client, team.as_(team.worker))
    path = f"/alerts/{alert['alert_id']}/acknowledgement"

    stranger = client.post(path, json={}, headers=team.as_(team.other))
    assert_problem(stranger, 404, "alert_id", "must_exist")
    assert client.get(f"/alerts/{alert['alert_id']}", headers=team.as_(team.other)).status_code == (
        404
    )
    unknown = client.post(
        f"/alerts/{uuid.uuid4()}/acknowledgement", json={}, headers=team.as_(team.worker)
    )
    assert_problem(unknown, 404, "alert_id", "must_exist")
    # A tenant's id is no alert's.
    wrong_kind = client.post(
        f"/alerts/{alert['tenant_id']}/acknowledgement", json={}, headers=team.as_(team.worker)
    )
    assert_problem(wrong_kind, 404, "alert_id", "must_exist")

    assert client.post(path, json={}, headers=team.as_(team.worker)).status_code == 201
    again = client.post(path, json={}, headers=team.as_(team.worker))
    assert_problem(again, 409, "alert_id", "not_acknowledged")
    empty_note = client.post(path, json={"note": ""}, headers=team.as_(team.worker))
    assert empty_note.status_code == 400 or empty_note.status_code == 422


def test_the_alert_id_is_derived_from_rule_subject_and_period(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    tenant_id = followed_by(client, team)
    clock.now = LATE
    run_rules(client)
    [alert] = inbox(client, team.as_(team.worker))
    assert alert["alert_id"] == str(alert_id(AlertRule.VISIT_OVERDUE, tenant_id, alert["period"]))


def test_a_flag_due_for_review_gives_its_owner_a_review_task(
    client: TestClient, clock: Clock
) -> None:
    owner = client.colleague(Service.PROPERTY_MANAGER, Role.PROPERTY_MANAGER)
    fbe = {"x-folgja-user": str(owner), "x-folgja-service": "fbe"}
    dwelling_id = uuid.uuid4()
    post(
        client,
        "/dwellings",
        {
            "dwelling_id": str(dwelling_id),
            "address": "Testveien 1",
            "postcode": "6900",
            "owner": "municipal",
        },
        fbe,
    )
    post(
        client,
        f"/dwellings/{dwelling_id}/safety-flag",
        {"kind": "two_person", "reason": "threats_violence", "review_on": "2026-03-20"},
        fbe,
    )
    clock.now = datetime(2026, 3, 18, 23, 0, tzinfo=UTC)  # 19 March in Oslo
    assert run_rules(client)[AlertRule.SAFETY_FLAG_REVIEW_DUE].raised == 0
    clock.now = datetime(2026, 3, 19, 23, 0, tzinfo=UTC)  # 20 March in Oslo
    assert run_rules(client)[AlertRule.SAFETY_FLAG_REVIEW_DUE].raised == 1
    [task] = inbox(client, fbe)
    assert task["rule"] == "safety_flag_review_due" and task["dwelling_id"] == str(dwelling_id)
    assert task["tenant_id"] is None


def test_a_tablet_gets_its_users_open_alerts_in_every_pull(
    client: TestClient, clock: Clock
) -> None:
    tablet = Tablet(client, "kari.felt", Service.OUTREACH_TEAM)
    tenant_id = tablet_followed_by(client, tablet)
    clock.now = LATE
    tablet.sign_in()
    assert tablet.pull().json()["alerts"] == []
    run_rules(client)

    first = tablet.pull().json()
    assert list(first)[:2] == ["safety_flags", "flags_through"]  # flags still come first
    [alert] = first["alerts"]
    assert alert["rule"] == "visit_overdue" and alert["tenant_id"] == str(tenant_id)
    assert tablet.pull(cursor=first["cursor"]).json()["alerts"] == [alert]  # whole each time

    done = client.post(
        f"/alerts/{alert['alert_id']}/acknowledgement", json={}, headers=tablet.headers
    )
    assert done.status_code == 201, done.text
    assert tablet.pull(cursor=first["cursor"]).json()["alerts"] == []


def test_a_missing_check_out_alerts_the_lead_at_once_then_the_escalation_list(
    client: TestClient, clock: Clock
) -> None:
    team = Team(client)
    deputy = client.colleague(Service.OUTREACH_TEAM, Role.FIELD_WORKER)
    rt: Runtime = client.app.state.runtime
    rt.alert_thresholds = AlertThresholds(
        check_out_missing=CheckOutMissing(
            grace_minutes=15,
            escalate_after_minutes=10,
            escalation_lists={"tiltaksteamet": (f"u-{deputy.hex}",)},
        )
    )
    dwelling_id = uuid.uuid4()
    fbe = {
        "x-folgja-user": str(client.colleague(Service.PROPERTY_MANAGER)),
        "x-folgja-service": "fbe",
    }
    post(
        client,
        "/dwellings",
        {"dwelling_id": str(dwelling_id), "address": "Testveien 2", "owner": "municipal"},
        fbe,
    )
    check_in_id = uuid.uuid4()
    body = {
        "check_in_id": str(check_in_id),
        "dwelling_id": str(dwelling_id),
        "expected_minutes": 30,
    }
    post(client, "/check-ins", body, team.as_(team.worker))

    clock.advance(minutes=45)  # exactly expected + grace: not yet
    assert run_rules(client)[AlertRule.CHECK_OUT_MISSING].raised == 0
    clock.advance(minutes=1)
    assert run_rules(client)[AlertRule.CHECK_OUT_MISSING].raised == 1
    [alert] = inbox(client, team.as_(team.lead))
    assert alert["rule"] == "check_out_missing" and alert["subject_id"] == str(check_in_id)
    assert alert["dwelling_id"] == str(dwelling_id) and alert["tenant_id"] is None
    assert inbox(client, team.as_(deputy)) == []

    clock.advance(minutes=10)
    assert run_rules(client)[AlertRule.CHECK_OUT_MISSING].escalated == 1
    [told] = inbox(client, team.as_(deputy))
    assert told["your_tier"] == 1

    # The worker checks out: the alert is cleared for everyone.
    out = client.post(f"/check-ins/{check_in_id}/check-out", json={}, headers=team.as_(team.worker))
    assert out.status_code == 201, out.text
    assert run_rules(client)[AlertRule.CHECK_OUT_MISSING].cleared == 1
    assert inbox(client, team.as_(deputy)) == []
    assert inbox(client, team.as_(team.lead)) == []


def test_two_server_processes_running_the_rules_at_once_raise_each_alert_once(
    client: TestClient, database: DatabaseUrl
) -> None:
    """Two processes (`folgja jobs run raise_due_alerts`, by the real clock, long after the
    tenant's visit fell due) race over the same finding: one alert, one event."""
    team = Team(client)
    tenant_id = followed_by(client, team)
    run_rules(client, ())  # the read models have caught up
    env = {**os.environ, "DATABASE_URL": database.url}
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "jobs", "run", "raise_due_alerts"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for racer in racers:
        _, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err.decode()[-2000:]
    rt: Runtime = client.app.state.runtime
    assert client.blocking_portal.call(_raised_events, rt) == 1
    [alert] = inbox(client, team.as_(team.worker))
    assert alert["tenant_id"] == str(tenant_id)
