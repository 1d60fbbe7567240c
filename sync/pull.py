"""Pull: safety flags first, then purges, then the device's tenants, page by page.

A device's *scope* is the tenants its user follows as contact worker, in active follow-up
(the caseload read model), each confirmed against the write model's need-to-know view.
What the device holds is known only from what it acknowledged: a page's tenants count as
held once the device presents the cursor that came with the page (it stores the page and
the cursor together). So a lost response, or a device killed before storing a page, costs
a repeated page, never a missing tenant.

A pull cycle is fixed at a position of the read models (``target``); its pages send, in
tenant id order, every tenant in scope the device does not hold and every held tenant
with a change after the previous cycle's position (``base``). A tenant changed during the
cycle is sent again in the next one. Held tenants that left the scope are purged: asked
in every pull until the device says it has purged them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import asyncpg
import msgspec

from domain import tenant as tenants
from domain.errors import InvalidValue
from domain.tenant import Tenant
from domain.write_model import WriteModel
from projections import events, tablet_parts
from sync.protocol import (
    CHANGES_MAX_ENTRIES,
    CHECKSUM_PREFIX,
    HISTORY_DAYS,
    HISTORY_MAX_ENTRIES,
    MAX_ALERTS,
    PROTOCOL_VERSION,
    AlertRecord,
    PullRequest,
    PullResponse,
    SafetyFlagRecord,
    TenantRecord,
)
from sync.push import clock_skew_s

CURSOR_PREFIX = "v1."
# The read models a tenant's record is made from: a cycle's position is where all have got.
SOURCES = ("caseload", "risk_timeline", "concern_tracker")
FLAGS_SOURCE = "safety_register"


class Puller(msgspec.Struct, frozen=True, kw_only=True):
    device_id: UUID
    user_id: UUID
    now: datetime


class Viewer(Protocol):
    """What the backend's access policy says of one tenant for the device's user."""

    def follows(self, tenant: Tenant) -> bool:
        """Whether the user follows the tenant (holds the full view) as of now."""
        ...

    def present(self, tenant: Tenant) -> dict[str, Any]:
        """The tenant's fields the user's view allows."""
        ...


class _Cursor(msgspec.Struct, frozen=True):
    cursor_id: UUID
    base: int
    target: int | None
    after: UUID | None
    issued_at: datetime


def encode_cursor(cursor_id: UUID) -> str:
    return CURSOR_PREFIX + cursor_id.hex


def _cursor_id(cursor: str) -> UUID:
    try:
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError(cursor)
        return UUID(hex=cursor.removeprefix(CURSOR_PREFIX))
    except ValueError:
        raise InvalidValue(
            "cursor", "valid_cursor", "the cursor is not one this server hands out"
        ) from None


async def pull(
    pool: asyncpg.Pool,
    model: WriteModel,
    viewer: Viewer,
    puller: Puller,
    request: PullRequest,
    on_page: Callable[[list[UUID]], None] = lambda shown: None,
) -> PullResponse:
    """The response. ``on_page`` is told the tenants a page shows as soon as the page is
    read, before its answer is built (the access log begins its write then).

    A pull with nothing new is one statement (one round trip, :data:`_PULL_STATE`): what
    the request acknowledges, the flags, the scope and the purges, in one snapshot and
    atomic. What a pull writes is bookkeeping the device's next request re-establishes, so
    its commits do not wait for the disk (decision 62).
    """
    async with pool.acquire() as conn:
        if request.purged:
            await _check_purged(conn, puller, request.purged)
        state = await _pull_state(conn, puller, request)
        if _damaged(request, state):
            await _ask_resync(conn, puller)
            return _resync(request, state, puller)
        cursor = state.cursor
        base = 0 if cursor is None else cursor.base
        target, after = state.target, None
        if cursor is not None and cursor.target is not None:
            target, after = cursor.target, cursor.after
        candidates = sorted(
            t
            for t, (held, changed) in state.scope.items()
            if (not held or changed) and (after is None or t > after) and t not in state.purge
        )
        page = _Page(
            ids=candidates[: request.limit],
            has_more=len(candidates) > request.limit,
            presented=cursor,
            base=base,
            target=target,
        )
        if not page.ids:
            next_cursor = await _next_cursor(conn, puller, page, [])
            return _response(state, puller, [], next_cursor, page)
    records, next_cursor = await _send_page(pool, model, viewer, puller, page, state.scope, on_page)
    return _response(state, puller, records, next_cursor, page)


class _Page(msgspec.Struct, frozen=True, kw_only=True):
    """The tenants a pull sends, and where its cycle stands."""

    ids: list[UUID]
    has_more: bool
    presented: _Cursor | None  # the cursor the request presented
    base: int
    target: int

    @property
    def in_cycle(self) -> bool:
        return self.presented is not None and self.presented.target is not None


def _response(
    state: _PullState,
    puller: Puller,
    records: list[TenantRecord],
    next_cursor: UUID,
    page: _Page,
) -> PullResponse:
    return PullResponse(
        protocol=PROTOCOL_VERSION,
        safety_flags=state.flags,
        flags_through=state.flags_through,
        alerts=state.alerts,
        decided_through=state.decided_through,
        purge=sorted(state.purge),
        tenants=records,
        cursor=encode_cursor(next_cursor),
        has_more=page.has_more,
        server_time=puller.now,
    )


async def _send_page(
    pool: asyncpg.Pool,
    model: WriteModel,
    viewer: Viewer,
    puller: Puller,
    page: _Page,
    scope: dict[UUID, tuple[bool, bool]],
    on_page: Callable[[list[UUID]], None],
) -> tuple[list[TenantRecord], UUID]:
    """The page's records and the cursor that comes with them.

    The tenants' states (the write model's, brought up to date with the events stored
    since) and their parts (the read models) are read at the same time, each on its own
    connection: a page's wall time is the slower of the two, not their sum. Neither task
    holds a connection while it waits for another (a request that did could wedge a
    worker whose pool is all held so).
    """

    async def states_and_cursor() -> tuple[list[Tenant], UUID]:
        held = model.held(page.ids)
        async with pool.acquire() as conn:
            stored = await events.records_events_after(conn, held.after())
            loaded = model.fold_many(tenants.KIND, held, stored)
            # The caseload may lag the write model by a moment: only who follows now.
            states = [t for t in loaded if t is not None and viewer.follows(t)]
            return states, await _next_cursor(conn, puller, page, states)

    async def parts() -> dict[UUID, tablet_parts.TenantParts]:
        async with pool.acquire() as conn:
            return await tablet_parts.tenant_parts(
                conn,
                page.ids,
                new=[not scope[t][0] for t in page.ids],
                history_since=puller.now - timedelta(HISTORY_DAYS),
                history_cap=HISTORY_MAX_ENTRIES,
                changed_after=page.base,
                changes_cap=CHANGES_MAX_ENTRIES,
            )

    (states, next_cursor), parts_of = await asyncio.gather(states_and_cursor(), parts())
    if states:
        on_page([t.id for t in states])
    return [_record(viewer, tenant, parts_of[tenant.id]) for tenant in states], next_cursor


def _record(viewer: Viewer, tenant: Tenant, part: tablet_parts.TenantParts) -> TenantRecord:
    return TenantRecord(
        tenant_id=tenant.id,
        version=tenant.version,
        state=viewer.present(tenant),
        address=part.address,
        safety_flag=part.safety_flag,
        visit_due_at=part.visit_due_at,
        planned_visits=_json(part.planned_visits),
        open_concerns=_json(part.open_concerns),
        timeline=_json(part.timeline),
        timeline_complete=not part.timeline_cut,
    )


async def _next_cursor(
    conn: asyncpg.Connection, puller: Puller, page: _Page, sent: Sequence[Tenant]
) -> UUID:
    """The cursor to hand out with a page: a new one, or the presented one when nothing is
    sent outside a cycle (it still says all the device holds: its page was acknowledged
    just now), which writes nothing."""
    presented = page.presented
    if presented is not None and not page.in_cycle and not sent and not page.has_more:
        return presented.cursor_id
    return await _issue_cursor(
        conn,
        puller,
        base=page.base if page.has_more else page.target,
        target=page.target if page.has_more else None,
        after=page.ids[-1] if page.has_more else None,
        page=[t.id for t in sent],
        versions=[t.version for t in sent],
    )


def _damaged(request: PullRequest, state: _PullState) -> bool:
    """The device's copy is not what the server believes it holds: another checksum of its
    tenants and versions, or flags_through lower than it had confirmed (an old copy of
    its store). Only a device that sends a checksum, with a cursor, is checked."""
    if request.checksum is None or request.cursor is None:
        return False
    return request.checksum != state.checksum or request.flags_through < state.flags_confirmed


def _resync(request: PullRequest, state: _PullState, puller: Puller) -> PullResponse:
    """The resync instruction: nothing to store; pull again without a cursor."""
    assert request.cursor is not None
    return PullResponse(
        protocol=PROTOCOL_VERSION,
        safety_flags=[],
        flags_through=request.flags_through,
        alerts=state.alerts,
        decided_through=state.decided_through,
        purge=[],
        tenants=[],
        cursor=request.cursor,
        has_more=True,
        server_time=puller.now,
        resync=True,
    )


async def _ask_resync(conn: asyncpg.Connection, puller: Puller) -> None:
    await conn.execute(
        """
        WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true))
        UPDATE sync_devices SET resync_asked_at = $2 FROM no_wait WHERE device_id = $1
        """,
        puller.device_id,
        puller.now,
    )


class _PullState(msgspec.Struct, frozen=True, kw_only=True):
    cursor: _Cursor | None
    decided_through: int
    flags: list[SafetyFlagRecord]
    flags_through: int
    alerts: list[AlertRecord]
    target: int
    scope: dict[UUID, tuple[bool, bool]]
    purge: set[UUID]
    # sync.protocol.holdings_checksum of what the server believes the device holds now.
    checksum: str
    # The flags_through the device had confirmed before this request.
    flags_confirmed: int


# One statement, so all of it or none, in one snapshot (data-modifying CTEs do not see
# each other's changes, so what the scope reads is the state before them, adjusted):
# * what the request acknowledges: the device's row (flags confirmed, last pull, clock
#   skew), its offline lease (moved on, as devices.touch_last_synced does), the page the
#   presented cursor came with (now held; the cursor keeps no page after), older cursors
#   (dead), the purges it reports ($9), and without a cursor its holdings (a clean
#   resync: pending purges count as done). Nothing is written when the cursor is not
#   this device's or flags_through is beyond the register's position.
# * every flag version after $3, with the register's position;
# * the read models' position, each tenant in scope (held by the device, changed after
#   the cursor's base), and the held tenants to purge (out of scope: asked from now on;
#   asked before and not reported purged).
_PULL_STATE = """
WITH no_wait AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
), cursor_sent AS (
    SELECT cursor_id, base_position, target_position, after_tenant, issued_at, page_tenants,
           page_versions
    FROM sync_cursors WHERE cursor_id = $6 AND device_id = $1
), register AS (
    SELECT coalesce(max(position), 0) AS position FROM projection_tracking
    WHERE projection = $4
), valid AS (
    SELECT $3::bigint <= position AS flags_ok,
           $6::uuid IS NULL OR EXISTS (SELECT 1 FROM cursor_sent) AS cursor_ok
    FROM register
), ok AS (
    SELECT flags_ok AND cursor_ok AS ok FROM valid
), device AS (
    INSERT INTO sync_devices AS d (device_id, flags_through, flags_confirmed_at,
                                   last_pull_at, clock_skew_seconds, clock_measured_at)
    SELECT $1, $3, CASE WHEN $3 > 0 THEN $2::timestamptz END, $2, $5,
           CASE WHEN $5::integer IS NOT NULL THEN $2::timestamptz END
    FROM ok WHERE ok
    ON CONFLICT (device_id) DO UPDATE SET
        flags_confirmed_at = CASE WHEN excluded.flags_through > d.flags_through
                                  THEN excluded.last_pull_at ELSE d.flags_confirmed_at END,
        -- A clean resync (no cursor) starts the device's flags over from what it says.
        flags_through = CASE WHEN $6::uuid IS NULL THEN excluded.flags_through
                             ELSE greatest(d.flags_through, excluded.flags_through) END,
        last_pull_at = excluded.last_pull_at,
        clock_skew_seconds = coalesce(excluded.clock_skew_seconds, d.clock_skew_seconds),
        clock_measured_at = coalesce(excluded.clock_measured_at, d.clock_measured_at)
    RETURNING decided_through
), lease AS (
    UPDATE devices SET last_synced_at = greatest(last_synced_at, $2)
    WHERE id = $1 AND revoked_at IS NULL AND (SELECT ok FROM ok)
), emptied AS (
    UPDATE sync_cursors SET page_tenants = '{}', page_versions = '{}'
    WHERE cursor_id = $6 AND cardinality(page_tenants) > 0 AND (SELECT ok FROM ok)
), dead AS (
    DELETE FROM sync_cursors
    WHERE device_id = $1 AND (SELECT ok FROM ok)
      AND issued_at < coalesce((SELECT issued_at FROM cursor_sent), $2)
), gone AS (
    DELETE FROM sync_device_tenants
    WHERE device_id = $1 AND (SELECT ok FROM ok)
      AND ($6::uuid IS NULL OR (tenant_id = ANY($9::uuid[]) AND purge_asked_at IS NOT NULL))
    RETURNING tenant_id, purge_asked_at
), gone_done AS (
    INSERT INTO sync_purges (device_id, tenant_id, asked_at, purged_at)
    SELECT $1, tenant_id, purge_asked_at, $2 FROM gone WHERE purge_asked_at IS NOT NULL
), flags AS (
    SELECT coalesce(json_agg(json_build_object(
               'dwelling_id', dwelling_id, 'address', address, 'unit', unit,
               'postcode', postcode,
               'kind', CASE WHEN lifted_at IS NULL THEN kind END,
               'reason', CASE WHEN lifted_at IS NULL THEN reason END,
               'review_on', CASE WHEN lifted_at IS NULL THEN review_on END,
               'position', position) ORDER BY position), '[]') AS flags
    FROM safety_flags
    WHERE position > $3 AND (kind IS NOT NULL OR lifted_at IS NOT NULL)
), open_alerts AS (
    SELECT coalesce(json_agg(json_build_object(
               'alert_id', a.alert_id, 'rule', a.rule, 'subject_id', a.subject_id,
               'period', a.period, 'tenant_id', a.tenant_id, 'dwelling_id', a.dwelling_id,
               'due_since', a.due_since, 'raised_at', a.raised_at, 'tier', a.tier)
               ORDER BY a.raised_position DESC), '[]') AS alerts
    FROM (SELECT a.* FROM alert_recipients r JOIN alerts a ON a.alert_id = r.alert_id
          WHERE r.user_id = $7 AND a.acknowledged_at IS NULL AND a.cleared_at IS NULL
          ORDER BY a.raised_position DESC LIMIT $10) a
), base AS (
    SELECT coalesce((SELECT base_position FROM cursor_sent), 0) AS position
), page AS (
    -- The presented cursor's page (now held), with the versions it carried.
    SELECT p.t, p.v FROM cursor_sent c, unnest(c.page_tenants, c.page_versions) AS p(t, v)
    WHERE p.t IS NOT NULL AND NOT p.t = ANY($9::uuid[])
), held AS (
    -- What the device holds once this statement is done (before it, adjusted), at the
    -- versions it was sent.
    SELECT d.tenant_id, d.purge_asked_at, coalesce(p.v, d.version) AS version
    FROM sync_device_tenants d LEFT JOIN page p ON p.t = d.tenant_id
    WHERE d.device_id = $1 AND $6::uuid IS NOT NULL AND NOT d.tenant_id = ANY($9::uuid[])
    UNION ALL
    SELECT p.t, NULL, p.v FROM page p
    WHERE NOT EXISTS (SELECT 1 FROM sync_device_tenants d
                      WHERE d.device_id = $1 AND d.tenant_id = p.t)
), checksum AS (
    -- sync.protocol.holdings_checksum of what the device holds; a tenant acknowledged
    -- before versions were kept never matches (one resync). A uuid's order is its
    -- lower-case text's order (byte by byte), without comparing text.
    SELECT $11 || encode(sha256(convert_to(coalesce(string_agg(
               tenant_id::text || ':' || coalesce(version::text, '?'), ','
               ORDER BY tenant_id), ''), 'UTF8')), 'hex') AS checksum
    FROM held
), scope AS (
    SELECT c.tenant_id, c.tenant_id IN (SELECT tenant_id FROM held) AS held,
           c.position > b.position
           OR EXISTS (SELECT 1 FROM risk_timeline t
                      WHERE t.tenant_id = c.tenant_id AND t.position > b.position)
           OR EXISTS (SELECT 1 FROM concerns k
                      WHERE k.tenant_id = c.tenant_id AND k.position > b.position) AS changed
    FROM caseload c, base b
    WHERE c.contact_worker_id = $7 AND (c.follow_up_active OR c.follow_up_ended_on IS NULL)
), acked AS (
    -- The page is held now, at the versions it carried; a tenant of it already out of
    -- scope is asked to purge (each row is changed here or in ``newly``, never both).
    INSERT INTO sync_device_tenants AS d (device_id, tenant_id, held_since, purge_asked_at,
                                          version)
    SELECT $1, p.t, $2, CASE WHEN p.t IN (SELECT tenant_id FROM scope) THEN NULL ELSE $2 END,
           p.v
    FROM page p, ok
    WHERE ok.ok
    ON CONFLICT (device_id, tenant_id) DO UPDATE SET
        version = excluded.version,
        purge_asked_at = coalesce(d.purge_asked_at, excluded.purge_asked_at)
    RETURNING tenant_id, purge_asked_at
), newly AS (
    UPDATE sync_device_tenants SET purge_asked_at = $2
    WHERE device_id = $1 AND purge_asked_at IS NULL AND (SELECT ok FROM ok)
      AND $6::uuid IS NOT NULL AND NOT tenant_id = ANY($9::uuid[])
      AND tenant_id NOT IN (SELECT tenant_id FROM scope)
      AND tenant_id NOT IN (SELECT t FROM page)
    RETURNING tenant_id
)
SELECT v.flags_ok, v.cursor_ok,
       (SELECT decided_through FROM device) AS decided_through,
       (SELECT position FROM register) AS register,
       (SELECT flags::text FROM flags) AS flags,
       (SELECT coalesce(min(position), 0) FROM projection_tracking
        WHERE projection = ANY($8::text[])) AS target,
       c.cursor_id, c.base_position, c.target_position, c.after_tenant, c.issued_at,
       (SELECT setting FROM no_wait) AS setting,
       (SELECT alerts::text FROM open_alerts) AS alerts,
       (SELECT checksum FROM checksum) AS checksum,
       (SELECT flags_through FROM sync_devices WHERE device_id = $1) AS flags_confirmed,
       -- The scope as three arrays in tenant id order (one row, not a row a tenant).
       (SELECT array_agg(tenant_id ORDER BY tenant_id) FROM scope) AS scope_ids,
       (SELECT array_agg(held ORDER BY tenant_id) FROM scope) AS scope_held,
       (SELECT array_agg(changed ORDER BY tenant_id) FROM scope) AS scope_changed,
       (SELECT array_agg(tenant_id) FROM (
            SELECT tenant_id FROM newly
            UNION ALL
            SELECT tenant_id FROM held WHERE purge_asked_at IS NOT NULL
            UNION ALL
            SELECT tenant_id FROM acked WHERE purge_asked_at IS NOT NULL
        ) AS asked) AS purge_ids
