"""Lone-worker check-in over the real app (docs/lone-work.md, decision 67)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient

from backend.auth.roles import Role
from domain.municipal_services import Service
from projections.lone_work import open_check_ins_past
from tests.api import OUTREACH, SECOND_WORKER, assert_problem, post, timeline
from tests.api import tenant_in_follow_up as followed_tenant
from tests.conftest import Clock
from tests.rent_api import FBE
from tests.sync_api import settled

IN_THREE_MONTHS = "2026-06-01"


def field_worker(client: TestClient, service: str = "tiltaksteamet") -> dict[str, str]:
    return {
        "x-folgja-user": str(uuid.uuid4()),
        "x-folgja-service": service,
        "x-folgja-role": Role.FIELD_WORKER.value,
    }


def dwelling(client: TestClient, flag: str | None = None) -> uuid.UUID:
    dwelling_id = uuid.uuid4()
    body = {"dwelling_id": str(dwelling_id), "address": "Strandgata 12", "owner": "municipal"}
    post(client, "/dwellings", body, FBE)
    if flag is not None:
        rule = {"kind": flag, "reason": "threats_violence", "review_on": IN_THREE_MONTHS}
        post(client, f"/dwellings/{dwelling_id}/safety-flag", rule, FBE)
    return dwelling_id


def check_in_body(dwelling_id: uuid.UUID, minutes: int = 60, **more: Any) -> dict[str, Any]:
    return {
        "check_in_id": str(uuid.uuid4()),
        "dwelling_id": str(dwelling_id),
        "expected_minutes": minutes,
        **more,
    }


def check_out(client: TestClient, check_in_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/check-ins/{check_in_id}/check-out", json=body, headers=headers)


def my_timeline(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    settled(client)
    response = client.get("/me/timeline", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_worker_checks_in_and_out(client: TestClient, clock: Clock) -> None:
    worker = field_worker(client)
    body = check_in_body(dwelling(client), 45)
    result = post(client, "/check-ins", body, worker)
    assert result["id"] == body["check_in_id"]
    # A retry of the same check-in is answered again, nothing new recorded.
    assert post(client, "/check-ins", body, worker)["position"] == result["position"]

    state = client.get(f"/check-ins/{body['check_in_id']}", headers=worker).json()
    assert state["worker_id"] == worker["x-folgja-user"]
    assert state["service"] == "tiltaksteamet"
    assert state["expected_minutes"] == 45
    assert state["checked_out_at"] is None
    assert state["expected_until"].startswith("2026-03-06T16:15")  # 15:30 UTC + 45 min

    clock.advance(minutes=30)
    out = check_out(client, body["check_in_id"], worker)
    assert out.status_code == 201, out.text
    state = client.get(f"/check-ins/{body['check_in_id']}", headers=worker).json()
    assert state["checked_out_at"].startswith("2026-03-06T16:00")
    assert state["checked_out_by"] == worker["x-folgja-user"]


def test_check_out_twice_is_a_conflict(client: TestClient) -> None:
    worker = field_worker(client)
    body = check_in_body(dwelling(client))
    post(client, "/check-ins", body, worker)
    assert check_out(client, body["check_in_id"], worker).status_code == 201
    again = check_out(client, body["check_in_id"], worker)
    assert_problem(again, 409, "check_in_id", "check_in_open")


def test_a_check_out_before_the_check_in_is_refused(client: TestClient) -> None:
    worker = field_worker(client)
    body = check_in_body(dwelling(client))
    post(client, "/check-ins", body, worker)
    early = check_out(client, body["check_in_id"], worker, occurred_at="2026-03-06T15:00:00Z")
    assert_problem(early, 422, "occurred_at", "not_before_check_in")


def test_another_worker_can_neither_see_nor_close_a_check_in(client: TestClient) -> None:
    worker, other = field_worker(client), field_worker(client)
    body = check_in_body(dwelling(client))
    post(client, "/check-ins", body, worker)
    assert_problem(
        client.get(f"/check-ins/{body['check_in_id']}", headers=other),
        404,
        "check_in_id",
        "must_exist",
    )
    assert_problem(check_out(client, body["check_in_id"], other), 404, "check_in_id", "must_exist")
    # A lead of another service neither.
    care_lead = {"x-folgja-user": str(uuid.uuid4()), "x-folgja-service": "omsorg"}
    assert_problem(
        check_out(client, body["check_in_id"], care_lead), 404, "check_in_id", "must_exist"
    )
    # Still open: the worker closes it.
    assert check_out(client, body["check_in_id"], worker).status_code == 201


def test_a_lead_of_the_workers_service_may_close_it(client: TestClient) -> None:
    worker = field_worker(client)
    body = check_in_body(dwelling(client))
    post(client, "/check-ins", body, worker)
    lead = OUTREACH  # a team lead of tiltaksteamet
    assert client.get(f"/check-ins/{body['check_in_id']}", headers=lead).status_code == 200
    assert check_out(client, body["check_in_id"], lead).status_code == 201
    entries = my_timeline(client, worker)["items"]
    assert entries[0]["summary"] == "Check-out recorded by a team lead"


def test_a_two_person_address_needs_a_real_active_second_worker(client: TestClient) -> None:
    worker = field_worker(client)
    address = dwelling(client, "two_person")
    assert_problem(
        client.post("/check-ins", json=check_in_body(address), headers=worker),
        422,
        "second_worker_id",
        "two_person_address",
    )
    made_up = check_in_body(address, second_worker_id=str(uuid.uuid4()))
    assert_problem(
        client.post("/check-ins", json=made_up, headers=worker),
        422,
        "second_worker_id",
        "known_follow_up_worker",
    )
    myself = check_in_body(address, second_worker_id=worker["x-folgja-user"])
    assert_problem(
        client.post("/check-ins", json=myself, headers=worker), 422, "second_worker_id", "not_self"
    )
    landlord = client.colleague(Service.PROPERTY_MANAGER)
    not_visitor = check_in_body(address, second_worker_id=str(landlord))
    assert_problem(
        client.post("/check-ins", json=not_visitor, headers=worker),
        422,
        "second_worker_id",
        "known_follow_up_worker",
    )
    gone = client.colleague(Service.OUTREACH_TEAM, Role.FIELD_WORKER)
    _deactivate(client, gone)
    inactive = check_in_body(address, second_worker_id=str(gone))
    assert_problem(
        client.post("/check-ins", json=inactive, headers=worker),
        422,
        "second_worker_id",
        "known_follow_up_worker",
    )
    with_colleague = check_in_body(address, second_worker_id=str(SECOND_WORKER))
    assert post(client, "/check-ins", with_colleague, worker)["id"] == with_colleague["check_in_id"]
    # The second worker may see and close it too; the check-in is on both timelines.
    second = {"x-folgja-user": str(SECOND_WORKER), "x-folgja-service": "tiltaksteamet"}
    assert check_out(client, with_colleague["check_in_id"], second).status_code == 201
    mine = [e["event_type"] for e in my_timeline(client, worker)["items"]]
    theirs = [e["event_type"] for e in my_timeline(client, second)["items"]]
    assert mine == theirs == ["CheckedOut", "CheckedIn"]


def test_a_no_entry_address_is_recorded_for_review(client: TestClient) -> None:
    worker = field_worker(client)
    body = check_in_body(dwelling(client, "no_entry"))
    post(client, "/check-ins", body, worker)
    state = client.get(f"/check-ins/{body['check_in_id']}", headers=worker).json()
    assert state["review_reasons"] == ["no_entry_address"]


def test_unknown_and_wrong_kind_ids_are_not_found(client: TestClient) -> None:
    worker = field_worker(client)
    assert_problem(
        client.post("/check-ins", json=check_in_body(uuid.uuid4()), headers=worker),
        404,
        "dwelling_id",
        "must_exist",
    )
    tenant_id = followed_tenant(client)
    wrong_kind = check_in_body(tenant_id)
    assert_problem(
        client.post("/check-ins", json=wrong_kind, headers=OUTREACH),
        404,
        "dwelling_id",
        "must_exist",
    )
    address = dwelling(client)
    assert_problem(
        client.post(
            "/check-ins", json=check_in_body(address, tenant_id=str(address)), headers=OUTREACH
        ),
        404,
        "tenant_id",
        "must_exist",
    )
    assert_problem(check_out(client, str(address), worker), 404, "check_in_id", "must_exist")
    assert_problem(
        client.get(f"/check-ins/{uuid.uuid4()}", headers=worker), 404, "check_in_id", "must_exist"
    )


def test_a_tenant_named_must_be_one_the_worker_follows(client: TestClient) -> None:
    worker = field_worker(client)  # follows nobody
    tenant_id = followed_tenant(client)
    body = check_in_body(dwelling(client), tenant_id=str(tenant_id))
    assert_problem(
        client.post("/check-ins", json=body, headers=worker), 404, "tenant_id", "must_exist"
    )
    assert post(client, "/check-ins", body, OUTREACH)["id"] == body["check_in_id"]


def test_expected_minutes_outside_5_to_720_are_refused(client: TestClient) -> None:
    worker = field_worker(client)
    address = dwelling(client)
    for minutes in (4, 721):
        response = client.post("/check-ins", json=check_in_body(address, minutes), headers=worker)
        assert response.status_code == 422, response.text
        assert "expected_minutes" in response.text
    assert (
        client.post("/check-ins", json=check_in_body(address, 5), headers=worker).status_code == 201
    )
    assert (
        client.post("/check-ins", json=check_in_body(address, 720), headers=worker).status_code
        == 201
    )


def test_check_ins_are_on_the_workers_timeline_not_the_tenants(client: TestClient) -> None:
    tenant_id = followed_tenant(client)
    address = dwelling(client)
    body = check_in_body(address, tenant_id=str(tenant_id))
    position = post(client, "/check-ins", body, OUTREACH)["position"]
    check_out(client, body["check_in_id"], OUTREACH)
    entries = my_timeline(client, OUTREACH, min_position=position)["items"]
    assert [e["event_type"] for e in entries] == ["CheckedOut", "CheckedIn"]
    assert "Checked in for 60 min" in entries[1]["summary"]
    tenant_events = [e["event_type"] for e in timeline(client, tenant_id, position)]
    assert tenant_events  # the tenant's timeline is there ...
    assert not {"CheckedIn", "CheckedOut"} & set(tenant_events)  # ... without check-ins
    # Nobody else's timeline has them.
    assert my_timeline(client, field_worker(client))["items"] == []


def test_the_worker_timeline_is_paged_newest_first(client: TestClient) -> None:
    worker = field_worker(client)
    address = dwelling(client)
    for _ in range(3):
        post(client, "/check-ins", check_in_body(address), worker)
    first = my_timeline(client, worker, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = my_timeline(client, worker, limit=2, cursor=first["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    positions = [e["position"] for e in first["items"] + rest["items"]]
    assert positions == sorted(positions, reverse=True)
    bad = client.get("/me/timeline", params={"cursor": "nonsense"}, headers=worker)
    assert_problem(bad, 422, "cursor", "valid_cursor")


def test_open_check_ins_past_their_time_plus_grace(client: TestClient, clock: Clock) -> None:
    worker = field_worker(client)
    address = dwelling(client)
    overdue = check_in_body(address, 30)
    closed = check_in_body(address, 30)
    post(client, "/check-ins", overdue, worker)
    post(client, "/check-ins", closed, worker)
    check_out(client, closed["check_in_id"], worker)
    settled(client)
    expected = clock() + timedelta(minutes=30)
    grace = timedelta(minutes=15)

    def open_at(now: Any) -> list[Any]:
        async def query() -> list[Any]:
            async with client.app.state.runtime.pool.acquire() as conn:
                return await open_check_ins_past(conn, now, grace)

        return client.blocking_portal.call(query)

    assert open_at(expected + grace - timedelta(seconds=1)) == []
    assert open_at(expected + grace) == []  # at exactly expected + grace: not yet
    late = open_at(expected + grace + timedelta(seconds=1))
    assert [(str(r.check_in_id), str(r.worker_id), r.service) for r in late] == [
        (overdue["check_in_id"], worker["x-folgja-user"], "tiltaksteamet")
    ]
    assert late[0].expected_until == expected
    check_out(client, overdue["check_in_id"], worker)
    settled(client)
    assert open_at(expected + timedelta(hours=5)) == []


def _deactivate(client: TestClient, user_id: uuid.UUID) -> None:
    async def update() -> None:
        async with client.app.state.runtime.pool.acquire() as conn:
            await conn.execute("UPDATE users SET active = false WHERE id = $1", user_id)

    client.blocking_portal.call(update)
