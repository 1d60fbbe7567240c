"""Commands of the lone-worker check-in (innsjekk ved alenearbeid): check in, check out."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from domain.commands import Command
from domain.lone_work import MAX_EXPECTED_MINUTES, MIN_EXPECTED_MINUTES

ExpectedMinutes = Annotated[int, msgspec.Meta(ge=MIN_EXPECTED_MINUTES, le=MAX_EXPECTED_MINUTES)]


class RecordCheckIn(Command, frozen=True, kw_only=True):
    """The caller enters the address now (or at ``occurred_at``) for ``expected_minutes``."""

    check_in_id: UUID
    dwelling_id: UUID
    expected_minutes: ExpectedMinutes
    # Required at an address flagged two-person.
    second_worker_id: UUID | None = None
    # The tenant the worker goes to see there, if any (never shown on their timeline).
    tenant_id: UUID | None = None
    # Recorded on a tablet without a connection: a two-person breach is kept for review.
    recorded_offline: bool = False


class RecordCheckOut(Command, frozen=True, kw_only=True):
    """The worker left the address now (or at ``occurred_at``)."""
