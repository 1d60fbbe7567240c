"""The event store on PostgreSQL: ordered positions, visible in order, and optimistic
concurrency."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import psycopg
import pytest

from domain import tenant as tenants
from domain.errors import ConcurrentChange
from domain.events import Actor, EventMeta
from domain.municipal_services import Service
from domain.tenant_commands import RegisterTenant
from domain.usecases import UseCases
from domain.write_model import CommandResult, WriteModel

NOW = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)
ACTOR = Actor(uuid.UUID("00000000-0000-4000-8000-0000000000aa"), Service.OUTREACH_TEAM)
META = EventMeta(actor=ACTOR, occurred_at=NOW, recorded_at=NOW)


def test_a_second_write_at_the_same_version_is_a_concurrent_change(write_model):
    tenant = write_model.load(tenants.KIND, _registered(write_model).id)
    first = tenants.start_follow_up(tenant, 14, date(2026, 3, 1), META)
    second = tenants.start_follow_up(tenant, 7, date(2026, 3, 1), META)
    write_model.commit(first)
    with pytest.raises(ConcurrentChange):
        write_model.commit(second)
    assert write_model.load(tenants.KIND, tenant.id).follow_up.visit_interval_days == 14


def test_concurrent_writers_get_gap_free_increasing_positions(write_model):
    positions: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        for _ in range(n):
            result = _registered(write_model)
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


def _registered(write_model: WriteModel) -> CommandResult:
    """A new tenant, registered through the use case (one request's records, this thread)."""
    return UseCases.of(write_model).tenants.register_tenant(_register(), ACTOR, NOW)


# --- positions become visible in order (decision 22) -----------------------------------------
#
# A reader that follows the log by position (the projection runner reads "after the last
# position I have") must never see position N while a smaller position is still to come:
# it would skip it for ever. es_insert_events_uuid takes an EXCLUSIVE lock on the table,
# so a writer that has taken positions holds every other writer off until it commits.
# The tests below run writers through the library (the real insert function) and one
# writer that keeps its transaction open after inserting, until either another writer is
# waiting for the table lock or a reader has seen a later position, and then commits.

THE_LOCK = "LOCK TABLE folgja_events IN EXCLUSIVE MODE;"
INSERT_FUNCTION = "es_insert_events_uuid(stored_event_uuid[])"
# Only a guard against a hang: the slow writer's condition is met at once either way.
GIVE_UP_S = 20.0


class LogWatcher(threading.Thread):
    """Polls every position in the log; ``late`` lists those that appeared below one
    already seen (a gap filled later)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.seen: set[int] = set()
        self.high = 0
        self.late: list[int] = []
        self.polls = 0
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while True:
                last = self.done.is_set()  # one more poll after the writers are done
                rows = conn.execute("SELECT notification_id FROM folgja_events").fetchall()
                now_seen = {position for (position,) in rows}
                self.late.extend(sorted(p for p in now_seen - self.seen if p < self.high))
                self.seen |= now_seen
                self.high = max(self.seen, default=0)
                self.polls += 1
                if last:
                    return


def _slow_write(url: str, watcher: LogWatcher, fast_write: Callable[[], None]) -> str:
    """Insert one event and keep the transaction open while another writer writes;
    commit once that writer waits for the table lock ("waited") or the reader has seen a
    later position ("overtaken")."""
    with (
        psycopg.connect(url) as conn,  # a transaction, not autocommit: held open below
        psycopg.connect(url, autocommit=True) as observer,
    ):
        (position,) = conn.execute(
            "SELECT * FROM es_insert_events_uuid(ARRAY[ROW(%s::uuid, 1, 'tests:Probe', "
            "'\\x00'::bytea)::stored_event_uuid])",
            (uuid.uuid4(),),
        ).fetchone()
        other = threading.Thread(target=fast_write)
        other.start()
        outcome = "gave up"
        deadline = time.monotonic() + GIVE_UP_S
        while time.monotonic() < deadline:
            if watcher.high > position:
                outcome = "overtaken"
                break
            (waiting,) = observer.execute(
                "SELECT count(*) FROM pg_locks "
                "WHERE relation = 'folgja_events'::regclass AND NOT granted"
            ).fetchone()
            if waiting:
                outcome = "waited"
                break
            time.sleep(0.005)
        conn.commit()
        other.join()
        return outcome


def _race(write_model, database, rounds: int = 3) -> tuple[LogWatcher, list[str], list[int]]:
    """Library writers in four threads and ``rounds`` slow writers, watched by a reader."""
    positions: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        for _ in range(n):
            result = _registered(write_model)
            with lock:
                positions.append(result.position)

    watcher = LogWatcher(database.url)
    watcher.start()
    writers = [threading.Thread(target=write, args=(25,)) for _ in range(4)]
    for writer in writers:
        writer.start()
    outcomes = [_slow_write(database.url, watcher, lambda: write(1)) for _ in range(rounds)]
    for writer in writers:
        writer.join()
    watcher.done.set()
    watcher.join()
    return watcher, outcomes, positions


def test_a_reader_never_sees_a_position_before_a_smaller_one(write_model, database):
    watcher, outcomes, positions = _race(write_model, database)
    assert watcher.late == []
    assert outcomes == ["waited"] * len(outcomes)  # the other writer waited for the lock
    expected = len(positions) + len(outcomes)
    assert sorted(watcher.seen) == list(range(1, expected + 1))


def test_without_the_table_lock_the_reader_sees_a_gap_filled_later(write_model, database):
    """The detector above works: with the lock taken out of the insert function (in this
    test's own database), a later position commits first and the reader sees the gap."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        (definition,) = conn.execute(
            "SELECT pg_get_functiondef(%s::regprocedure)", (INSERT_FUNCTION,)
        ).fetchone()
        assert definition.count(THE_LOCK) == 1
        conn.execute(definition.replace(THE_LOCK, ""))
    watcher, outcomes, _ = _race(write_model, database)
    assert "overtaken" in outcomes
    assert watcher.late != []
