"""Timeline summaries of NAV notifications: what NAV was told, and its answer's kind only."""

from __future__ import annotations

from domain.nav import (
    NavNotificationAcknowledged,
    NavNotificationAnswered,
    NavNotificationSent,
    NoticeBasis,
)
from projections.summaries.core import Summary, summarize

_BASIS = {NoticeBasis.CONSENT: "consent", NoticeBasis.HUSLEIELOVEN_9_11: "husleieloven § 9-11"}


@summarize.register
def _(event: NavNotificationSent) -> Summary:
    trigger = event.trigger.value.replace("_", " ")
    return event.tenant_id, f"NAV notified of {trigger} (basis: {_BASIS[event.basis]})"


@summarize.register
def _(event: NavNotificationAcknowledged) -> Summary:
    return event.tenant_id, "NAV acknowledged the notification"


@summarize.register
def _(event: NavNotificationAnswered) -> Summary:
    return event.tenant_id, f"NAV answered: {event.answer.value.replace('_', ' ')}"
