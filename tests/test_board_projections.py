"""The boards' projections through the real runner: facts in, rows out.

Events are made by the pure domain rules and stored through the real write model; the
real ``ProjectionRunner`` projects them. Each case runs with batches of one event (every
fact in its own transaction, so state is read back from the table) and with one batch
for everything (state kept in memory), and both must give the same rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from domain import concern as concerns
from domain import dwelling as dwellings
from domain import handover as handovers
from domain.application import FollowUpApplication
from domain.concern import ConcernCategory, ConcernOutcome, EscalationReason
from domain.dwelling import DwellingOwner, SafetyFlagKind, SafetyFlagReason
from domain.events import Actor, DomainEvent, EventMeta, event_meta
from domain.handover import HandoverKind, LapseReason
from domain.municipal_services import Service
from domain.nav import (
    NavAnswer,
    NavNotificationAcknowledged,
    NavNotificationAnswered,
    NavNotificationSent,
    NavTrigger,
    NoticeBasis,
)
from projections.base import Projection
from projections.concern_tracker import ConcernTrackerProjection
from projections.handovers import HandoverScheduleProjection
from projections.nav_inbox import NavInboxProjection
from projections.runner import ProjectionRunner
from projections.safety_register import SafetyRegisterProjection
from tests.projection_helpers import head, tracked, until

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SECRET = "Hemmelig fritekst som aldri skal i en tavle"

BATCH_SIZES = pytest.mark.parametrize("batch_size", [1, 500], ids=["one-by-one", "one-batch"])


def meta(hours: float, service: Service = Service.OUTREACH_TEAM) -> EventMeta:
    at = T0 + timedelta(hours=hours)
    return event_meta(Actor(user_id=WORKER, service=service), at, at)


class Story:
    """Folds each new event into its aggregate's state, and keeps the events to store."""

    def __init__(self, evolve: Callable[[Any, Any], Any]) -> None:
        self.evolve = evolve
        self.events: list[DomainEvent] = []
        self.state: dict[uuid.UUID, Any] = {}

    def __call__(self, event: DomainEvent) -> Any:
        self.events.append(event)
        self.state[event.originator_id] = self.evolve(self.state.get(event.originator_id), event)
        return self.state[event.originator_id]


async def project(pool: asyncpg.Pool, projection: Projection, batch_size: int) -> None:
    """Run the real runner until the projection has reached the head of the log."""
    # Exactly this size: one-by-one must stay one event per transaction.
    runner = ProjectionRunner(pool, [projection], batch_size=batch_size, max_batch_size=batch_size)
    await runner.start()
    try:
        async with pool.acquire() as conn:

            async def reached() -> bool:
                return await tracked(conn, projection.name) == await head(conn)

            await until(reached, f"{projection.name} to reach the head of the log")
    finally:
        await runner.stop()


async def table(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(sql, *args)]


async def no_text(conn: asyncpg.Connection, tables: tuple[str, ...], text: str) -> None:
    for name in tables:
        dump = await conn.fetchval(f"SELECT coalesce(string_agg(t::text, '|'), '') FROM {name} t")
        assert text not in dump, name


# --- address safety register ---------------------------------------------------------------


