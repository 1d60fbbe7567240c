"""NAV inbox: every notification NAV was sent, on what basis, acknowledged or not, and the wait.

Rows hold the kind of NAV's answer, never its text. The wait runs from sending until NAV
acknowledges; it is computed at read time, so it grows with the clock.

A notification sent on the tenant's consent is NAV's to read only while that consent is
in force: ``nav_inbox_consents`` keeps the consents that let NAV hear about rent and
eviction, with their expiry and withdrawal, and NAV's queries ask :data:`BASIS_HOLDS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

import asyncpg
import msgspec

from domain.municipal_services import Service
from domain.nav import (
    NavAnswer,
    NavNotificationAcknowledged,
    NavNotificationAnswered,
    NavNotificationSent,
    NavTrigger,
    NoticeBasis,
)
from domain.tenant_events import ConsentGiven, ConsentWithdrawn, InfoCategory
from projections.base import PositionedEvent
from projections.filters import Filters
from projections.pagination import Page, decode_cursor, page_of

INSERT = """
    INSERT INTO nav_inbox (notification_id, tenant_id, rent_case_id, trigger, basis, consent_id,
                           total_owed_nok, sent_at, position)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (notification_id) DO NOTHING
"""

# The position guard makes a replayed event harmless; each event fills its own columns.
UPDATE = """
    UPDATE nav_inbox SET position = $2,
        acknowledged_at = coalesce($3, acknowledged_at),
        answered_at = coalesce($4, answered_at),
        answer = coalesce($5, answer)
    WHERE notification_id = $1 AND position < $2
"""


INSERT_CONSENT = """
    INSERT INTO nav_inbox_consents (consent_id, tenant_id, given_on, expires_on, position)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (consent_id) DO NOTHING
"""
WITHDRAW_CONSENT = """
    UPDATE nav_inbox_consents SET withdrawn_on = $2, position = $3
    WHERE consent_id = $1 AND position < $3
"""


def _lets_nav_hear_of_rent(event: ConsentGiven) -> bool:
    consent = event.consent
    return Service.NAV in consent.recipients and InfoCategory.RENT_AND_EVICTION in (
        consent.categories
    )


class NavInboxProjection:
    name = "nav_inbox"
    tables: tuple[str, ...] = ("nav_inbox", "nav_inbox_consents")

    async def apply(self, conn: asyncpg.Connection, events: Sequence[PositionedEvent]) -> None:
        inserts = []
        updates: list[tuple[UUID, int, datetime | None, datetime | None, str | None]] = []
        consents = []
        withdrawals = []
        for item in events:
            event = item.event
            at = event.meta.occurred_at
            if isinstance(event, ConsentGiven):
                if _lets_nav_hear_of_rent(event):
                    c = event.consent
                    consents.append(
                        (c.consent_id, event.originator_id, c.given_on, c.expires_on, item.position)
                    )
            elif isinstance(event, ConsentWithdrawn):
                withdrawals.append((event.consent_id, event.withdrawn_on, item.position))
            elif isinstance(event, NavNotificationSent):
                inserts.append(
                    (
                        event.originator_id,
                        event.tenant_id,
                        event.rent_case_id,
                        event.trigger.value,
                        event.basis.value,
                        event.consent_id,
                        event.total_owed_nok,
                        at,
                        item.position,
                    )
                )
            elif isinstance(event, NavNotificationAcknowledged):
                updates.append((event.originator_id, item.position, at, None, None))
            elif isinstance(event, NavNotificationAnswered):
                updates.append((event.originator_id, item.position, None, at, event.answer.value))
        # A notification is sent before it is acknowledged or answered, so inserting first
        # and then updating in log order gives the same rows as one pass in order.
        if inserts:
            await conn.executemany(INSERT, inserts)
        if updates:
            await conn.executemany(UPDATE, updates)
        if consents:
            await conn.executemany(INSERT_CONSENT, consents)
        if withdrawals:
            await conn.executemany(WITHDRAW_CONSENT, withdrawals)


# --- queries ----------------------------------------------------------------------------------


class NavInboxRow(msgspec.Struct, frozen=True):
    """A notification in NAV's inbox: the kind of answer, never its text."""

    notification_id: UUID
    tenant_id: UUID
    rent_case_id: UUID
    trigger: NavTrigger
    basis: NoticeBasis
    consent_id: UUID | None
    total_owed_nok: int
    sent_at: datetime
    acknowledged_at: datetime | None
    answered_at: datetime | None
    answer: NavAnswer | None
    waiting_s: int


