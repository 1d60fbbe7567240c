"""Risk model: how worried the services should be about a tenant, and why.

Pure and clock-free. The read side folds every event about a tenant into
:class:`RiskInputs` (:func:`fold`), and :func:`assess` turns those inputs into a level with
the reasons that produced it, *as of a given moment*: some rules depend on time passing
(a visit becomes overdue without any new event), so the current risk is always assessed
at "now", not only at the last event.

Each rule is a small pure function ``(inputs, at) -> Finding | None``; :data:`RULES` lists
them once, each with its weights by grade (e.g. arrears: one month / two or more). The
score is the sum of the weights of the findings; the level follows from the score by
:data:`LEVEL_THRESHOLDS`. Changing a rule or a weight means bumping
:data:`RISK_MODEL_VERSION` and rebuilding the ``risk_timeline`` projection
(docs/risk-model.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

import msgspec

from domain.concern import ConcernCategory, ConcernRaised, ConcernResolved
from domain.events import MUNICIPALITY_TZ, DomainEvent, local_date
from domain.handover import (
    HandoverAccepted,
    HandoverAnnounced,
    HandoverCompleted,
    HandoverDeclined,
    HandoverKind,
    HandoverLapsed,
)
from domain.municipal_services import Service
from domain.rent import (
    ArrearsCleared,
    ArrearsReported,
    EvictionCancelled,
    EvictionCarriedOut,
    EvictionDateSet,
    EvictionPetitioned,
    EvictionStage,
    EvictionWarningIssued,
)
from domain.tenant_events import (
    FollowUpEnded,
    FollowUpStarted,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedOut,
)
from domain.visit import FailureReason, VisitCompleted, VisitFailed

RISK_MODEL_VERSION = 1

FAILED_VISIT_WINDOW = timedelta(days=30)
RECENT_RELEASE_DAYS = 30
HANDOVER_NEAR_DAYS = 7
# Failed visits kept per tenant: the rule only grades 1 and 2+, so a few recent ones do.
MAX_FAILED_VISITS_KEPT = 10

RELEASE_KINDS = frozenset(
    {HandoverKind.RELEASE_FROM_PRISON, HandoverKind.DISCHARGE_FROM_INSTITUTION}
)


class RiskLevel(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    CRITICAL = "critical"


# Score at or above which each level starts (highest first); below the last: low.
LEVEL_THRESHOLDS: tuple[tuple[int, RiskLevel], ...] = (
    (10, RiskLevel.CRITICAL),
    (6, RiskLevel.HIGH),
    (3, RiskLevel.MODERATE),
)


def level_for(score: int) -> RiskLevel:
    for threshold, level in LEVEL_THRESHOLDS:
        if score >= threshold:
            return level
    return RiskLevel.LOW


# --- inputs ------------------------------------------------------------------------------


# gc=False on these structs: they never hold reference cycles, and a catch-up makes tens
# of thousands; untracked, the garbage collector neither counts nor walks them.


class RentCaseRisk(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    case_id: UUID
    months: tuple[str, ...] = ()  # unpaid months, YYYY-MM
    stage: EvictionStage = EvictionStage.NONE


class OpenConcern(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    concern_id: UUID
    category: ConcernCategory
    # Set when the concern is about the tenant's address only: it leaves with the tenant.
    dwelling_id: UUID | None = None


class OpenHandover(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    handover_id: UUID
    kind: HandoverKind
    to_service: Service
    effective_on: date
    accepted: bool = False


class RiskInputs(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, gc=False):
    """Everything the rules need to know about one tenant, folded from the event log."""

    follow_up_active: bool = False
    follow_up_started_on: date | None = None
    visit_interval_days: int | None = None
    last_visit_at: datetime | None = None
    # When recent visits failed at the door (cancelled visits do not count), oldest first.
    failed_visits: tuple[datetime, ...] = ()
    rent_cases: tuple[RentCaseRisk, ...] = ()
    open_concerns: tuple[OpenConcern, ...] = ()
    open_handovers: tuple[OpenHandover, ...] = ()
    released_on: date | None = None
    release_kind: HandoverKind | None = None
    responsible_service: Service | None = None
    responsibility_gap_since: datetime | None = None


EMPTY = RiskInputs()

_change = msgspec.structs.replace


def _with_case(
    inputs: RiskInputs, case_id: UUID, update: Callable[[RentCaseRisk], RentCaseRisk]
) -> RiskInputs:
    cases = list(inputs.rent_cases)
    for n, case in enumerate(cases):
        if case.case_id == case_id:
            cases[n] = update(case)
            break
    else:
        cases.append(update(RentCaseRisk(case_id)))
    return _change(inputs, rent_cases=tuple(cases))


def _staged(stage: EvictionStage) -> Callable[[RentCaseRisk], RentCaseRisk]:
    return lambda case: _change(case, stage=stage)


_STAGE_AFTER: dict[type[DomainEvent], EvictionStage] = {
    EvictionWarningIssued: EvictionStage.WARNED,
    EvictionPetitioned: EvictionStage.PETITIONED,
    EvictionDateSet: EvictionStage.DATE_SET,
    EvictionCarriedOut: EvictionStage.CARRIED_OUT,
    EvictionCancelled: EvictionStage.CANCELLED,
}


def _failed_visit(inputs: RiskInputs, at: datetime) -> RiskInputs:
    times = sorted((*inputs.failed_visits, at))
    newest = times[-1]
    # Older than the window before the newest failure: no assessment at or after the
    # newest failure can count it any more.
    kept = [t for t in times if t > newest - FAILED_VISIT_WINDOW][-MAX_FAILED_VISITS_KEPT:]
    return _change(inputs, failed_visits=tuple(kept))


def _handover(
    inputs: RiskInputs, handover_id: UUID, update: Callable[[OpenHandover], OpenHandover | None]
) -> RiskInputs:
    kept: list[OpenHandover] = []
    for handover in inputs.open_handovers:
        if handover.handover_id == handover_id:
            updated = update(handover)
            if updated is not None:
                kept.append(updated)
        else:
            kept.append(handover)
    return _change(inputs, open_handovers=tuple(kept))


def _settled(inputs: RiskInputs, handover_id: UUID) -> RiskInputs:
    """A handover completed or lapsed: it is no longer open; a release has happened."""
    settled = next((h for h in inputs.open_handovers if h.handover_id == handover_id), None)
    inputs = _handover(inputs, handover_id, lambda _: None)
    if settled is None or settled.kind not in RELEASE_KINDS:
        return inputs
    if inputs.released_on is not None and settled.effective_on < inputs.released_on:
        return inputs
    return _change(inputs, released_on=settled.effective_on, release_kind=settled.kind)


def fold(inputs: RiskInputs, event: DomainEvent) -> RiskInputs:
    """The tenant's risk inputs after ``event``; unchanged for events no rule looks at.

    The caller decides which tenant an event reaches (an address's concern reaches the
    people living there); this function only says what the event changes for that tenant.
    """
    if not _folds(type(event)):
        return inputs  # most events (a visit planned, a note): no rule looks at them
    match event:
        case FollowUpStarted():
            return _change(
                inputs,
                follow_up_active=True,
                follow_up_started_on=event.started_on,
                visit_interval_days=event.visit_interval_days,
            )
        case FollowUpEnded():
            return _change(inputs, follow_up_active=False)
        case ResponsibilityAssigned():
            return _change(inputs, responsible_service=event.service, responsibility_gap_since=None)
        case ResponsibilityLapsed():
            return _change(
                inputs,
                responsible_service=None,
                responsibility_gap_since=event.meta.occurred_at,
            )
        case TenantMovedOut():
            # Concerns about the address alone stay with the address (a tenant moving in
            # takes them on: :func:`with_address_concerns`).
            if not any(c.dwelling_id == event.dwelling_id for c in inputs.open_concerns):
                return inputs
            concerns = tuple(c for c in inputs.open_concerns if c.dwelling_id != event.dwelling_id)
            return _change(inputs, open_concerns=concerns)
        case VisitCompleted():
            at = event.meta.occurred_at
            if inputs.last_visit_at is not None and inputs.last_visit_at >= at:
                return inputs
            return _change(inputs, last_visit_at=at)
        case VisitFailed():
            if event.reason is FailureReason.CANCELLED:
                return inputs
            return _failed_visit(inputs, event.meta.occurred_at)
        case ArrearsReported():
            month = event.month
            return _with_case(
                inputs,
                event.originator_id,
                lambda case: _change(case, months=tuple(sorted({*case.months, month}))),
            )
        case ArrearsCleared():
            return _with_case(inputs, event.originator_id, lambda case: _change(case, months=()))
        case (
            EvictionWarningIssued()
            | EvictionPetitioned()
            | EvictionDateSet()
            | EvictionCarriedOut()
            | EvictionCancelled()
        ):
            return _with_case(inputs, event.originator_id, _staged(_STAGE_AFTER[type(event)]))
        case ConcernRaised():
            if any(c.concern_id == event.originator_id for c in inputs.open_concerns):
                return inputs
            concern = OpenConcern(
                event.originator_id,
                event.category,
                event.dwelling_id if event.tenant_id is None else None,
            )
            return _change(inputs, open_concerns=(*inputs.open_concerns, concern))
        case ConcernResolved():
            concerns = tuple(c for c in inputs.open_concerns if c.concern_id != event.originator_id)
            return _change(inputs, open_concerns=concerns)
        case HandoverAnnounced():
            handover = OpenHandover(
                event.originator_id, event.kind, event.to_service, event.effective_on
            )
            return _change(inputs, open_handovers=(*inputs.open_handovers, handover))
        case HandoverAccepted():
            return _handover(inputs, event.originator_id, lambda h: _change(h, accepted=True))
        case HandoverDeclined():
            return _handover(inputs, event.originator_id, lambda h: _change(h, accepted=False))
        case HandoverCompleted() | HandoverLapsed():
            return _settled(inputs, event.originator_id)
    return inputs


# Every event class :func:`fold` has a case for (keep in step with its ``match``).
_FOLDED: tuple[type[DomainEvent], ...] = (
    FollowUpStarted,
    FollowUpEnded,
    ResponsibilityAssigned,
    ResponsibilityLapsed,
    TenantMovedOut,
    VisitCompleted,
    VisitFailed,
    ArrearsReported,
    ArrearsCleared,
    EvictionWarningIssued,
    EvictionPetitioned,
    EvictionDateSet,
    EvictionCarriedOut,
    EvictionCancelled,
    ConcernRaised,
    ConcernResolved,
    HandoverAnnounced,
    HandoverAccepted,
    HandoverDeclined,
    HandoverCompleted,
    HandoverLapsed,
)
_folds_cache: dict[type, bool] = {}


def _folds(cls: type) -> bool:
    """Whether :func:`fold` may change the inputs for an event of class ``cls``."""
    try:
        return _folds_cache[cls]
    except KeyError:
        answer = _folds_cache[cls] = issubclass(cls, _FOLDED)
        return answer


def with_address_concerns(inputs: RiskInputs, concerns: Sequence[OpenConcern]) -> RiskInputs:
    """A tenant moving in takes on the open concerns about the address itself."""
    known = {c.concern_id for c in inputs.open_concerns}
    added = tuple(c for c in concerns if c.concern_id not in known)
    if not added:
        return inputs
    return _change(inputs, open_concerns=(*inputs.open_concerns, *added))


# --- time ---------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def start_of_day(day: date) -> datetime:
    """Midnight in the municipality at the start of ``day`` (as a UTC time: cheap to compare)."""
    return datetime.combine(day, time(0), tzinfo=MUNICIPALITY_TZ).astimezone(UTC)


def visit_due_at(
    follow_up_started_on: date | None,
    visit_interval_days: int | None,
    last_visit_at: datetime | None,
) -> datetime | None:
    """When the next completed visit is due: one interval after the last visit, or after
    the follow-up started when there has been none since. None without an interval."""
    if follow_up_started_on is None or visit_interval_days is None:
        return None
    since = start_of_day(follow_up_started_on)
    if last_visit_at is not None and last_visit_at > since:
        since = last_visit_at
    return since + timedelta(days=visit_interval_days)


def is_overdue(inputs: RiskInputs, at: datetime) -> bool:
    due = visit_due_at(
        inputs.follow_up_started_on, inputs.visit_interval_days, inputs.last_visit_at
    )
    return inputs.follow_up_active and due is not None and at > due


# --- rules ---------------------------------------------------------------------------------


class Finding(msgspec.Struct, frozen=True, gc=False):
    """What a rule found: which of its weights apply (summed), and a short detail.

    Details are built from categories, counts and dates only: never free text or names.
    """

    grades: tuple[str, ...]
    detail: str


def _found(grade: str, detail: str) -> Finding:
    return Finding((grade,), detail)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def arrears_months(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.rent_cases:
        return None
    months = {m for case in inputs.rent_cases for m in case.months}
    if not months:
        return None
    grade = "one_month" if len(months) == 1 else "two_or_more_months"
    return _found(grade, f"{_plural(len(months), 'month')} of rent unpaid")


_STAGE_GRADE = {
    EvictionStage.WARNED: ("warned", "eviction warning issued (§ 4-18)"),
    EvictionStage.PETITIONED: ("petitioned", "eviction petitioned"),
    EvictionStage.DATE_SET: ("date_set", "eviction date set"),
}
_STAGE_RANK = {stage: n for n, stage in enumerate(_STAGE_GRADE)}


def eviction_stage(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.rent_cases:
        return None
    stages = [c.stage for c in inputs.rent_cases if c.stage in _STAGE_GRADE]
    if not stages:
        return None
    grade, detail = _STAGE_GRADE[max(stages, key=_STAGE_RANK.__getitem__)]
    return _found(grade, detail)


def failed_visits(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.failed_visits:
        return None
    count = sum(1 for t in inputs.failed_visits if at - FAILED_VISIT_WINDOW < t <= at)
    if count == 0:
        return None
    grade = "one" if count == 1 else "two_or_more"
    return _found(grade, f"{_plural(count, 'failed visit')} in the last 30 days")


def visit_overdue(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.follow_up_active:
        return None
    due = visit_due_at(
        inputs.follow_up_started_on, inputs.visit_interval_days, inputs.last_visit_at
    )
    if not inputs.follow_up_active or due is None or at <= due:
        return None
    assert inputs.visit_interval_days is not None and inputs.follow_up_started_on is not None
    interval = timedelta(days=inputs.visit_interval_days)
    grade = "two_intervals" if at > due + interval else "overdue"
    last = inputs.last_visit_at
    if last is not None and last > start_of_day(inputs.follow_up_started_on):
        since = f"since {local_date(last).isoformat()}"
    else:
        since = f"since the follow-up started {inputs.follow_up_started_on.isoformat()}"
    return _found(
        grade, f"no completed visit {since} (planned every {inputs.visit_interval_days} days)"
    )


def open_concerns(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.open_concerns:
        return None
    categories = sorted({c.category for c in inputs.open_concerns})
    if not categories:
        return None
    names = ", ".join(c.value.replace("_", " ") for c in categories)
    return Finding(
        tuple(c.value for c in categories),
        f"{_plural(len(inputs.open_concerns), 'open concern')}: {names}",
    )


_RELEASED = {
    HandoverKind.RELEASE_FROM_PRISON: "released from prison",
    HandoverKind.DISCHARGE_FROM_INSTITUTION: "discharged from an institution",
}


def recent_release(inputs: RiskInputs, at: datetime) -> Finding | None:
    if inputs.released_on is None or inputs.release_kind is None:
        return None
    days = (local_date(at) - inputs.released_on).days
    if not 0 <= days <= RECENT_RELEASE_DAYS:
        return None
    return _found(
        "within_30_days", f"{_RELEASED[inputs.release_kind]} on {inputs.released_on.isoformat()}"
    )


def no_responsible_service(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.follow_up_active or inputs.responsible_service is not None:
        return None
    if inputs.responsibility_gap_since is not None:
        since = local_date(inputs.responsibility_gap_since).isoformat()
        return _found("gap", f"no responsible service since {since} (responsibility lapsed)")
    return _found("never_assigned", "no responsible service assigned")


def unaccepted_handover(inputs: RiskInputs, at: datetime) -> Finding | None:
    if not inputs.open_handovers:
        return None
    today = local_date(at)
    waiting = [
        h
        for h in inputs.open_handovers
        if not h.accepted and (h.effective_on - today).days <= HANDOVER_NEAR_DAYS
    ]
    if not waiting:
        return None
    first = min(waiting, key=lambda h: h.effective_on)
    when = first.effective_on.isoformat()
    if first.effective_on <= today:
        return _found(
            "date_passed", f"handover to {first.to_service.value} from {when} not accepted"
        )
    return _found("date_near", f"handover to {first.to_service.value} on {when} not yet accepted")


# --- when time-dependent rules change their answer --------------------------------------------
#
# A rule whose answer can change with time alone (no new event) says when: every moment at
# which its finding for these inputs may differ from the moment before. Until the earliest
# of them, an assessment stays true (:func:`stable_until`), so a read can reuse a stored
# assessment instead of assessing again. Moments too early are harmless; a missing one is
# a bug (tests/test_risk_rules.py sweeps time to catch it).


_TICK = timedelta(microseconds=1)  # the resolution of datetime


# These answer tuples, not generators: stable_until asks them for every tenant's event in
# a catch-up, and most inputs have nothing to say.


def failed_visit_changes(inputs: RiskInputs) -> tuple[datetime, ...]:
    if not inputs.failed_visits:
        return ()
    # Each failure enters the window, then leaves it.
    return tuple(m for t in inputs.failed_visits for m in (t, t + FAILED_VISIT_WINDOW))


def overdue_changes(inputs: RiskInputs) -> tuple[datetime, ...]:
    if not inputs.follow_up_active or inputs.visit_interval_days is None:
        return ()
    due = visit_due_at(
        inputs.follow_up_started_on, inputs.visit_interval_days, inputs.last_visit_at
    )
    if due is None:
        return ()
    # Overdue means strictly after the due time: from one microsecond later.
    return (due + _TICK, due + timedelta(days=inputs.visit_interval_days) + _TICK)


def release_changes(inputs: RiskInputs) -> tuple[datetime, ...]:
    if inputs.released_on is None:
        return ()
    return (
        start_of_day(inputs.released_on),
        start_of_day(inputs.released_on + timedelta(days=RECENT_RELEASE_DAYS + 1)),
    )


def handover_changes(inputs: RiskInputs) -> tuple[datetime, ...]:
    return tuple(
        moment
        for handover in inputs.open_handovers
        if not handover.accepted
        for moment in (
            start_of_day(handover.effective_on - timedelta(days=HANDOVER_NEAR_DAYS)),
            start_of_day(handover.effective_on),
        )
    )


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[[RiskInputs, datetime], Finding | None]
    weights: Mapping[str, int]
    # For a rule that depends on time passing: when its answer may change.
    changes: Callable[[RiskInputs], Iterable[datetime]] | None = None


# The model. Each weight and why: docs/risk-model.md. Change it => bump RISK_MODEL_VERSION.
RULES: tuple[Rule, ...] = (
    Rule("arrears_months", arrears_months, {"one_month": 1, "two_or_more_months": 3}),
    Rule("eviction_stage", eviction_stage, {"warned": 3, "petitioned": 5, "date_set": 7}),
    Rule("failed_visits", failed_visits, {"one": 1, "two_or_more": 3}, failed_visit_changes),
    Rule("visit_overdue", visit_overdue, {"overdue": 2, "two_intervals": 4}, overdue_changes),
    Rule(
        "open_concerns",
        open_concerns,
        {
            ConcernCategory.FIRE_SAFETY.value: 3,
            ConcernCategory.WELLBEING.value: 3,
            ConcernCategory.HOARDING.value: 2,
            ConcernCategory.NEIGHBOUR_CONFLICT.value: 1,
            ConcernCategory.DAMAGE.value: 1,
            ConcernCategory.RENT_ARREARS.value: 1,
            ConcernCategory.OTHER.value: 1,
        },
    ),
    Rule("recent_release", recent_release, {"within_30_days": 3}, release_changes),
    Rule("no_responsible_service", no_responsible_service, {"gap": 4, "never_assigned": 2}),
    Rule(
        "unaccepted_handover",
        unaccepted_handover,
        {"date_near": 2, "date_passed": 3},
        handover_changes,
    ),
)


# --- assessment -----------------------------------------------------------------------------


class Reason(msgspec.Struct, frozen=True, gc=False):
    rule: str
    weight: int
    detail: str


class Assessment(msgspec.Struct, frozen=True, gc=False):
    level: RiskLevel
    score: int
    reasons: tuple[Reason, ...]
    model_version: int


def reason_of(rule: Rule, inputs: RiskInputs, at: datetime) -> Reason | None:
    """The reason ``rule`` gives for ``inputs`` at ``at``, or None if it does not fire."""
    finding = rule.check(inputs, at)
    if finding is None:
        return None
    return Reason(rule.name, sum(rule.weights[g] for g in finding.grades), finding.detail)


def assess(inputs: RiskInputs, at: datetime, rules: Sequence[Rule] | None = None) -> Assessment:
    """The tenant's risk as of ``at`` (timezone-aware), with every reason that fired."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    reasons: list[Reason] = []
    score = 0
    # reason_of, inlined: this runs for every event of every tenant in a catch-up.
    for rule in RULES if rules is None else rules:
        finding = rule.check(inputs, at)
        if finding is not None:
            grades = finding.grades
            weights = rule.weights
            weight = weights[grades[0]] if len(grades) == 1 else sum(weights[g] for g in grades)
            reasons.append(Reason(rule.name, weight, finding.detail))
            score += weight
    return Assessment(level_for(score), score, tuple(reasons), RISK_MODEL_VERSION)


def stable_until(
    inputs: RiskInputs, at: datetime, rules: Sequence[Rule] | None = None
) -> datetime | None:
    """How long :func:`assess` ``(inputs, at)`` stays the answer as time passes with no new
    event: until the moment returned (exclusive), or for ever (None)."""
    until: datetime | None = None
    for rule in RULES if rules is None else rules:
        if rule.changes is not None:
            for moment in rule.changes(inputs):
                if moment > at and (until is None or moment < until):
                    until = moment
    return until


def rule_named(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)


_INPUTS_ENCODER = msgspec.msgpack.Encoder()
_INPUTS_DECODER = msgspec.msgpack.Decoder(RiskInputs)


def encode_inputs(inputs: RiskInputs) -> bytes:
    return _INPUTS_ENCODER.encode(inputs)


def decode_inputs(data: bytes) -> RiskInputs:
    return _INPUTS_DECODER.decode(data)
