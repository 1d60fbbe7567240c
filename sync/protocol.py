"""The device protocol, version 1, as wire structs (docs/sync-protocol.md).

Shared by the server (:mod:`sync.push`, :mod:`sync.pull`) and the reference client
(:mod:`sync.client`): what a tablet sends and what it is answered. A pushed item carries
one of the HTTP API's own commands (the same struct as the route's body) plus the ids the
route takes from its path, so a tablet and the web speak one language.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import msgspec

from domain.concern_commands import RaiseConcern
from domain.lone_work_commands import RecordCheckIn, RecordCheckOut
from domain.visit_commands import CompleteVisit, FailVisit, PlanVisit

PROTOCOL_VERSION = 1
CHECKSUM_PREFIX = "v1:"

# Limits (docs/sync-protocol.md, "Limits").
MAX_ITEMS_PER_PUSH = 100
MAX_PUSH_BYTES = 2 * 1024 * 1024
DEFAULT_PAGE_TENANTS = 50
MAX_PAGE_TENANTS = 200
MAX_PURGED_PER_PULL = 1000
# A pull carries at most this many of the user's open alerts (the newest).
MAX_ALERTS = 100
# A tenant new on a device gets this much of its history, not all of it.
HISTORY_DAYS = 90
HISTORY_MAX_ENTRIES = 50
# A tenant already on the device gets at most this many new timeline entries per pull
# (the newest); ``timeline_complete`` says whether older ones were left out.
CHANGES_MAX_ENTRIES = 200

Seq = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
Position = Annotated[int, msgspec.Meta(ge=0, le=2**62)]


# --- push ---------------------------------------------------------------------------


class PlanVisitItem(PlanVisit, frozen=True, kw_only=True, tag="plan_visit", tag_field="type"):
    """``POST /tenants/{tenant_id}/visits``."""

    tenant_id: UUID


class CompleteVisitItem(
    CompleteVisit, frozen=True, kw_only=True, tag="complete_visit", tag_field="type"
):
    """``POST /visits/{visit_id}/completion``."""

    visit_id: UUID


class FailVisitItem(FailVisit, frozen=True, kw_only=True, tag="fail_visit", tag_field="type"):
    """``POST /visits/{visit_id}/failure``."""

    visit_id: UUID


class RaiseConcernItem(
    RaiseConcern, frozen=True, kw_only=True, tag="raise_concern", tag_field="type"
):
    """``POST /concerns``."""


class CheckInItem(RecordCheckIn, frozen=True, kw_only=True, tag="check_in", tag_field="type"):
    """``POST /check-ins`` (lone-worker check-in, docs/lone-work.md)."""


class CheckOutItem(RecordCheckOut, frozen=True, kw_only=True, tag="check_out", tag_field="type"):
    """``POST /check-ins/{check_in_id}/check-out``."""

    check_in_id: UUID


ItemCommand = (
    PlanVisitItem
    | CompleteVisitItem
    | FailVisitItem
    | RaiseConcernItem
    | CheckInItem
    | CheckOutItem
)


class PushItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One thing recorded on the device, in the device's order."""

    item_id: UUID
    seq: Seq
    # The tenant's version the device last saw (from a pull), if the item is about one.
    tenant_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    # When the device recorded it, on the device's clock (shown, never used for order).
    occurred_at: datetime
    command: ItemCommand


class PushRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    items: Annotated[list[PushItem], msgspec.Meta(min_length=1, max_length=MAX_ITEMS_PER_PUSH)]
    # The device's clock when it sent the request (for clock-skew detection; added within
    # version 1).
    device_time: datetime | None = None


# The review reason of an item pushed while the device's clock was further off the
# server's than FOLGJA_MAX_CLOCK_SKEW_S (its ``occurred_at`` may be wrong).
DEVICE_CLOCK_SKEW = "device_clock_skew"


class ItemStatus(StrEnum):
    APPLIED = "applied"
    # Applied, and the record is marked for a team lead's review (reasons given).
    APPLIED_FOR_REVIEW = "applied_for_review"
    # Not applied: kept with its problem in the review inbox, for a team lead to decide.
    KEPT_FOR_REVIEW = "kept_for_review"
    # Never applicable as sent (the caller's role may not do it); kept, with its problem.
    REFUSED = "refused"
    # Stored; waits for an earlier sequence number the server has not yet received.
    WAITING = "waiting"


