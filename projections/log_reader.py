"""Reading the event log for the projections: each stretch read and decoded once.

Projections that follow the log together (catching up from zero, or woken by the same
NOTIFY) ask for the same stretches; :class:`EventReader` reads and decodes each once and
keeps recent ones for the others. Events are decoded with :func:`domain.codec.decode_event`
(upcasting included), the same decoder as the write model's mapper.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from bisect import bisect_right
from collections import deque

import asyncpg
import msgspec

from domain.codec import decode_event
from projections import events as event_log
from projections.base import PositionedEvent

log = logging.getLogger(__name__)

READER_CACHE_EVENTS = 10_000
# How long a projection ahead waits for a slower one to catch up with it (pacing).
PACE_WAIT_S = 1.0
# GC thresholds while some projection catches up (the defaults are 700, 10, 10).
CATCH_UP_GC_THRESHOLDS = (10_000, 100, 100)


# gc=False: no reference cycles, and the reader keeps tens of thousands while catching up.
class LogItem(msgspec.Struct, frozen=True, gc=False):
    """One row of the log, decoded once: ``event`` or, if it could not be decoded, ``error``."""

    position: int
    topic: str
    event: PositionedEvent | None
    error: str | None = None


def decode_row(row: asyncpg.Record) -> LogItem:
    """A row of :data:`projections.events.SELECT_AFTER`'s columns, in that order."""
    # Unpacked by position: a fifth cheaper than five lookups by name, for every event.
    position, originator_id, originator_version, topic, state = row
    try:
        event = decode_event(topic, state, originator_id, originator_version)
    except Exception as error:
        return LogItem(position, topic, None, f"{type(error).__name__}: {error}")
    return LogItem(position, topic, PositionedEvent(position, event))


class _CatchUpGc:
    """Fewer garbage collections while any projection in this process catches up.

    Catching up keeps tens of thousands of decoded events alive from one batch to the
    next, and they outlive the young generations: with the default thresholds, a full
    collection walks all of them every few batches. Measured on 50,000 events: a third of
    the catch-up's CPU, a twentieth with these thresholds. Events hold no reference
    cycles, so collecting less often only delays freeing other code's cycles a little.
    Process-wide, so counted: the first reader behind raises the thresholds, the last
    one restores them.
    """

    _behind = 0
    _saved: tuple[int, int, int] | None = None

    @classmethod
    def enter(cls) -> None:
        cls._behind += 1
        if cls._behind == 1:
            saved = cls._saved = gc.get_threshold()
            wanted = CATCH_UP_GC_THRESHOLDS
            gc.set_threshold(*(max(saved[n], wanted[n]) for n in range(3)))

    @classmethod
    def leave(cls) -> None:
        cls._behind -= 1
        if cls._behind == 0 and cls._saved is not None:
            gc.set_threshold(*cls._saved)
            cls._saved = None


class _Segment:
    """Every event in (start, end] of the log, in order (positions are gap-free in commit
    order: the event store takes a table lock per insert)."""

    __slots__ = ("end", "items", "positions", "start")

    def __init__(self, start: int, items: list[LogItem]) -> None:
        self.start = start
        self.end = items[-1].position
        self.items = items
        self.positions = [i.position for i in items]


