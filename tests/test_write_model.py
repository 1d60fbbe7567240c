"""The write model keeps recent states and reads only newer events: it must never differ
from a replay from the first event, whoever wrote in between and however old the events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from backend.database import DatabaseUrl
from backend.staff_directory import open_write_model
from domain import tenant as tenants
from domain import visit
from domain.application import FollowUpApplication
from domain.events import Actor, DomainEvent, event_meta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.write_model import WriteModel

NOW = datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
META = event_meta(Actor(user_id=uuid.uuid4(), service=Service.OUTREACH_TEAM), None, NOW)


def _history(tenant_id: uuid.UUID, changes: int) -> list[DomainEvent]:
    """A tenant registered, followed up, and given a new contact ``changes`` times."""
    registered = tenants.register(tenant_id, "Test Beboer", date(1980, 5, 17), META)
    state = tenants.evolve(None, registered)
    events: list[DomainEvent] = [registered]
    started = tenants.start_follow_up(state, 14, date(2026, 3, 1), META)
    state = tenants.evolve(state, started)
    events.append(started)
    for _ in range(changes):
        assigned = tenants.assign_responsibility(state, Service.OUTREACH_TEAM, uuid.uuid4(), META)
        state = tenants.evolve(state, assigned)
        events.append(assigned)
    return events


def _fresh(database: DatabaseUrl) -> WriteModel:
    return open_write_model(database.eventsourcing_env())


def test_a_remembered_state_plus_newer_events_equals_a_replay_from_zero(
    database: DatabaseUrl,
) -> None:
    tenant_id = uuid.uuid4()
    history = _history(tenant_id, 40)
    serving, other_process = _fresh(database), _fresh(database)
    try:
        serving.commit(*history[:10])
        assert serving.load(tenants.KIND, tenant_id) == tenants.replay(history[:10])
        # Another process writes on; this one must see it, reading only what is new.
        other_process.commit(*history[10:25])
        serving.commit(*history[25:])
        remembered = serving.load(tenants.KIND, tenant_id)
        from_zero = _fresh(database)
        try:
            assert remembered == from_zero.load(tenants.KIND, tenant_id)
        finally:
            from_zero.close()
        assert remembered == tenants.replay(history)
        assert remembered is not None and remembered.version == len(history)
    finally:
        serving.close()
        other_process.close()


def test_a_model_that_remembers_nothing_gives_the_same_state(database: DatabaseUrl) -> None:
    tenant_id = uuid.uuid4()
    model, remembering_nothing = _fresh(database), _fresh(database)
    try:
        model.commit(*_history(tenant_id, 5))
        remembered = model.load(tenants.KIND, tenant_id)
        assert remembering_nothing.load(tenants.KIND, tenant_id) == remembered
    finally:
        model.close()
        remembering_nothing.close()


def test_a_remembered_record_is_still_no_record_of_another_kind(database: DatabaseUrl) -> None:
    tenant_id = uuid.uuid4()
    model = _fresh(database)
    try:
        model.commit(*_history(tenant_id, 1))
        assert model.load(tenants.KIND, tenant_id) is not None  # now remembered

        assert model.load(visit.KIND, tenant_id) is None
    finally:
        model.close()


# --- an upcast event loads, from zero and on top of a remembered state ----------------------


class NoteStarted(DomainEvent, frozen=True, kw_only=True):
    text: str


class NoteAmended(DomainEvent, frozen=True, kw_only=True):
    """Version 2: version 1 had no ``language``."""

    class_version: ClassVar[int] = 2

    text: str
    language: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["language"] = "nb"


class Note(msgspec.Struct, frozen=True):
    text: str
    language: str
    version: int


def _evolve(state: Note | None, event: Any) -> Note:
    if isinstance(event, NoteStarted):
        return Note(event.text, "nb", event.originator_version)
    assert state is not None
    return Note(event.text, event.language, event.originator_version)


NOTE = Kind("note", NoteStarted, _evolve)


def _stored_at_v1(note_id: uuid.UUID, version: int, text: str) -> StoredEvent:
    """NoteAmended as version 1 wrote it: no ``language``, no ``class_version``."""
    return StoredEvent(
        originator_id=note_id,
        originator_version=version,
        topic=get_topic(NoteAmended),
        state=msgspec.json.encode({"meta": META, "text": text}),
    )


def test_an_upcast_event_loads_from_zero_and_on_a_remembered_state(
    database: DatabaseUrl,
) -> None:
    note_id = uuid.uuid4()
    model = _fresh(database)
    try:
        model.commit(NoteStarted(originator_id=note_id, originator_version=1, meta=META, text="a"))
        assert model.load(NOTE, note_id) == Note("a", "nb", 1)  # remembered at version 1
        model.app.recorder.insert_events([_stored_at_v1(note_id, 2, "b")])
        assert model.load(NOTE, note_id) == Note("b", "nb", 2)  # upcast, read on top
        amended = NoteAmended(
            originator_id=note_id, originator_version=3, meta=META, text="c", language="se"
        )
        model.commit(amended)
        assert model.load(NOTE, note_id) == Note("c", "se", 3)
        from_zero = _fresh(database)
        try:
            assert from_zero.load(NOTE, note_id) == Note("c", "se", 3)
        finally:
            from_zero.close()
    finally:
        model.close()


def test_compression_the_projections_could_not_read_is_refused(database: DatabaseUrl) -> None:
    env = {
        **database.eventsourcing_env(),
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
    }
    with pytest.raises(ValueError, match="COMPRESSOR_TOPIC"):
        FollowUpApplication(env)


def test_several_records_load_at_once_as_each_would_alone(database: DatabaseUrl) -> None:
    remembered, fresh, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    serving, other_process = _fresh(database), _fresh(database)
    try:
        serving.commit(*_history(remembered, 3))
        serving.load(tenants.KIND, remembered)  # now remembered at version 5
        more = _history(remembered, 6)[5:]
        other_process.commit(*more)  # written behind the serving model's back
        serving.commit(*_history(fresh, 2))
        planned = visit.plan(
            uuid.uuid4(),
            tenants.replay(_history(fresh, 2)),  # type: ignore[arg-type]
            NOW,
            [uuid.uuid4()],
            META,
        )
        serving.commit(planned)
        ids = [remembered, fresh, unknown, planned.originator_id]
        together = serving.load_many(tenants.KIND, ids)
        replayer = _fresh(database)
        alone = [replayer.load(tenants.KIND, i) for i in ids]
        replayer.close()
        assert together == alone
        assert together[0] == tenants.replay(_history(remembered, 3) + more)
        assert together[2] is None and together[3] is None  # no record; a visit, no tenant
    finally:
        serving.close()
        other_process.close()
