"""The floor: a bare Litestar app, served exactly as the product is, doing the least a
completion or a cheap read could do.

* ``POST /visits/{visit_id}/completion`` decodes the same body into the product's own
  ``domain.visit_commands.CompleteVisit`` (the same msgspec validation), INSERTs one row shaped
  like an event (uuid, version, topic, the encoded body) through an asyncpg pool and
  answers 201 ``{"id", "position"}`` like the product. No authentication, no aggregate,
  no event store, no projections.
* ``GET /floor/{row_id}`` answers a small JSON object from one ``SELECT`` by primary key:
  the bare counterpart of a cheap authenticated GET (``GET /auth/me``: one token lookup).
* ``GET /ready`` for the bench's start-up check.

The pool is the product's request pool (``backend.database.request_pool``: same size,
same release), so the floor differs from the product only in what a request does. The
bench serves ``bench.floor:app_from_env`` with the same server command, worker count and
event loop as the product (bench/stack.py), metered the same way (CPU of the server's
process tree per request). See docs/benchmarks.md.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import asyncpg
import msgspec
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from backend.database import request_pool
from domain.visit_commands import CompleteVisit

TABLE = "bench_floor_rows"
DDL = f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        originator_id uuid NOT NULL,
        originator_version bigint NOT NULL,
        topic text NOT NULL,
        state bytea NOT NULL,
        notification_id bigserial,
        PRIMARY KEY (originator_id, originator_version)
    );
    CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_notification_id_idx
        ON {TABLE} (notification_id ASC);
"""
INSERT = (
    f"INSERT INTO {TABLE} (originator_id, originator_version, topic, state) "
    "VALUES ($1, 1, $2, $3) RETURNING notification_id"
)
SELECT = f"SELECT notification_id, topic FROM {TABLE} WHERE originator_id = $1"
TOPIC = "domain.visit:VisitCompleted"
# The row the GET reads (made at start-up).
KNOWN = UUID("00000000-0000-4000-8000-00000000f100")

_encode = msgspec.json.Encoder().encode


class Created(msgspec.Struct, frozen=True):
    id: UUID
    position: int


class Found(msgspec.Struct, frozen=True):
    id: UUID
    position: int
    topic: str


def _pool(state: State) -> asyncpg.Pool:
    pool: asyncpg.Pool = state.pool
    return pool


@post("/visits/{visit_id:uuid}/completion", status_code=201)
async def complete(visit_id: UUID, data: CompleteVisit, state: State) -> Created:
    async with _pool(state).acquire() as conn:
        position = await conn.fetchval(INSERT, visit_id, TOPIC, _encode(data))
    return Created(visit_id, position)


@get("/floor/{row_id:uuid}")
async def read(row_id: UUID, state: State) -> Found:
    async with _pool(state).acquire() as conn:
        row = await conn.fetchrow(SELECT, row_id)
    if row is None:
        raise NotFoundException()
    return Found(row_id, row["notification_id"], row["topic"])


@get("/ready")
async def ready(state: State) -> dict[str, str]:
    async with _pool(state).acquire() as conn:
        await conn.fetchval("SELECT 1")
    return {"status": "ready"}


def create_app(database_url: str) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = await request_pool(database_url)
        async with pool.acquire() as conn, conn.transaction():
            # Several workers start at once: one creates the table, the others wait.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", TABLE)
            await conn.execute(DDL)
            await conn.execute(
                f"INSERT INTO {TABLE} (originator_id, originator_version, topic, state) "
                "VALUES ($1, 1, $2, '') ON CONFLICT DO NOTHING",
                KNOWN,
                TOPIC,
            )
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Litestar(
        route_handlers=[complete, read, ready],
        lifespan=[lifespan],
        openapi_config=None,
        logging_config=None,
    )


def app_from_env() -> Litestar:
    """Factory for the ASGI server (``bench.floor:app_from_env``), like the product's."""
    return create_app(os.environ["DATABASE_URL"])