@BATCH_SIZES
async def test_the_register_keeps_active_flags_and_every_change_in_order(
    app: FollowUpApplication, pool: asyncpg.Pool, batch_size: int
) -> None:
    story = Story(dwellings.evolve)
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    owner = DwellingOwner.MUNICIPAL
    flat = story(dwellings.register(a, "Storgata 1", "H0101", "6900", owner, meta(0)))
    other = story(dwellings.register(b, "Elvevegen 4", None, None, owner, meta(0)))
    story(dwellings.register(c, "Ingen flagg 9", None, None, owner, meta(0)))
    flat = story(
        dwellings.set_flag(
            flat,
            SafetyFlagKind.TWO_PERSON,
            SafetyFlagReason.THREATS_VIOLENCE,
            date(2026, 6, 1),
            meta(1),
        )
    )
    other = story(
        dwellings.set_flag(
            other,
            SafetyFlagKind.NO_ENTRY,
            SafetyFlagReason.WEAPONS,
            date(2026, 4, 1),
            meta(2, Service.PROPERTY_MANAGER),
        )
    )
    flat = story(
        dwellings.change_flag(
            flat, SafetyFlagKind.NO_ENTRY, SafetyFlagReason.WEAPONS, date(2026, 5, 1), meta(3)
        )
    )
    flat = story(dwellings.review_flag(flat, date(2026, 9, 1), meta(4)))
    story(dwellings.lift_flag(other, SECRET, meta(5)))
    app.save(*story.events)

    await project(pool, SafetyRegisterProjection(), batch_size)

    async with pool.acquire() as conn:
        active = await table(
            conn,
            "SELECT dwelling_id, address, unit, postcode, kind, reason, review_on, set_by_user, "
            "set_by_service, set_at, changed_at, reviewed_at FROM safety_flags "
            "WHERE kind IS NOT NULL AND lifted_at IS NULL",
        )
        assert active == [
            {
                "dwelling_id": a,
                "address": "Storgata 1",
                "unit": "H0101",
                "postcode": "6900",
                "kind": "no_entry",
                "reason": "weapons",
                "review_on": date(2026, 9, 1),
                "set_by_user": WORKER,
                "set_by_service": "tiltaksteamet",
                "set_at": T0 + timedelta(hours=1),
                "changed_at": T0 + timedelta(hours=3),
                "reviewed_at": T0 + timedelta(hours=4),
            }
        ]
        lifted = await conn.fetchrow("SELECT * FROM safety_flags WHERE dwelling_id = $1", b)
        assert lifted["lifted_at"] == T0 + timedelta(hours=5)
        assert lifted["set_by_service"] == "fbe"
        unflagged = await conn.fetchrow("SELECT * FROM safety_flags WHERE dwelling_id = $1", c)
        assert (unflagged["address"], unflagged["kind"]) == ("Ingen flagg 9", None)

        history = await table(
            conn,
            "SELECT dwelling_id, event_type, kind, reason, review_on, actor_service "
            "FROM safety_flag_history ORDER BY position",
        )
        assert history == [
            {
                "dwelling_id": a,
                "event_type": "SafetyFlagSet",
                "kind": "two_person",
                "reason": "threats_violence",
                "review_on": date(2026, 6, 1),
                "actor_service": "tiltaksteamet",
            },
            {
                "dwelling_id": b,
                "event_type": "SafetyFlagSet",
                "kind": "no_entry",
                "reason": "weapons",
                "review_on": date(2026, 4, 1),
                "actor_service": "fbe",
            },
            {
                "dwelling_id": a,
                "event_type": "SafetyFlagChanged",
                "kind": "no_entry",
                "reason": "weapons",
                "review_on": date(2026, 5, 1),
                "actor_service": "tiltaksteamet",
            },
            {
                "dwelling_id": a,
                "event_type": "SafetyFlagReviewed",
                "kind": "no_entry",
                "reason": "weapons",
                "review_on": date(2026, 9, 1),
                "actor_service": "tiltaksteamet",
            },
            {
                "dwelling_id": b,
                "event_type": "SafetyFlagLifted",
                "kind": "no_entry",
                "reason": "weapons",
                "review_on": None,
                "actor_service": "tiltaksteamet",
            },
        ]
        await no_text(conn, SafetyRegisterProjection.tables, SECRET)


