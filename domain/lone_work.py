"""Lone-worker check-in (innsjekk ved alenearbeid): a worker entering an address says so.

Arbeidstilsynet requires employers to manage the risk of lone work. A worker checks in
when entering an address, with how long they expect to stay, and checks out when leaving;
a check-in still open when its expected time (plus a grace period) has passed is the
alert rule's to raise (``projections/lone_work.open_check_ins_past``). Docs:
``docs/lone-work.md``, decision 67.

A check-in is the worker's own record, not the tenant's: it never appears on a tenant's
timeline (it names a tenant only so the team lead knows whom the worker went to see).

Rules:

* the address (dwelling) must exist;
* at an address flagged two-person, a second worker must be named: a real, active user
  who may make follow-up visits (:func:`domain.staff.may_visit`), not the worker
  themself; a second worker named anywhere else is held to the same rule;
* at an address flagged no-entry the check-in is recorded all the same, marked
  ``no_entry_address`` for review: refusing it would not keep the worker out, only take
  away the safety net;
* recorded offline (pushed from a tablet), a two-person breach is kept, marked with the
  broken rule, like a visit's (decision 14): the worker is there whatever the rule says;
* a check-out comes once, not before the check-in, from the worker, the named second
  worker, or a team lead (or service staff) of the worker's service.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from domain import staff
from domain.dwelling import Dwelling
from domain.errors import DomainError, IllegalStateChange, InvalidValue, UnknownAggregate
from domain.events import DomainEvent, EventMeta
from domain.kinds import Kind
from domain.municipal_services import Service
from domain.tenant import Tenant

MIN_EXPECTED_MINUTES = 5
MAX_EXPECTED_MINUTES = 720
# Who may close another worker's check-in (after reaching them by phone, say).
LEAD_ROLES = frozenset({staff.TEAM_LEAD, staff.SERVICE_STAFF})


# --- events -------------------------------------------------------------------------


class CheckedIn(DomainEvent, frozen=True, kw_only=True):
    """The worker (``meta.actor``) entered the address at ``meta.occurred_at``.

    The expected stay is stored as minutes, so a retried check-in restates the same fact;
    the time the worker is expected out is :func:`expected_until`.
    """

    worker_id: UUID
    dwelling_id: UUID
    expected_minutes: int
    second_worker_id: UUID | None = None
    tenant_id: UUID | None = None
    # The safety rules the check-in broke and was kept with (no-entry; two-person offline).
    review_reasons: tuple[str, ...] = ()


class CheckedOut(DomainEvent, frozen=True, kw_only=True):
    """The worker left the address; ``meta.actor`` is who said so (the worker, the second
    worker, or a team lead of the worker's service)."""

    worker_id: UUID


LoneWorkEvent = CheckedIn | CheckedOut


def expected_until(event: CheckedIn) -> datetime:
    """When the worker is expected to have left the address."""
    return event.meta.occurred_at + timedelta(minutes=event.expected_minutes)


# --- state --------------------------------------------------------------------------


class CheckIn(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    worker_id: UUID
    service: Service
    dwelling_id: UUID
    checked_in_at: datetime
    expected_minutes: int
    expected_until: datetime
    second_worker_id: UUID | None = None
    tenant_id: UUID | None = None
    review_reasons: tuple[str, ...] = ()
    checked_out_at: datetime | None = None
    checked_out_by: UUID | None = None

    @property
    def open(self) -> bool:
        return self.checked_out_at is None


def evolve(state: CheckIn | None, event: LoneWorkEvent) -> CheckIn:
    if isinstance(event, CheckedIn):
        return CheckIn(
            id=event.originator_id,
            version=event.originator_version,
            worker_id=event.worker_id,
            service=event.meta.actor.service,
            dwelling_id=event.dwelling_id,
            checked_in_at=event.meta.occurred_at,
            expected_minutes=event.expected_minutes,
            expected_until=expected_until(event),
            second_worker_id=event.second_worker_id,
            tenant_id=event.tenant_id,
            review_reasons=event.review_reasons,
        )
    if state is None:
        raise ValueError(f"{type(event).__name__} before CheckedIn")
    return msgspec.structs.replace(
        state,
        version=event.originator_version,
        checked_out_at=event.meta.occurred_at,
        checked_out_by=event.meta.actor.user_id,
    )


def replay(events: Iterable[LoneWorkEvent]) -> CheckIn | None:
    state: CheckIn | None = None
    for event in events:
        state = evolve(state, event)
    return state


KIND: Kind[CheckIn] = Kind("check_in", CheckedIn, evolve)


def not_found(check_in_id: UUID) -> UnknownAggregate:
    """The answer for a check-in that does not exist, or is not the caller's to see."""
    return UnknownAggregate("check_in_id", "must_exist", f"no check-in with id {check_in_id}")


def require(check_in: CheckIn | None, check_in_id: UUID) -> CheckIn:
    if check_in is None:
        raise not_found(check_in_id)
    return check_in


def may_see(check_in: CheckIn, user_id: UUID, member: staff.StaffMember | None) -> bool:
    """The worker, the second worker, or a lead of the worker's service (active)."""
    if user_id in (check_in.worker_id, check_in.second_worker_id):
        return True
    return (
        member is not None
        and member.id == user_id
        and member.active
        and member.service is check_in.service
        and bool(member.roles & LEAD_ROLES)
    )


# --- rules ----------------------------------------------------------------------------


def _check_minutes(minutes: int) -> int:
    if not MIN_EXPECTED_MINUTES <= minutes <= MAX_EXPECTED_MINUTES:
        raise InvalidValue(
            "expected_minutes",
            "between_5_and_720",
            f"expected_minutes must be {MIN_EXPECTED_MINUTES} to {MAX_EXPECTED_MINUTES}",
        )
    return minutes


def _second_worker_breaches(
    worker_id: UUID,
    second_worker_id: UUID | None,
    dwelling: Dwelling,
    staff_members: Mapping[UUID, staff.StaffMember],
) -> list[DomainError]:
    flag = dwelling.safety_flag
    if second_worker_id is None:
        if flag is not None and flag.needs_two_workers:
            return [
                InvalidValue(
                    "second_worker_id",
                    "two_person_address",
                    "the address is flagged two-person: nobody enters alone, "
                    "so name the second worker",
                )
            ]
        return []
    if second_worker_id == worker_id:
        return [
            InvalidValue("second_worker_id", "not_self", "the second worker must be someone else")
        ]
    if not staff.may_visit(staff_members.get(second_worker_id)):
        return [
            InvalidValue(
                "second_worker_id",
                "known_follow_up_worker",
                "second_worker_id is not an active user of a service that makes follow-up visits",
            )
        ]
    return []


def _kept_for_review(dwelling: Dwelling) -> list[str]:
    flag = dwelling.safety_flag
    return ["no_entry_address"] if flag is not None and flag.forbids_entry else []


# --- commands -----------------------------------------------------------------------


def check_in(
    check_in_id: UUID,
    dwelling: Dwelling,
    expected_minutes: int,
    meta: EventMeta,
    *,
    second_worker_id: UUID | None = None,
    tenant: Tenant | None = None,
    staff_members: Mapping[UUID, staff.StaffMember] | None = None,
    recorded_offline: bool = False,
    also_review: Collection[str] = (),
) -> CheckedIn:
    """The actor checks in at ``dwelling`` for ``expected_minutes``.

    ``staff_members`` are the users the directory knows among those named (the second
    worker). A breach of the two-person rule is refused, or, ``recorded_offline``, kept
    with the rule among its review reasons; so are ``also_review`` reasons (the sync push:
    ``outside_caseload``), which count only offline.
    """
    worker_id = meta.actor.user_id
    minutes = _check_minutes(expected_minutes)
    breaches = _second_worker_breaches(worker_id, second_worker_id, dwelling, staff_members or {})
    if breaches and not recorded_offline:
        raise breaches[0]
    reasons = [
        *(b.rule for b in breaches),
        *_kept_for_review(dwelling),
        *(also_review if recorded_offline else ()),
    ]
    return CheckedIn(
        originator_id=check_in_id,
        originator_version=1,
        meta=meta,
        worker_id=worker_id,
        dwelling_id=dwelling.id,
        expected_minutes=minutes,
        second_worker_id=second_worker_id,
        tenant_id=None if tenant is None else tenant.id,
        review_reasons=tuple(dict.fromkeys(reasons)),
    )


def check_out(
    check_in: CheckIn, meta: EventMeta, closer: staff.StaffMember | None = None
) -> CheckedOut:
    """Close the check-in. ``closer`` is the actor as the staff directory knows them
    (needed only when the actor is neither of the check-in's workers).

    Anyone else is answered as if the check-in did not exist (404), as a read would be.
    """
    if not may_see(check_in, meta.actor.user_id, closer):
        raise not_found(check_in.id)
    if not check_in.open:
        raise IllegalStateChange(
            "check_in_id", "check_in_open", "the check-in is already checked out"
        )
    if meta.occurred_at < check_in.checked_in_at:
        raise InvalidValue(
            "occurred_at",
            "not_before_check_in",
            "a check-out cannot happen before its check-in",
        )
    return CheckedOut(
        originator_id=check_in.id,
        originator_version=check_in.version + 1,
        meta=meta,
        worker_id=check_in.worker_id,
    )
