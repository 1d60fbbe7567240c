"""Event (de)serialisation: typed events survive bytes, old versions are upcast on reading."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, ClassVar

import msgspec
import psycopg
import pytest
from eventsourcing.persistence import JSONTranscoder
from eventsourcing.utils import get_topic

from backend.database import DatabaseUrl
from backend.staff_directory import open_write_model
from domain import tenant as tenants
from domain import visit as visits
from domain.codec import MsgspecMapper, decode_event, encode_state, event_class
from domain.events import Actor, DomainEvent, EventMeta, event_meta
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_commands import AssignResponsibility, RegisterTenant, StartFollowUp
from domain.usecases import UseCases
from domain.visit import FailureReason, Observations, Wellbeing
from domain.visit_commands import CompleteVisit, PlanVisit
from domain.write_model import Records, WriteModel
from tests.staff import enrol_staff

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
OSLO = timezone(timedelta(hours=1))
WORKER = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ACTOR = Actor(user_id=WORKER, service=Service.OUTREACH_TEAM)
META = event_meta(ACTOR, datetime(2026, 3, 6, 14, 0, tzinfo=OSLO), NOW)


def sample_events() -> list[DomainEvent]:
    """One of every event, with UUID, tz-aware datetime, date, enum and nested fields."""
    tenant_id, visit_id = uuid.uuid4(), uuid.uuid4()
    workers = (WORKER, uuid.uuid4())
    common: dict[str, Any] = {"originator_id": tenant_id, "meta": META}
    visit: dict[str, Any] = {"originator_id": visit_id, "meta": META, "tenant_id": tenant_id}
    return [
        tenants.TenantRegistered(
            **common, originator_version=1, full_name="Kari", birth_date=date(1980, 5, 17)
        ),
        tenants.TenantRegistered(**common, originator_version=1, full_name="Ola"),
        tenants.FollowUpStarted(
            **common, originator_version=2, visit_interval_days=14, started_on=date(2026, 3, 1)
        ),
        tenants.ResponsibilityAssigned(
            **common, originator_version=3, service=Service.NAV, contact_worker_id=uuid.uuid4()
        ),
        tenants.FollowUpEnded(
            **common, originator_version=4, ended_on=date(2026, 6, 1), reason="moved"
        ),
        visits.VisitPlanned(
            **visit,
            originator_version=1,
            planned_for=datetime(2026, 3, 7, 10, 0, tzinfo=OSLO),
            worker_ids=workers,
        ),
        visits.VisitCompleted(
            **visit,
            originator_version=2,
            worker_ids=workers,
            observations=Observations(wellbeing=Wellbeing.CRISIS, note="Ring legevakt. «æøå»"),
        ),
        visits.VisitFailed(
            **visit, originator_version=2, worker_ids=workers, reason=FailureReason.REFUSED_ENTRY
        ),
    ]


def roundtrip(event: DomainEvent) -> DomainEvent:
    return decode_event(
        get_topic(type(event)),
        encode_state(event),
        event.originator_id,
        event.originator_version,
    )


@pytest.mark.parametrize("event", sample_events(), ids=lambda e: e.type_name)
def test_every_event_roundtrips_to_an_equal_event(event: DomainEvent) -> None:
    assert roundtrip(event) == event


def test_field_types_survive_not_just_their_text() -> None:
    planned = next(e for e in sample_events() if isinstance(e, visits.VisitPlanned))
    back = roundtrip(planned)
    assert isinstance(back, visits.VisitPlanned)
    assert isinstance(back.tenant_id, uuid.UUID)
    assert all(isinstance(w, uuid.UUID) for w in back.worker_ids)
    assert back.planned_for.utcoffset() == timedelta(hours=1)
    assert back.meta.occurred_at.utcoffset() == timedelta(hours=1)
    assert back.meta.recorded_at.utcoffset() == timedelta(0)

    registered = roundtrip(sample_events()[0])
    assert isinstance(registered, tenants.TenantRegistered)
    # A date stays a date (a datetime would compare unequal and sort differently).
    assert type(registered.birth_date) is date


def test_the_stored_state_is_compact_json_without_the_envelope() -> None:
    event = sample_events()[0]
    state = msgspec.json.decode(encode_state(event))
    assert set(state) == {"meta", "full_name", "birth_date"}
    assert state["birth_date"] == "1980-05-17"
    assert state["meta"]["actor"] == {"user_id": str(WORKER), "service": "tiltaksteamet"}


def test_a_topic_that_is_not_a_domain_event_is_refused() -> None:
    with pytest.raises(TypeError, match="not a domain event"):
        event_class("uuid:UUID")


def test_the_mapper_stores_and_loads_through_the_library_types() -> None:
    mapper = MsgspecMapper(transcoder=JSONTranscoder())
    for event in sample_events():
        stored = mapper.to_stored_event(event)
        assert stored.topic == get_topic(type(event))
        assert stored.originator_id == event.originator_id
        assert mapper.to_domain_event(stored) == event


# --- upcasting ------------------------------------------------------------------------------


class NoteShared(DomainEvent, frozen=True, kw_only=True):
    """A test event at version 2: version 1 had no ``language``."""

    class_version: ClassVar[int] = 2

    text: str
    language: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["language"] = "nb"


class NoteSharedThrice(DomainEvent, frozen=True, kw_only=True):
    """Version 3: v2 added ``language``, v3 renamed ``text`` to ``body``."""

    class_version: ClassVar[int] = 3

    body: str
    language: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["language"] = "nb"

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["body"] = state.pop("text")


def stored_at_v1(text: str, meta: EventMeta = META) -> bytes:
    """Bytes as version 1 wrote them: no ``language``, no ``class_version``."""
    return msgspec.json.encode({"meta": meta, "text": text})


def test_an_event_stored_at_v1_is_upcast_to_v2() -> None:
    note_id = uuid.uuid4()
    decoded = decode_event(get_topic(NoteShared), stored_at_v1("hei"), note_id, 7)
    assert decoded == NoteShared(
        originator_id=note_id, originator_version=7, meta=META, text="hei", language="nb"
    )


def test_an_event_stored_at_v2_is_not_upcast_again() -> None:
    event = NoteShared(
        originator_id=uuid.uuid4(), originator_version=1, meta=META, text="bures", language="se"
    )
    state = encode_state(event)
    assert msgspec.json.decode(state)["class_version"] == 2
    assert roundtrip(event) == event


def test_upcasts_run_in_order_from_the_stored_version() -> None:
    note_id = uuid.uuid4()
    topic = get_topic(NoteSharedThrice)
    from_v1 = decode_event(topic, stored_at_v1("hei"), note_id, 1)
    assert from_v1 == NoteSharedThrice(
        originator_id=note_id, originator_version=1, meta=META, body="hei", language="nb"
    )

    v2_bytes = msgspec.json.encode(
        {"meta": META, "text": "bures", "language": "se", "class_version": 2}
    )
    from_v2 = decode_event(topic, v2_bytes, note_id, 1)
    assert isinstance(from_v2, NoteSharedThrice)
    assert (from_v2.body, from_v2.language) == ("bures", "se")


class NoteSharedWithoutUpcaster(DomainEvent, frozen=True, kw_only=True):
    """Version 2 by mistake: nobody wrote the upcaster."""

    class_version: ClassVar[int] = 2

    text: str


def test_an_older_event_without_an_upcaster_fails_loudly() -> None:
    topic = get_topic(NoteSharedWithoutUpcaster)
    with pytest.raises(AttributeError, match="upcast_v1_v2"):
        decode_event(topic, stored_at_v1("hei"), uuid.uuid4(), 1)


# --- through the real event store -------------------------------------------------------------


@pytest.fixture
def application(database: DatabaseUrl) -> Any:
    """Every area's use cases on the real write model."""
    model = open_write_model(database.eventsourcing_env())
    yield UseCases.of(model)
    model.close()


