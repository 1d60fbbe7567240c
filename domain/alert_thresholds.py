"""Each time rule's thresholds, as one municipality sets them (``config/alerts.toml``).

The defaults here are the ones written in that file (a test keeps them equal), so a
server started without a file of its own behaves as documented in ``docs/alerts.md``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

Days = Annotated[int, msgspec.Meta(ge=0, le=366)]
PositiveDays = Annotated[int, msgspec.Meta(ge=1, le=366)]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=24 * 60)]
Username = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _Rule(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class VisitOverdue(_Rule, frozen=True, kw_only=True):
    grace_days: Days = 3
    escalate_after_days: PositiveDays = 2


class ConcernUnacknowledged(_Rule, frozen=True, kw_only=True):
    working_days: PositiveDays = 3
    escalate_after_working_days: PositiveDays = 2


class NavNotificationUnacknowledged(_Rule, frozen=True, kw_only=True):
    days: PositiveDays = 5


class EvictionPetitionAllowed(_Rule, frozen=True, kw_only=True):
    days: PositiveDays = 14


class HandoverUnaccepted(_Rule, frozen=True, kw_only=True):
    days_before: Days = 7


class NoResponsibleService(_Rule, frozen=True, kw_only=True):
    days: Days = 1


class SafetyFlagReviewDue(_Rule, frozen=True, kw_only=True):
    days_before: Days = 0


class DeviceNotSynced(_Rule, frozen=True, kw_only=True):
    days: PositiveDays = 3


class CheckOutMissing(_Rule, frozen=True, kw_only=True):
    grace_minutes: Minutes = 15
    escalate_after_minutes: Minutes = 10
    # Per service (its value, e.g. "tiltaksteamet"): usernames called after the leads.
    escalation_lists: dict[str, tuple[Username, ...]] = {}


class AlertThresholds(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    visit_overdue: VisitOverdue = VisitOverdue()
    concern_unacknowledged: ConcernUnacknowledged = ConcernUnacknowledged()
    nav_notification_unacknowledged: NavNotificationUnacknowledged = NavNotificationUnacknowledged()
    eviction_petition_allowed: EvictionPetitionAllowed = EvictionPetitionAllowed()
    handover_unaccepted: HandoverUnaccepted = HandoverUnaccepted()
    no_responsible_service: NoResponsibleService = NoResponsibleService()
    safety_flag_review_due: SafetyFlagReviewDue = SafetyFlagReviewDue()
    device_not_synced: DeviceNotSynced = DeviceNotSynced()
    check_out_missing: CheckOutMissing = CheckOutMissing()


def decode_thresholds(toml_text: bytes | str) -> AlertThresholds:
    """A municipality's file; raises ``msgspec.ValidationError`` naming the bad key."""
    return msgspec.toml.decode(toml_text, type=AlertThresholds)
