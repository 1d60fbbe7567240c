"""NAV delivery outbox: one row per delivery of a NAV notification to NAV's endpoint.

Each ``NavNotificationSent`` gives a ``delivery`` row; each alert
"nav_notification_unacknowledged" about a notification gives a ``redelivery`` row of it.
The rows are written here, in the runner's transaction with the tracking row, so an event
gives exactly one row whatever crashes; the delivery worker (:mod:`backend.nav_delivery`)
sends the pending rows and marks them ``delivered`` or ``dead``, and an admin may put a
dead row back (:func:`retry_dead`).

A row's ``delivery_id`` is derived from what caused it (:func:`delivery_id`), so a replay
finds it taken and writes nothing, and it is the ``Idempotency-Key`` every attempt of the
delivery carries. The payload is what NAV's inbox shows of the notification, never a name
or a note.

Unlike a read model, the table holds what happened to each delivery (attempts, delivered
or dead), which the log does not: it is not rebuilt (``rebuildable = False``;
``folgja rebuild all`` passes it by, and rebuilding it by name is refused).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid5

import asyncpg
import msgspec

from domain.alerts import AlertRaised, AlertRule
from domain.errors import IllegalStateChange, UnknownAggregate
from domain.nav import NavNotificationSent
from projections.base import PositionedEvent
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of


class DeliveryKind(StrEnum):
    DELIVERY = "delivery"  # the notification, once, when it is sent
    REDELIVERY = "redelivery"  # again, because NAV has not acknowledged it in time


class DeliveryState(StrEnum):
    PENDING = "pending"  # to be sent, at ``next_attempt_at``
    DELIVERED = "delivered"  # NAV's endpoint answered 2xx
    DEAD = "dead"  # given up after the last attempt (or the basis lapsed); an admin may retry


def delivery_id(notification_id: UUID, kind: DeliveryKind, cause: UUID | None = None) -> UUID:
    """The delivery's id and idempotency key: the notification's one delivery, or the
    re-delivery that ``cause`` (the alert's id) asked for."""
    name = "nav_outbox:delivery" if kind is DeliveryKind.DELIVERY else f"nav_outbox:{cause}"
    return uuid5(notification_id, name)


def payload_of(event: NavNotificationSent) -> dict[str, Any]:
    """What NAV is sent: the facts its inbox shows (``projections.nav_inbox``), no more."""
    return {
        "notification_id": str(event.originator_id),
        "tenant_id": str(event.tenant_id),
        "trigger": event.trigger.value,
        "basis": event.basis.value,
        "total_owed_nok": event.total_owed_nok,
        "sent_at": event.meta.occurred_at.isoformat(),
    }


INSERT_DELIVERY = """
    INSERT INTO nav_outbox (delivery_id, notification_id, kind, payload, next_attempt_at,
                            created_at, position)
    VALUES ($1, $2, 'delivery', $3::jsonb, $4, $4, $5)
    ON CONFLICT (delivery_id) DO NOTHING
"""

# A re-delivery sends what the delivery sent. A notification sent before the outbox
# existed has no delivery row and so gets no re-delivery either (decision 66).
INSERT_REDELIVERY = """
    INSERT INTO nav_outbox (delivery_id, notification_id, kind, payload, next_attempt_at,
                            created_at, position)
    SELECT $1, notification_id, 'redelivery', payload, $3, $3, $4
    FROM nav_outbox WHERE notification_id = $2 AND kind = 'delivery'
    ON CONFLICT (delivery_id) DO NOTHING
    RETURNING delivery_id
"""


async def enqueue_redelivery(
    conn: asyncpg.Connection, notification_id: UUID, cause: UUID, at: datetime, position: int
) -> UUID | None:
    """Add a re-delivery of ``notification_id`` caused by ``cause`` (an alert's id), due at
    ``at``; answers its id, or None if the notification has no delivery to repeat. Writing
    it twice writes it once."""
    key = delivery_id(notification_id, DeliveryKind.REDELIVERY, cause)
    if await conn.fetchval(INSERT_REDELIVERY, key, notification_id, at, position) is not None:
        return key
    taken = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM nav_outbox WHERE delivery_id = $1)", key
    )
    return key if taken else None


class NavOutboxProjection:
    name = "nav_outbox"
    tables: tuple[str, ...] = ("nav_outbox",)
    # The rows record deliveries made, which the log cannot give back.
    rebuildable = False

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        # In log order: a notification is sent before an alert can be raised about it.
        for item in events:
            event = item.event
            if isinstance(event, NavNotificationSent):
                await conn.execute(
                    INSERT_DELIVERY,
                    delivery_id(event.originator_id, DeliveryKind.DELIVERY),
                    event.originator_id,
                    msgspec.json.encode(payload_of(event)).decode(),
                    event.meta.recorded_at,
                    item.position,
                )
            elif (
                isinstance(event, AlertRaised)
                and event.rule is AlertRule.NAV_NOTIFICATION_UNACKNOWLEDGED
            ):
                await enqueue_redelivery(
                    conn,
                    event.subject_id,
                    event.originator_id,
                    event.meta.recorded_at,
                    item.position,
                )


# --- queries ----------------------------------------------------------------------------------


class NavDelivery(msgspec.Struct, frozen=True):
    """A delivery as the admin sees it: its state and history, not what it carries."""

    delivery_id: UUID
    notification_id: UUID
    kind: DeliveryKind
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


COLUMNS = """delivery_id, notification_id, kind, state, attempts, next_attempt_at, last_error,
             delivered_at, created_at"""


async def deliveries(
    conn: asyncpg.Connection,
    *,
    state: DeliveryState | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[NavDelivery]:
    """Deliveries (in ``state``), the oldest first."""
    after = decode_cursor(cursor, (datetime, UUID))
    q = Filters()
    if state is not None:
        q.add(f"state = {q.arg(state.value)}")
    if after is not None:
        q.add(f"(created_at, delivery_id) > ({q.arg(after[0])}, {q.arg(after[1])})")
    rows = await conn.fetch(
        f"""
        SELECT {COLUMNS} FROM nav_outbox {q.where()}
        ORDER BY created_at, delivery_id
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    items = [NavDelivery(**dict(r)) for r in rows]
    return page_of(items, limit, lambda d: (d.created_at, d.delivery_id))


async def retry_dead(conn: asyncpg.Connection, delivery: UUID, now: datetime) -> NavDelivery:
    """Put a dead delivery back: pending, due now, its attempts counted from zero again.

    Unknown id: :class:`UnknownAggregate` (404); not dead: :class:`IllegalStateChange`
    (409), so a pending or delivered row is never sent again by this.
    """
    row = await conn.fetchrow(
        f"""
        UPDATE nav_outbox
        SET state = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL
        WHERE delivery_id = $1 AND state = 'dead'
        RETURNING {COLUMNS}
        """,
        delivery,
        now,
    )
    if row is not None:
        return NavDelivery(**dict(row))
    state = await conn.fetchval("SELECT state FROM nav_outbox WHERE delivery_id = $1", delivery)
    if state is None:
        raise UnknownAggregate("delivery_id", "must_exist", f"no NAV delivery with id {delivery}")
    raise IllegalStateChange(
        "delivery_id", "dead", f"only a dead delivery is retried; this one is {state}"
    )
