"""Rebuild projections from zero into new tables while the old ones keep serving, then swap.

For each projection:

1. Take the projection's rebuild lock (a session advisory lock: one rebuild at a time;
   a crashed rebuild's lock goes with its session). Drop a stale ``rebuild_<name>``
   schema that a crash left behind; create it afresh with each of the projection's
   tables ``LIKE`` the live one ``INCLUDING ALL`` (indexes renamed to the live names, so
   a later migration and a second rebuild find them), plus its own
   ``projection_tracking`` and ``projection_parked``.
2. Run the projection's normal batch code on a connection whose ``search_path`` is
   ``rebuild_<name>, public``: all projection SQL uses unqualified names, so it writes
   the new tables and the new tracking row, while the event log resolves to ``public``.
   The live runner and every read go on using the old tables meanwhile.
3. Within one batch of the head: ANALYZE the new tables, then swap in ONE transaction:
   take the projection's write lock exclusively (every live batch takes it shared, so
   this waits for an in-flight batch and holds off new ones), catch up to the head,
   drop the old tables, move the new ones into ``public``, set the live tracking row to
   the rebuilt position, replace the live parked rows with the rebuild's, drop the
   rebuild schema and NOTIFY. The live runner's next conditional tracking update fails
   (or its idle recheck reads the new position), and it goes on from there on the new
   tables: no event lost, none applied twice. Waiters are told the new position, which
   is never behind the old one (the swap caught up to the head).

A crash before or during the swap leaves the live tables untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

import asyncpg

from projections import events as event_log
from projections import tracking
from projections.base import Projection
from projections.log_reader import READER_CACHE_EVENTS, EventReader
from projections.runner import CATCH_UP_BATCH, rebuild_key, write_batch, write_key
from projections.tracking import REBUILD_SCHEMA_PREFIX, quote_ident

log = logging.getLogger(__name__)

LIVE_SCHEMA = "public"
SWAP_LOCK_TIMEOUT_MS = 3000
SWAP_ATTEMPTS = 5

Progress = Callable[[str, int, int], None]
"""Called with (projection, position, head) after each batch the rebuild writes."""


class RebuildRefused(Exception):
    """The rebuild cannot start (another one runs, or a table cannot be swapped)."""


def schema_for(projection: str) -> str:
    return REBUILD_SCHEMA_PREFIX + projection


async def rebuild(
    dsn: str,
    projections: Sequence[Projection],
    *,
    batch_size: int = 500,
    max_batch_size: int = CATCH_UP_BATCH,
    progress: Progress | None = None,
) -> dict[str, int | BaseException]:
    """Rebuild ``projections`` side by side (one read and decode of the log for all).

    Batches start at ``batch_size`` and double up to ``max_batch_size`` while far behind;
    the swap writes what is left, at most one ``batch_size``.

    Answers each projection's swapped-in position, or the error that stopped it (the
    others go on; a stopped one's live tables are untouched).
    """
    largest = max(batch_size, max_batch_size)
    # Room for four of the largest batches: the projections are paced to share them.
    reader = EventReader(keep_events=max(READER_CACHE_EVENTS, 4 * largest))
    outcomes = await asyncio.gather(
        *(_rebuild_one(dsn, p, reader, (batch_size, largest), progress) for p in projections),
        return_exceptions=True,
    )
    results: dict[str, int | BaseException] = {}
    for projection, outcome in zip(projections, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        results[projection.name] = outcome
    return results


# (first batch size, largest batch size) of a rebuild's catch-up.
BatchSizes = tuple[int, int]


async def _rebuild_one(
    dsn: str,
    projection: Projection,
    reader: EventReader,
    sizes: BatchSizes,
    progress: Progress | None,
) -> int:
    name = projection.name
    if not getattr(projection, "rebuildable", True):
        raise RebuildRefused(
            f"{name} records deliveries made, which the log cannot give back; not rebuilt"
        )
    schema = schema_for(name)
    conn = await asyncpg.connect(
        dsn,
        server_settings={
            "search_path": f"{quote_ident(schema)}, {LIVE_SCHEMA}",
            "application_name": f"folgja rebuild {name}"[:63],
        },
    )
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", rebuild_key(name)):
            raise RebuildRefused(f"{name}: another rebuild of this projection is running")
        try:
            return await _rebuild_locked(conn, projection, schema, reader, sizes, progress)
        except Exception:
            # Leave nothing half-built behind (a crash can't do this; the next rebuild does).
            with contextlib.suppress(Exception):
                await conn.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE")
            raise
    finally:
        await conn.close()


async def _rebuild_locked(
    conn: asyncpg.Connection,
    projection: Projection,
    schema: str,
    reader: EventReader,
    sizes: BatchSizes,
    progress: Progress | None,
) -> int:
    name = projection.name
    batch_size = sizes[0]
    shapes = await _prepare(conn, projection, schema)
    position = await tracking.ensure_row(conn, name)
    position = await _catch_up(conn, projection, position, reader, sizes, progress)
    for table in projection.tables:
        await conn.execute(f"ANALYZE {quote_ident(schema)}.{quote_ident(table)}")
    for attempt in range(1, SWAP_ATTEMPTS + 1):
        try:
            position = await _swap(conn, projection, schema, shapes, position, reader, batch_size)
            break
        except asyncpg.LockNotAvailableError:
            if attempt == SWAP_ATTEMPTS:
                raise
            log.warning("rebuild %s: swap waited too long for a lock; trying again", name)
            position = await _catch_up(conn, projection, position, reader, sizes, None)
    if progress is not None:
        progress(name, position, position)
    log.info("rebuild %s: swapped in at position %s", name, position)
    return position


async def _catch_up(
    conn: asyncpg.Connection,
    projection: Projection,
    position: int,
    reader: EventReader,
    sizes: BatchSizes,
    progress: Progress | None,
) -> int:
    """Write batches until the rebuild is within one (first-size) batch of the head.

    As the runner catches up: batches double up to the largest size while far behind,
    and the projections rebuilt together are paced so the log is decoded once.
    """
    name = projection.name
    batch_size, largest = sizes
    limit = batch_size
    try:
        while True:
            head = await event_log.head_position(conn)
            if head - position <= batch_size:
                return position
            await reader.pace(name, position)
            items = await reader.after(conn, position, limit, name)
            if not items:
                return position
            position = await write_batch(conn, projection, position, items, announce=False)
            if progress is not None:
                progress(name, position, head)
            limit = min(2 * limit, largest)
    finally:
        reader.leave(name)


async def _prepare(
    conn: asyncpg.Connection, projection: Projection, schema: str
) -> dict[str, list[object]]:
    """A fresh rebuild schema with empty copies of the live tables; answers their shapes."""
    rebuild = quote_ident(schema)
    shapes: dict[str, list[object]] = {}
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {rebuild} CASCADE")
        await conn.execute(f"CREATE SCHEMA {rebuild}")
        for table in projection.tables:
            await _refuse_unswappable(conn, table)
            live = f"{LIVE_SCHEMA}.{quote_ident(table)}"
            await conn.execute(
                f"CREATE TABLE {rebuild}.{quote_ident(table)} (LIKE {live} INCLUDING ALL)"
            )
            await _rename_indexes_like_live(conn, schema, table)
            shapes[table] = await _shape(conn, LIVE_SCHEMA, table)
        for table in ("projection_tracking", "projection_parked"):
            await conn.execute(
                f"CREATE TABLE {rebuild}.{table} (LIKE {LIVE_SCHEMA}.{table} INCLUDING ALL)"
            )
    return shapes


async def _refuse_unswappable(conn: asyncpg.Connection, table: str) -> None:
    """Refuse what a LIKE copy would lose or what would block dropping the old table."""
    live = f"{LIVE_SCHEMA}.{quote_ident(table)}"
    if await conn.fetchval("SELECT to_regclass($1)", live) is None:
        raise RebuildRefused(f"table {table} does not exist (run `folgja migrate`)")
    problems = await conn.fetchrow(
        """
        SELECT
          (SELECT count(*) FROM pg_constraint
           WHERE contype = 'f' AND (conrelid = $1::regclass OR confrelid = $1::regclass))
            AS foreign_keys,
          (SELECT count(*) FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
           WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = $1::regclass
             AND r.ev_class <> $1::regclass) AS views,
          (SELECT count(*) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
           WHERE d.classid = 'pg_class'::regclass AND d.refobjid = $1::regclass
             AND d.deptype = 'a' AND s.relkind = 'S') AS serial_columns,
          (SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal)
            AS triggers
        """,
        live,
    )
    found = [f"{count} {what.replace('_', ' ')}" for what, count in problems.items() if count]
    if found:
        raise RebuildRefused(
            f"table {table} cannot be rebuilt by copy-and-swap ({', '.join(found)}); "
            "projection tables must stand alone (use identity columns, no foreign keys, "
            "views or triggers)"
        )


async def _shape(conn: asyncpg.Connection, schema: str, table: str) -> list[object]:
    """Columns and indexes, by definition (names of indexes left out)."""
    columns = await conn.fetch(
        """
        SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
        FROM pg_attribute
        WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
        ORDER BY attnum
        """,
        f"{quote_ident(schema)}.{quote_ident(table)}",
    )
    indexes = sorted(s for _, s in await _index_signatures(conn, schema, table))
    return [[tuple(c) for c in columns], indexes]


async def _index_signatures(
    conn: asyncpg.Connection, schema: str, table: str
) -> list[tuple[str, tuple[bool, bool, str]]]:
    rows = await conn.fetch(
        """
        SELECT i.relname AS name, x.indisprimary, x.indisunique,
               pg_get_indexdef(x.indexrelid) AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = $1::regclass
        ORDER BY i.relname
        """,
        f"{quote_ident(schema)}.{quote_ident(table)}",
    )
    return [
        (
            r["name"],
            (r["indisprimary"], r["indisunique"], r["definition"].partition(" USING ")[2]),
        )
        for r in rows
    ]


async def _rename_indexes_like_live(conn: asyncpg.Connection, schema: str, table: str) -> None:
    """Give the copy's indexes (and so their constraints) the live table's index names.

    ``LIKE ... INCLUDING ALL`` generates names; after the swap they would differ from the
    names migrations created, and a later migration naming an index would fail.
    """
    live = await _index_signatures(conn, LIVE_SCHEMA, table)
    copy = await _index_signatures(conn, schema, table)
    unused = list(live)
    renames: list[tuple[str, str]] = []
    for name, signature in copy:
        match = next((lv for lv in unused if lv[1] == signature), None)
        if match is None:
            continue
        unused.remove(match)
        if match[0] != name:
            renames.append((name, match[0]))
    # Through temporary names, in case a generated name is another index's live name.
    for n, (generated, _) in enumerate(renames):
        await conn.execute(
            f"ALTER INDEX {quote_ident(schema)}.{quote_ident(generated)} "
            f"RENAME TO {quote_ident(f'folgja_rebuild_tmp_{n}')}"
        )
    for n, (_, wanted) in enumerate(renames):
        await conn.execute(
            f"ALTER INDEX {quote_ident(schema)}.{quote_ident(f'folgja_rebuild_tmp_{n}')} "
            f"RENAME TO {quote_ident(wanted)}"
        )


async def _swap(
    conn: asyncpg.Connection,
    projection: Projection,
    schema: str,
    shapes: dict[str, list[object]],
    position: int,
    reader: EventReader,
    batch_size: int,
) -> int:
    """Catch up to the head and put the new tables in place of the old, atomically."""
    name = projection.name
    rebuild = quote_ident(schema)
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = {SWAP_LOCK_TIMEOUT_MS}")
        # Waits for the live runner's in-flight batch; holds off its next one until commit.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", write_key(name))
        head = await event_log.head_position(conn)
        while position < head:
            items = await reader.after(conn, position, batch_size)
            if not items:
                break
            position = await write_batch(conn, projection, position, items, announce=False)
        for table in projection.tables:
            await conn.execute(f"LOCK TABLE {LIVE_SCHEMA}.{quote_ident(table)}")
            if await _shape(conn, LIVE_SCHEMA, table) != shapes[table]:
                raise RebuildRefused(
                    f"table {table} changed during the rebuild (a migration?); "
                    "live tables untouched, run the rebuild again"
                )
        for table in projection.tables:
            await conn.execute(f"DROP TABLE {LIVE_SCHEMA}.{quote_ident(table)}")
            await conn.execute(f"ALTER TABLE {rebuild}.{quote_ident(table)} SET SCHEMA public")
        await conn.execute(
            f"""
            INSERT INTO {LIVE_SCHEMA}.projection_tracking (projection, position)
            VALUES ($1, $2)
            ON CONFLICT (projection)
            DO UPDATE SET position = EXCLUDED.position, updated_at = now()
            """,
            name,
            position,
        )
        await conn.execute(
            f"DELETE FROM {LIVE_SCHEMA}.projection_parked WHERE projection = $1", name
        )
        await conn.execute(
            f"""
            INSERT INTO {LIVE_SCHEMA}.projection_parked
                (projection, position, topic, error, parked_at)
            SELECT projection, position, topic, error, parked_at
            FROM {rebuild}.projection_parked WHERE projection = $1
            """,
            name,
        )
        await conn.execute(f"DROP SCHEMA {rebuild} CASCADE")
        # On commit: wake the live runner, and tell waiters the (never lower) new position.
        await conn.execute(f"NOTIFY {event_log.EVENTS_CHANNEL}")
        await tracking.announce_position(conn, name, position)
    return position