FROM valid v LEFT JOIN cursor_sent c ON true
"""


_FLAGS = msgspec.json.Decoder(list[SafetyFlagRecord])
_ALERTS = msgspec.json.Decoder(list[AlertRecord])


async def _pull_state(conn: asyncpg.Connection, puller: Puller, request: PullRequest) -> _PullState:
    """Record what the request acknowledges; read the flags, scope and purges."""
    cursor_id = None if request.cursor is None else _cursor_id(request.cursor)
    skew = clock_skew_s(request.device_time, puller.now)
    state = await conn.fetchrow(
        _PULL_STATE,
        puller.device_id,
        puller.now,
        request.flags_through,
        FLAGS_SOURCE,
        skew,
        cursor_id,
        puller.user_id,
        list(SOURCES),
        list(request.purged),
        MAX_ALERTS,
        CHECKSUM_PREFIX,
    )
    assert state is not None
    if not state["cursor_ok"]:
        raise InvalidValue(
            "cursor",
            "known_cursor",
            "this device was not handed this cursor, or it is no longer valid: pull again "
            "without a cursor (a clean resync)",
        )
    if not state["flags_ok"]:
        raise InvalidValue(
            "flags_through",
            "not_beyond_head",
            "flags_through is beyond any flags_through this server has answered",
        )
    cursor = None
    if cursor_id is not None:
        cursor = _Cursor(
            state["cursor_id"],
            state["base_position"],
            state["target_position"],
            state["after_tenant"],
            state["issued_at"],
        )
    scope = dict(
        zip(
            state["scope_ids"] or (),
            zip(state["scope_held"] or (), state["scope_changed"] or (), strict=True),
            strict=True,
        )
    )
    return _PullState(
        cursor=cursor,
        decided_through=state["decided_through"] or 0,
        flags=_FLAGS.decode(state["flags"]),
        alerts=_ALERTS.decode(state["alerts"]),
        flags_through=max(state["register"], request.flags_through),
        target=state["target"],
        scope=scope,
        purge=set(state["purge_ids"] or ()),
        checksum=state["checksum"],
        flags_confirmed=state["flags_confirmed"] or 0,
    )


async def _check_purged(conn: asyncpg.Connection, puller: Puller, purged: Sequence[UUID]) -> None:
    """Every id the device says it purged was asked of it (now, or before)."""
    known = {
        r["tenant_id"]
        for r in await conn.fetch(
            """
            SELECT tenant_id FROM sync_device_tenants
            WHERE device_id = $1 AND tenant_id = ANY($2::uuid[]) AND purge_asked_at IS NOT NULL
            UNION
            SELECT tenant_id FROM sync_purges WHERE device_id = $1 AND tenant_id = ANY($2::uuid[])
            """,
            puller.device_id,
            list(purged),
        )
    }
    for n, tenant_id in enumerate(purged):
        if tenant_id not in known:
            raise InvalidValue(
                f"purged[{n}]", "asked_to_purge", "this device was not asked to purge that tenant"
            )


def _json(encoded: str) -> Any:
    """A list PostgreSQL encoded in the wire format's own field names
    (:mod:`projections.tablet_parts`),
    sent as it is: thousands of timeline rows are not decoded into Python objects only to
    be encoded again."""
    return msgspec.Raw(encoded.encode())


async def _issue_cursor(
    conn: asyncpg.Connection,
    puller: Puller,
    *,
    base: int,
    target: int | None,
    after: UUID | None,
    page: list[UUID],
    versions: list[int],
) -> UUID:
    cursor_id = uuid.uuid4()
    await conn.execute(
        """
        WITH no_wait AS (SELECT set_config('synchronous_commit', 'off', true))
        INSERT INTO sync_cursors (cursor_id, device_id, base_position, target_position,
                                  after_tenant, page_tenants, issued_at, page_versions)
        SELECT $1, $2, $3, $4, $5, $6, $7, $8 FROM no_wait
        """,
        cursor_id,
        puller.device_id,
        base,
        target,
        after,
        page,
        puller.now,
        versions,
    )
    return cursor_id