class ItemProblem(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    field: str
    rule: str
    detail: str


class ItemOutcome(msgspec.Struct, frozen=True, kw_only=True):
    item_id: UUID
    seq: int
    status: ItemStatus
    # The log position the item's events reached (applied, applied_for_review).
    position: int | None = None
    review_reasons: list[str] = msgspec.field(default_factory=list)
    problem: ItemProblem | None = None


class PushResponse(msgspec.Struct, frozen=True, kw_only=True):
    protocol: int
    device_id: UUID
    # Every item with a sequence number up to this one has its outcome.
    decided_through: int
    outcomes: list[ItemOutcome]


# --- pull ---------------------------------------------------------------------------


class PullRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # The last cursor the device stored with its page; none on the first pull (or after
    # a clean resync).
    cursor: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    # The highest ``flags_through`` the device has stored its flags for (0 at first).
    flags_through: Position = 0
    # Tenants the device was told to purge and has purged.
    purged: Annotated[list[UUID], msgspec.Meta(max_length=MAX_PURGED_PER_PULL)] = msgspec.field(
        default_factory=list
    )
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_TENANTS)] = DEFAULT_PAGE_TENANTS
    # The device's clock when it sent the request (for clock-skew detection).
    device_time: datetime | None = None
    # What the device holds, as :func:`holdings_checksum` of its tenants and versions
    # (added within version 1): sent with a cursor, it is checked against what the
    # server believes the device holds; a mismatch is answered ``resync``.
    checksum: Annotated[str, msgspec.Meta(max_length=100)] | None = None


def holdings_checksum(tenants: Iterable[tuple[UUID, int]]) -> str:
    """``v1:`` and the SHA-256 (hex) of ``tenant_id:version`` of every tenant held, in
    tenant id order (the UUID's text, lower case), joined by commas; no tenant: the hash
    of the empty text. ``sync.pull`` computes the same in SQL from what the device
    acknowledged."""
    text = ",".join(f"{t}:{v}" for t, v in sorted((str(t), v) for t, v in tenants))
    return CHECKSUM_PREFIX + hashlib.sha256(text.encode()).hexdigest()


class SafetyFlagRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An address's safety flag; no tenant data. ``kind`` None: the flag was lifted."""

    dwelling_id: UUID
    address: str
    unit: str | None
    postcode: str | None
    kind: str | None
    reason: str | None
    review_on: date | None
    position: int


class AlertRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An open alert the device's user was told of (docs/alerts.md): ids and dates only."""

    alert_id: UUID
    rule: str
    subject_id: UUID
    period: str
    tenant_id: UUID | None
    dwelling_id: UUID | None
    due_since: datetime
    raised_at: datetime
    tier: int


class PlannedVisitRecord(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: UUID
    planned_for: datetime


class OpenConcernRecord(msgspec.Struct, frozen=True, kw_only=True):
    concern_id: UUID
    category: str
    status: str
    raised_at: datetime


class TimelineRecord(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    event_type: str
    occurred_at: datetime
    summary: str


class TenantRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant in the device's scope: current state, open work, recent timeline.

    ``state`` is the tenant as ``GET /tenants/{id}`` answers the device's user (its
    ``version`` is what a pushed item names as ``tenant_version``). ``planned_visits`` and
    ``open_concerns`` replace what the device held; ``timeline`` adds to it.
    """

    tenant_id: UUID
    version: int
    state: dict[str, Any]
    address: str | None
    safety_flag: str | None
    visit_due_at: datetime | None
    planned_visits: list[PlannedVisitRecord]
    open_concerns: list[OpenConcernRecord]
    timeline: list[TimelineRecord]
    # False when older entries than those sent were left out (see HISTORY_* above).
    timeline_complete: bool


class PullResponse(msgspec.Struct, frozen=True, kw_only=True):
    # First, always (the first key of the JSON): every flag version after the request's
    # ``flags_through``.
    safety_flags: list[SafetyFlagRecord]
    flags_through: int
    # The user's open alerts, newest first (at most MAX_ALERTS), whole each time: an alert
    # acknowledged or cleared is simply no longer in the list.
    alerts: list[AlertRecord] = []
    protocol: int
    # Repeated from the push: a lost push response costs nothing.
    decided_through: int
    # Tenants to delete from the device now; say so in a later request's ``purged``.
    purge: list[UUID]
    tenants: list[TenantRecord]
    cursor: str
    has_more: bool
    server_time: datetime
    # True: the device's checksum did not match what the server believes it holds (or its
    # flags_through went back). Nothing else in the response is to be stored: delete
    # every tenant and flag, forget the cursor and flags_through (the outbox stays), and
    # pull again without a cursor (a clean resync). Added within version 1.
    resync: bool = False