def fresh_records(database: DatabaseUrl) -> tuple[WriteModel, Records]:
    """A new write model (nothing remembered): its records are read from the store."""
    model = open_write_model(database.eventsourcing_env())
    return model, model.records()


def test_events_saved_in_postgres_load_back_equal(database: DatabaseUrl, application: Any) -> None:
    tenant_id = uuid.uuid4()
    registered = tenants.register(tenant_id, "Kari Nordmann", date(1980, 5, 17), META)
    state = tenants.replay([registered])
    assert state is not None
    started = tenants.start_follow_up(state, 14, date(2026, 3, 1), META)
    state = tenants.evolve(state, started)
    assigned = tenants.assign_responsibility(state, Service.NAV, uuid.uuid4(), META)
    history = [registered, started, assigned]
    application.records.commit(*history)

    reloaded, records = fresh_records(database)  # a fresh reader
    try:
        assert list(reloaded.app.events.get(tenant_id)) == history
        assert records.tenant(tenant_id) == tenants.replay(history)
    finally:
        reloaded.close()


def test_a_tenant_written_by_commands_reloads_with_equal_state(
    database: DatabaseUrl, application: Any
) -> None:
    tenant_id, visit_id, contact = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    enrol_staff(database, [(contact, Service.NAV), (WORKER, Service.OUTREACH_TEAM)])
    register = RegisterTenant(tenant_id=tenant_id, full_name="Kari", birth_date=date(1980, 5, 17))
    application.tenants.register_tenant(register, ACTOR, NOW)
    application.tenants.start_follow_up(
        tenant_id, StartFollowUp(visit_interval_days=14, started_on=date(2026, 3, 1)), ACTOR, NOW
    )
    application.tenants.assign_responsibility(
        tenant_id,
        AssignResponsibility(service=Service.NAV, contact_worker_id=contact),
        ACTOR,
        NOW,
    )
    planned_for = datetime(2026, 3, 7, 10, 0, tzinfo=OSLO)
    application.visits.plan_visit(
        tenant_id,
        PlanVisit(visit_id=visit_id, planned_for=planned_for, worker_ids=[WORKER]),
        ACTOR,
        NOW,
    )
    result = application.visits.complete_visit(
        visit_id,
        CompleteVisit(worker_ids=[WORKER], observations=Observations(wellbeing=Wellbeing.GOOD)),
        ACTOR,
        NOW,
    )
    assert result.position == 5

    reloaded, records = fresh_records(database)
    try:
        tenant = records.tenant(tenant_id)
        visit = records.visit(visit_id)
    finally:
        reloaded.close()
    assert tenant == Tenant(
        id=tenant_id,
        version=3,
        full_name="Kari",
        birth_date=date(1980, 5, 17),
        follow_up=tenants.FollowUp(14, date(2026, 3, 1)),
        responsible_service=Service.NAV,
        contact_worker_id=contact,
    )
    assert tenant == application.records.tenant(tenant_id)
    assert visit == application.records.visit(visit_id)
    assert visit is not None
    assert visit.planned_for == planned_for
    assert visit.planned_for.utcoffset() == timedelta(hours=1)

    # What PostgreSQL holds is the codec's JSON, dates as ISO dates.
    with psycopg.connect(database.url) as conn:
        row = conn.execute(
            "SELECT topic, state FROM folgja_events "
            "WHERE originator_id = %s AND originator_version = 1",
            (tenant_id,),
        ).fetchone()
    assert row is not None
    assert row[0] == get_topic(tenants.TenantRegistered)
    assert msgspec.json.decode(row[1])["birth_date"] == "1980-05-17"
