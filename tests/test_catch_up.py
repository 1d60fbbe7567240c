"""Catching up fast (issue 4): bigger batches while behind, one decode for all projections,
the next stretch read while a batch is written, and the risk model's shortcut for events
no rule looks at.

Real PostgreSQL, the real runner; no timings asserted, only what was read and written.
"""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import textwrap
from collections.abc import Sequence

import asyncpg
import pytest

from domain import risk
from domain.application import FollowUpApplication
from projections import log_reader
from projections import runner as runner_module
from projections.base import PositionedEvent, Projection
from projections.nav_inbox import NavInboxProjection
from projections.risk_timeline import RiskTimelineProjection
from projections.runner import ProjectionRunner
from projections.safety_register import SafetyRegisterProjection
from tests.projection_helpers import (
    Wrapped,
    expected_rows,
    head,
    timeline_rows,
    tracked,
    until,
    write_tenants,
)


@pytest.fixture(autouse=True)
def quick_lock_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "LOCK_RETRY_S", 0.02)


class Batches(Wrapped):
    """Remembers the positions of every batch it applied, batch by batch."""

    def __init__(self, inner: Projection, *, pause_s: float = 0.0) -> None:
        super().__init__(inner)
        self.batches: list[list[int]] = []
        self.pause_s = pause_s

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        await self.inner.apply(conn, events)
        if self.pause_s:
            await asyncio.sleep(self.pause_s)  # a slow projection
        self.batches.append([e.position for e in events])


async def all_at_head(pool: asyncpg.Pool, names: Sequence[str]) -> int:
    async with pool.acquire() as conn:

        async def reached() -> bool:
            top = await head(conn)
            return all([await tracked(conn, name) == top for name in names])

        await until(reached, "every projection at the head")
        return await head(conn)


async def test_batches_grow_while_behind_and_are_small_again_when_live(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    gc_before = gc.get_threshold()
    write_tenants(app, 60)  # 306 events
    projection = Batches(RiskTimelineProjection())
    runner = ProjectionRunner(pool, [projection], batch_size=5, max_batch_size=40)
    await runner.start()
    try:
        top = await all_at_head(pool, [projection.name])
        sizes = [len(b) for b in projection.batches]
        assert sizes[:5] == [5, 10, 20, 40, 40]
        assert [p for b in projection.batches for p in b] == list(range(1, top + 1))
        # Live again: the catch-up's GC thresholds are given back, batches start small.
        assert gc.get_threshold() == gc_before
        seen = len(projection.batches)
        write_tenants(app, 2)  # 11 more events
        top = await all_at_head(pool, [projection.name])
        assert len(projection.batches[seen]) == 5
        assert [p for b in projection.batches for p in b] == list(range(1, top + 1))
    finally:
        await runner.stop()


async def test_the_reader_keeps_only_a_recent_stretch_once_every_projection_is_live(
    app: FollowUpApplication, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_reader, "READER_CACHE_EVENTS", 50)
    write_tenants(app, 60)  # 306 events
    projection = Batches(SafetyRegisterProjection())
    runner = ProjectionRunner(pool, [projection], batch_size=5, max_batch_size=40)
    await runner.start()
    try:
        top = await all_at_head(pool, [projection.name])
        # Catching up it kept up to four of the largest batches; live, only the last 50.
        assert runner.reader.decoded == top > 160
        assert 0 < runner.reader.cached_events <= 50
    finally:
        await runner.stop()


async def test_projections_catching_up_together_decode_the_log_once(
    app: FollowUpApplication, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache far smaller than the log: without pacing, the fast projections would leave
    # it behind and the slow one would read and decode the log a second time.
    monkeypatch.setattr(log_reader, "READER_CACHE_EVENTS", 0)
    monkeypatch.setattr(log_reader, "PACE_WAIT_S", 60.0)
    about = write_tenants(app, 100)  # 510 events
    slow = Batches(RiskTimelineProjection(), pause_s=0.01)
    fast = [Batches(SafetyRegisterProjection()), Batches(NavInboxProjection())]
    runner = ProjectionRunner(pool, [slow, *fast], batch_size=4, max_batch_size=16)
    await runner.start()
    try:
        top = await all_at_head(pool, [p.name for p in (slow, *fast)])
    finally:
        await runner.stop()
    assert runner.reader.decoded == top
    for projection in (slow, *fast):
        assert [p for b in projection.batches for p in b] == list(range(1, top + 1))
    async with pool.acquire() as conn:
        assert await timeline_rows(conn) == await expected_rows(conn, about)


async def test_the_next_stretch_is_read_while_a_batch_is_written(
    app: FollowUpApplication, pool: asyncpg.Pool
) -> None:
    about = write_tenants(app, 60)  # 306 events
    # Slow to write: each batch's pause leaves time to read the next stretch meanwhile.
    projection = Batches(RiskTimelineProjection(), pause_s=0.05)
    runner = ProjectionRunner(pool, [projection], batch_size=5, max_batch_size=40)
    await runner.start()
    try:
        top = await all_at_head(pool, [projection.name])
    finally:
        await runner.stop()
    reader = runner.reader
    # Every full batch but the last started a read ahead, and the next batch came from it.
    assert reader.read_ahead_reads >= len(projection.batches) - 2 > 0
    # Read once, applied once, in order.
    assert reader.decoded == top
    assert [p for b in projection.batches for p in b] == list(range(1, top + 1))
    async with pool.acquire() as conn:
        assert await timeline_rows(conn) == await expected_rows(conn, about)


def test_fold_skips_only_events_that_no_case_of_it_names() -> None:
    tree = ast.parse(textwrap.dedent(inspect.getsource(risk.fold)))
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Name):
            named.add(node.cls.id)
    assert named == {cls.__name__ for cls in risk._FOLDED}