async def test_a_flag_set_again_after_lifting_is_active_with_its_history_kept(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    story = Story(dwellings.evolve)
    d = uuid.uuid4()
    flat = story(dwellings.register(d, "Kaigata 2", None, None, DwellingOwner.MUNICIPAL, meta(0)))
    kind, reason = SafetyFlagKind.TWO_PERSON, SafetyFlagReason.AGGRESSIVE_ANIMAL
    flat = story(dwellings.set_flag(flat, kind, reason, date(2026, 4, 1), meta(1)))
    flat = story(dwellings.lift_flag(flat, "hunden er borte", meta(2)))
    app.save(*story.events)
    await project(pool, SafetyRegisterProjection(), 500)

    # Later, in a new batch: the row is read back, and the new flag replaces the lifted one.
    story.events.clear()
    flat = story(
        dwellings.set_flag(
            flat, SafetyFlagKind.NO_ENTRY, SafetyFlagReason.OTHER, date(2026, 5, 1), meta(3)
        )
    )
    app.save(*story.events)
    await project(pool, SafetyRegisterProjection(), 500)

    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM safety_flags WHERE dwelling_id = $1", d)
        assert (row["kind"], row["lifted_at"], row["set_at"]) == (
            "no_entry",
            None,
            T0 + timedelta(hours=3),
        )
        types = await conn.fetch(
            "SELECT event_type FROM safety_flag_history WHERE dwelling_id = $1 ORDER BY position",
            d,
        )
        assert [r["event_type"] for r in types] == [
            "SafetyFlagSet",
            "SafetyFlagLifted",
            "SafetyFlagSet",
        ]


# --- concern tracker ------------------------------------------------------------------------


@BATCH_SIZES
async def test_the_tracker_follows_each_concern_without_its_texts(
    app: FollowUpApplication, pool: asyncpg.Pool, batch_size: int
) -> None:
    story = Story(concerns.evolve)
    tenant_id, dwelling_id = uuid.uuid4(), uuid.uuid4()
    fbe = Service.PROPERTY_MANAGER
    first, second = uuid.uuid4(), uuid.uuid4()
    one = story(
        concerns.raise_concern(
            first, tenant_id, None, ConcernCategory.HOARDING, SECRET, meta(0, fbe)
        )
    )
    two = story(
        concerns.raise_concern(
            second, None, dwelling_id, ConcernCategory.FIRE_SAFETY, SECRET, meta(1, fbe)
        )
    )
    one = story(concerns.route(one, Service.OUTREACH_TEAM, meta(2, fbe)))
    one = story(
        concerns.escalate(one, EscalationReason.NOT_ACKNOWLEDGED, Service.CARE, meta(5, fbe))
    )
    one = story(concerns.acknowledge(one, meta(7, Service.CARE)))
    one = story(concerns.resolve(one, ConcernOutcome.ACTION_TAKEN, SECRET, meta(9, Service.CARE)))
    two = story(concerns.route(two, Service.OUTREACH_TEAM, meta(3, fbe)))
    two = story(concerns.escalate(two, EscalationReason.NOT_ACKNOWLEDGED, None, meta(8, fbe)))
    app.save(*story.events)

    await project(pool, ConcernTrackerProjection(), batch_size)

    async with pool.acquire() as conn:
        rows = {
            r["concern_id"]: r
            for r in await table(
                conn,
                "SELECT concern_id, tenant_id, dwelling_id, category, status, "
                "raised_by_service, raised_at, routed_to_service, routed_at, acknowledged_at, "
                "resolved_at, outcome, escalations, last_escalated_at, waiting_since, "
                "waiting_ended_at FROM concerns",
            )
        }
        at = {h: T0 + timedelta(hours=h) for h in range(10)}
        assert rows[first] == {
            "concern_id": first,
            "tenant_id": tenant_id,
            "dwelling_id": None,
            "category": "hoarding",
            "status": "resolved",
            "raised_by_service": "fbe",
            "raised_at": at[0],
            "routed_to_service": "omsorg",
            "routed_at": at[5],
            "acknowledged_at": at[7],
            "resolved_at": at[9],
            "outcome": "action_taken",
            "escalations": 1,
            "last_escalated_at": at[5],
            "waiting_since": at[5],  # the escalation routed it on: a new wait
            "waiting_ended_at": at[7],
        }
        assert rows[second] == {
            "concern_id": second,
            "tenant_id": None,
            "dwelling_id": dwelling_id,
            "category": "fire_safety",
            "status": "escalated",
            "raised_by_service": "fbe",
            "raised_at": at[1],
            "routed_to_service": "tiltaksteamet",
            "routed_at": at[3],
            "acknowledged_at": None,
            "resolved_at": None,
            "outcome": None,
            "escalations": 1,
            "last_escalated_at": at[8],
            "waiting_since": at[3],  # escalated in place: still the same wait
            "waiting_ended_at": None,
        }
        await no_text(conn, ConcernTrackerProjection.tables, SECRET)


# --- NAV inbox ------------------------------------------------------------------------------


@BATCH_SIZES
async def test_the_inbox_keeps_the_basis_and_the_answer_kind_never_its_text(
    app: FollowUpApplication, pool: asyncpg.Pool, batch_size: int
) -> None:
    tenant_id, case_id, consent_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    fbe, nav = Service.PROPERTY_MANAGER, Service.NAV
    answered, waiting = uuid.uuid4(), uuid.uuid4()
    common = {"tenant_id": tenant_id, "rent_case_id": case_id}
    app.save(
        NavNotificationSent(
            originator_id=answered,
            originator_version=1,
            meta=meta(0, fbe),
            trigger=NavTrigger.ARREARS_REPORTED,
            basis=NoticeBasis.CONSENT,
            consent_id=consent_id,
            total_owed_nok=8500,
            **common,
        ),
        NavNotificationSent(
            originator_id=waiting,
            originator_version=1,
            meta=meta(1, fbe),
            trigger=NavTrigger.EVICTION_WARNING,
            basis=NoticeBasis.HUSLEIELOVEN_9_11,
            total_owed_nok=17000,
            **common,
        ),
        NavNotificationAcknowledged(
            originator_id=answered, originator_version=2, meta=meta(3, nav), tenant_id=tenant_id
        ),
        NavNotificationAnswered(
            originator_id=answered,
            originator_version=3,
            meta=meta(6, nav),
            tenant_id=tenant_id,
            answer=NavAnswer.OTHER,
            text=SECRET,
        ),
    )

    await project(pool, NavInboxProjection(), batch_size)

    async with pool.acquire() as conn:
        rows = await table(
            conn,
            "SELECT notification_id, trigger, basis, consent_id, total_owed_nok, sent_at, "
            "acknowledged_at, answered_at, answer FROM nav_inbox ORDER BY sent_at",
        )
        assert rows == [
            {
                "notification_id": answered,
                "trigger": "arrears_reported",
                "basis": "consent",
                "consent_id": consent_id,
                "total_owed_nok": 8500,
                "sent_at": T0,
                "acknowledged_at": T0 + timedelta(hours=3),
                "answered_at": T0 + timedelta(hours=6),
                "answer": "other",
            },
            {
                "notification_id": waiting,
                "trigger": "eviction_warning",
                "basis": "husleieloven_9_11",
                "consent_id": None,
                "total_owed_nok": 17000,
                "sent_at": T0 + timedelta(hours=1),
                "acknowledged_at": None,
                "answered_at": None,
                "answer": None,
            },
        ]
        await no_text(conn, NavInboxProjection.tables, SECRET)


# --- handover schedule (the board's table) --------------------------------------------------


@BATCH_SIZES
async def test_the_schedule_records_answers_and_settlements_without_the_decline_reason(
    app: FollowUpApplication, pool: asyncpg.Pool, batch_size: int
) -> None:
    from domain import tenant as tenants

    tenant = tenants.evolve(None, tenants.register(uuid.uuid4(), "Test Beboer", None, meta(0)))
    story = Story(handovers.evolve)
    prison, outreach = Service.CORRECTIONAL_SERVICE, Service.OUTREACH_TEAM
    kind = HandoverKind.RELEASE_FROM_PRISON
    friday, monday = date(2026, 3, 6), date(2026, 3, 9)
    taken, refused = uuid.uuid4(), uuid.uuid4()
    one = story(handovers.announce(taken, tenant, prison, outreach, kind, monday, meta(1, prison)))
    two = story(
        handovers.announce(refused, tenant, prison, outreach, kind, friday, meta(2, prison))
    )
    contact = uuid.uuid4()
    one = story(handovers.accept(one, contact, meta(3, outreach)))
    two = story(handovers.decline(two, SECRET, meta(4, outreach)))
    story(handovers.lapse(two, friday, meta(100)))
    story(handovers.complete(one, monday, meta(170)))
    app.save(*story.events)

    await project(pool, HandoverScheduleProjection(), batch_size)

    async with pool.acquire() as conn:
        rows = {
            r["handover_id"]: r
            for r in await table(
                conn,
                "SELECT handover_id, status, announced_at, accepted_at, declined_at, "
                "contact_worker_id, settled_at, lapse_reason FROM handover_schedule",
            )
        }
        at = {h: T0 + timedelta(hours=h) for h in (1, 2, 3, 4, 100, 170)}
        assert rows[taken] == {
            "handover_id": taken,
            "status": "completed",
            "announced_at": at[1],
            "accepted_at": at[3],
            "declined_at": None,
            "contact_worker_id": contact,
            "settled_at": at[170],
            "lapse_reason": None,
        }
        assert rows[refused] == {
            "handover_id": refused,
            "status": "lapsed",
            "announced_at": at[2],
            "accepted_at": None,
            "declined_at": at[4],
            "contact_worker_id": None,
            "settled_at": at[100],
            "lapse_reason": LapseReason.DECLINED.value,
        }
        await no_text(conn, HandoverScheduleProjection.tables, SECRET)