class EventReader:
    """Reads the log in batches and keeps recent decoded stretches for other projections.

    Projections that follow the log together (catching up from zero, or woken by the same
    NOTIFY) ask for the same stretches; only the first asker reads and decodes them.

    Catching up, a fast projection (a board) would run far ahead of a slow one (the risk
    timeline) and leave the cache behind it: the slow one would then read and decode the
    whole log again. So followers that name themselves are *paced* (:meth:`pace`, before
    taking a connection): while one is more than ``lead`` events ahead of the slowest
    follower still catching up, it waits (at most :data:`PACE_WAIT_S` per batch, so a
    stuck follower cannot hold the others up). A follower whose last batch was not full
    is live: never paced, and nobody waits for it.
    """

    def __init__(self, keep_events: int = READER_CACHE_EVENTS, lead: int | None = None) -> None:
        self._keep = keep_events
        # While no follower is catching up, only the recent stretch is worth keeping.
        self._live_keep = min(keep_events, READER_CACHE_EVENTS)
        self._lead = keep_events // 2 if lead is None else lead
        self._segments: deque[_Segment] = deque()
        self._cached = 0
        self._inflight: dict[int, asyncio.Future[list[LogItem]]] = {}
        # Followers catching up, and the end of the stretch each last asked for.
        self._behind: dict[str, int] = {}
        self._moved: asyncio.Event | None = None
        # Where the last read that found fewer events than asked for ended (the head then).
        self._head_seen_at: int | None = None
        self._ahead: set[asyncio.Task[None]] = set()
        self.reads = 0  # database reads, for tests and benchmarks
        self.decoded = 0  # events decoded, likewise
        self.read_ahead_reads = 0  # of those reads, the ones done ahead (read_ahead)

    async def after(
        self, conn: asyncpg.Connection, position: int, limit: int, follower: str | None = None
    ) -> list[LogItem]:
        """Up to ``limit`` events after ``position``, in log order.

        A ``follower`` that gets a full batch counts as catching up (see :meth:`pace`).
        """
        items: list[LogItem] = []
        at = position
        while len(items) < limit:
            cached = self._from_cache(at, limit - len(items))
            if cached:
                items.extend(cached)
                at = cached[-1].position
                continue
            if items and at == self._head_seen_at:
                break  # the last read reached the head of the log: don't ask again
            pending = self._inflight.get(at)
            if pending is not None:
                # Another projection is reading from here: take what it read, from the cache.
                await asyncio.wait([pending])
                if pending.cancelled() or pending.result():
                    continue
                break
            wanted = limit - len(items)
            read = await self._read(conn, at, wanted)
            items.extend(read)
            if len(read) < wanted:
                break
            at = read[-1].position
        if follower is not None:
            if len(items) >= limit:
                self._set_behind(follower, items[-1].position)
            else:
                self.leave(follower)
            self._wake()
        return items

    def leave(self, follower: str) -> None:
        """``follower`` stops (fails, loses its lock, is done): nobody waits for it."""
        if self._behind.pop(follower, None) is not None:
            if not self._behind:
                _CatchUpGc.leave()
                self._trim(self._live_keep)
            self._wake()

    def _set_behind(self, follower: str, position: int) -> None:
        if not self._behind:
            _CatchUpGc.enter()
        self._behind[follower] = position

    def _wake(self) -> None:
        if self._moved is not None:
            self._moved.set()
            self._moved = None

    async def pace(self, follower: str, position: int) -> None:
        """Wait while ``follower``, at ``position``, is too far ahead (see the class)."""
        if follower not in self._behind:
            return
        deadline = asyncio.get_running_loop().time() + PACE_WAIT_S
        while True:
            slowest = min((p for f, p in self._behind.items() if f != follower), default=None)
            if slowest is None or position - slowest <= self._lead:
                return
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            if self._moved is None:
                self._moved = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), remaining)

    def read_ahead(self, pool: asyncpg.Pool, position: int, limit: int) -> None:
        """Start reading up to ``limit`` events after ``position`` in the background.

        For a projection catching up: while it writes a batch (PostgreSQL's work), this
        process reads and decodes the next one (Python's), so the two overlap instead of
        taking turns. Nothing happens if that stretch is cached, being read, or past the
        head as last seen. Whoever then asks for it waits for this read (see
        :meth:`after`); if it fails, they read for themselves.
        """
        if (
            position in self._inflight
            or position == self._head_seen_at
            or self._from_cache(position, 1)
        ):
            return
        future: asyncio.Future[list[LogItem]] = asyncio.get_running_loop().create_future()
        self._inflight[position] = future
        task = asyncio.create_task(self._read_ahead(pool, position, limit, future))
        self._ahead.add(task)
        task.add_done_callback(self._ahead.discard)

    async def _read_ahead(
        self,
        pool: asyncpg.Pool,
        position: int,
        limit: int,
        future: asyncio.Future[list[LogItem]],
    ) -> None:
        try:
            async with pool.acquire() as conn:
                await self._read(conn, position, limit, future)
            self.read_ahead_reads += 1
        except asyncio.CancelledError:
            raise
        except Exception:
            # The asker reads for itself (the future is cancelled); nothing is lost.
            log.debug("reading ahead from %s failed", position, exc_info=True)
        finally:
            if not future.done():
                future.cancel()
            if self._inflight.get(position) is future:
                del self._inflight[position]

    async def close(self) -> None:
        """Stop the reads ahead still running (the runner is stopping)."""
        tasks = list(self._ahead)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _read(
        self,
        conn: asyncpg.Connection,
        position: int,
        limit: int,
        future: asyncio.Future[list[LogItem]] | None = None,
    ) -> list[LogItem]:
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._inflight.setdefault(position, future)
        try:
            rows = await event_log.fetch_after(conn, position, limit)
            self.reads += 1
            self.decoded += len(rows)
            items = [decode_row(r) for r in rows]
            if len(items) < limit:
                self._head_seen_at = items[-1].position if items else position
            else:
                self._head_seen_at = None
            if items:
                self._remember(_Segment(position, items))
            future.set_result(items)
            return items
        finally:
            if not future.done():
                future.cancel()  # whoever waits on it reads for itself
            if self._inflight.get(position) is future:
                del self._inflight[position]

    def _from_cache(self, position: int, limit: int) -> list[LogItem]:
        found: list[LogItem] = []
        at = position
        while len(found) < limit:
            # Newest first: a live follower asks for the last few stretches, and under live
            # load the cache holds thousands of small ones (a scan from the oldest cost a
            # twelfth of the runner's CPU).
            segment = next((s for s in reversed(self._segments) if s.start <= at < s.end), None)
            if segment is None:
                break
            first = bisect_right(segment.positions, at)
            taken = segment.items[first : first + limit - len(found)]
            found.extend(taken)
            at = taken[-1].position
        return found

    def _remember(self, segment: _Segment) -> None:
        self._segments.append(segment)
        self._cached += len(segment.items)
        self._trim(self._keep if self._behind else self._live_keep)

    def _trim(self, keep: int) -> None:
        while self._cached > keep and len(self._segments) > 1:
            self._cached -= len(self._segments.popleft().items)

    @property
    def cached_events(self) -> int:
        """Decoded events kept for other projections (for tests and benchmarks)."""
        return self._cached
