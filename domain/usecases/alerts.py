"""Use cases for alerts (varsler): raised, escalated and cleared by the time rules,
acknowledged by a recipient."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

from domain import alerts
from domain.alert_commands import AcknowledgeAlert
from domain.alerts import Finding
from domain.errors import ConcurrentChange
from domain.events import SYSTEM_ACTOR, Actor, event_meta
from domain.write_model import CommandResult, Records


class AlertUseCases:
    def __init__(self, records: Records) -> None:
        self.records = records

    def raise_alerts(self, findings: Sequence[Finding], now: datetime) -> list[UUID]:
        """Raise an alert for each finding that has none yet; answer the ones raised.

        The ids are derived from the findings, so an alert raised before (by an earlier
        run, or by another process meanwhile) is never raised twice: it is skipped, or the
        commit meets it and the findings are raised one by one to find which.
        """
        meta = event_meta(SYSTEM_ACTOR, now, now)
        new = [
            alerts.raise_alert(f, meta)
            for f in findings
            if self.records.first_event(f.alert_id) is None
        ]
        if not new:
            return []
        try:
            self.records.commit(*new)
            return [e.originator_id for e in new]
        except ConcurrentChange:
            raised: list[UUID] = []
            for event in new:
                try:
                    self.records.commit(event)
                except ConcurrentChange:
                    continue  # another process raised this one first
                raised.append(event.originator_id)
            return raised

    def escalate_alert(
        self, finding: Finding, due: Callable[[datetime], bool], now: datetime
    ) -> CommandResult | None:
        """Tell the next tier if the alert is still open, a tier is left, and ``due`` says
        the tier told last (as the record has it) has waited long enough."""
        alert = self.records.load(alerts.KIND, finding.alert_id)
        if (
            alert is None
            or not alert.is_open
            or alert.tier + 1 >= len(finding.tiers)
            or not due(alert.tier_since)
        ):
            return None
        event = alerts.escalate(alert, finding, event_meta(SYSTEM_ACTOR, now, now))
        return self.records.result(alert.id, event)

    def clear_alert(self, alert_id: UUID, now: datetime) -> CommandResult | None:
        """Its cause no longer holds: close it (nothing if it is closed already)."""
        alert = self.records.load(alerts.KIND, alert_id)
        if alert is None or not alert.is_open:
            return None
        event = alerts.clear(alert, event_meta(SYSTEM_ACTOR, now, now))
        return self.records.result(alert_id, event)

    def acknowledge_alert(
        self, alert_id: UUID, cmd: AcknowledgeAlert, actor: Actor, now: datetime
    ) -> CommandResult:
        meta = self.records.meta(cmd, actor, now)
        alert = self.records.load(alerts.KIND, alert_id)
        # An alert the caller was not told of is answered as no alert (need to know).
        if alert is None or actor.user_id not in alert.recipients:
            raise alerts.no_such_alert(alert_id)
        return self.records.result(alert_id, alerts.acknowledge(alert, cmd.note, meta))