SORT_KEY = "(acknowledged_at IS NOT NULL), sent_at, notification_id"

# The notification's basis still holds on day {today}: the law, or a consent in force.
BASIS_HOLDS = """
    (nav_inbox.basis <> 'consent' OR EXISTS (
        SELECT 1 FROM nav_inbox_consents c
        WHERE c.consent_id = nav_inbox.consent_id AND c.given_on <= {today}
          AND (c.expires_on IS NULL OR {today} <= c.expires_on)
          AND (c.withdrawn_on IS NULL OR {today} < c.withdrawn_on)))
"""


async def nav_basis_holds(
    conn: asyncpg.Connection,
    today: date,
    *,
    tenant_id: UUID | None = None,
    notification_id: UUID | None = None,
) -> bool:
    """Whether NAV holds a notification (about the tenant, or this one) whose basis holds."""
    q = Filters()
    q.add(BASIS_HOLDS.format(today=f"{q.arg(today)}::date"))
    if tenant_id is not None:
        q.add(f"tenant_id = {q.arg(tenant_id)}")
    if notification_id is not None:
        q.add(f"notification_id = {q.arg(notification_id)}")
    return bool(
        await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM nav_inbox {q.where()})", *q.args)
    )


async def inbox(
    conn: asyncpg.Connection,
    *,
    now: datetime,
    acknowledged: bool | None = None,
    answered: bool | None = None,
    triggers: Sequence[NavTrigger] = (),
    basis: NoticeBasis | None = None,
    tenant_id: UUID | None = None,
    basis_holds_on: date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[NavInboxRow]:
    """Unacknowledged notifications first, the oldest first; then the acknowledged ones.

    ``waiting_s`` is the time from sending to acknowledgement (or to ``now``), never negative.
    ``basis_holds_on``: only notifications whose basis still holds on that day (what NAV
    itself may read).
    """
    after = decode_cursor(cursor, (bool, datetime, UUID))
    q = Filters()
    waited = (
        f"greatest(0, floor(extract(epoch FROM "
        f"coalesce(acknowledged_at, {q.arg(now)}) - sent_at)))::bigint"
    )
    if acknowledged is not None:
        q.add(f"acknowledged_at IS {'NOT ' if acknowledged else ''}NULL")
    if answered is not None:
        q.add(f"answered_at IS {'NOT ' if answered else ''}NULL")
    if triggers:
        q.add(f"trigger = ANY({q.arg([t.value for t in triggers])}::text[])")
    if basis is not None:
        q.add(f"basis = {q.arg(basis.value)}")
    if tenant_id is not None:
        q.add(f"tenant_id = {q.arg(tenant_id)}")
    if basis_holds_on is not None:
        q.add(BASIS_HOLDS.format(today=f"{q.arg(basis_holds_on)}::date"))
    if after is not None:
        q.add(f"({SORT_KEY}) > ({q.arg(after[0])}, {q.arg(after[1])}, {q.arg(after[2])})")
    rows = await conn.fetch(
        f"""
        SELECT notification_id, tenant_id, rent_case_id, trigger, basis, consent_id,
               total_owed_nok, sent_at, acknowledged_at, answered_at, answer,
               {waited} AS waiting_s
        FROM nav_inbox {q.where()}
        ORDER BY {SORT_KEY}
        LIMIT {q.arg(limit + 1)}
        """,
        *q.args,
    )
    items = [NavInboxRow(**dict(r)) for r in rows]
    return page_of(
        items,
        limit,
        lambda n: (n.acknowledged_at is not None, n.sent_at, n.notification_id),
    )
