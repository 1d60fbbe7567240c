"""The base of every domain event: who did it, when it happened, when we recorded it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from domain.errors import InvalidValue
from domain.municipal_services import Service

# A tablet's clock may run a little ahead of the server's; more than this is a mistake.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# A fact written down later than this after it happened is a mistake (year 1, say).
MAX_OCCURRED_AGE = timedelta(days=5 * 366)

# Dates in the domain (due dates, "today", "not in the past") are the municipality's
# calendar dates, whatever zone the server runs in.
MUNICIPALITY_TZ = ZoneInfo("Europe/Oslo")


def local_date(moment: datetime) -> date:
    """The municipality's calendar date at ``moment`` (which must carry a UTC offset)."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(MUNICIPALITY_TZ).date()


class Actor(msgspec.Struct, frozen=True):
    """The user who caused an event, and the service they acted for."""

    user_id: UUID
    service: Service


class EventMeta(msgspec.Struct, frozen=True):
    """Provenance carried by every event.

    ``occurred_at`` is when it happened in the world (possibly on an offline tablet);
    ``recorded_at`` is the server's clock when the event was stored. Order is always the
    global log position, never either of these clocks.
    """

    actor: Actor
    occurred_at: datetime
    recorded_at: datetime

    @property
    def recorded_on(self) -> date:
        """The municipality's date when the event was recorded ("today" for the rules)."""
        return local_date(self.recorded_at)


def event_meta(actor: Actor, occurred_at: datetime | None, now: datetime) -> EventMeta:
    """Stamp a command with its provenance, refusing times from the future."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if occurred_at is None:
        occurred_at = now
    if occurred_at.tzinfo is None:
        raise InvalidValue(
            "occurred_at", "timezone_required", "occurred_at must carry a UTC offset"
        )
    if occurred_at > now + MAX_CLOCK_SKEW:
        raise InvalidValue(
            "occurred_at", "not_in_future", "occurred_at must not be later than the server's time"
        )
    if occurred_at < now - MAX_OCCURRED_AGE:
        raise InvalidValue(
            "occurred_at", "date_range", "occurred_at must lie within the last five years"
        )
    return EventMeta(actor=actor, occurred_at=occurred_at, recorded_at=now)


# Who records what the system does by itself (scheduled jobs).
SYSTEM_ACTOR = Actor(user_id=UUID("00000000-0000-0000-0000-000000000000"), service=Service.ADMIN)


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A fact, named in the past tense. Subclasses add the fact's own fields.

    ``class_version`` counts schema changes; a class at version N defines static
    ``upcast_vK_vK+1(state: dict)`` methods for every K < N so old events still load.
    """

    class_version: ClassVar[int] = 1

    originator_id: UUID
    originator_version: int
    meta: EventMeta

    @property
    def type_name(self) -> str:
        return type(self).__name__
