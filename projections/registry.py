"""Every projection the server runs, by name."""

from __future__ import annotations

from projections.alerts import AlertsProjection
from projections.base import Projection
from projections.caseload import CaseloadProjection
from projections.concern_tracker import ConcernTrackerProjection
from projections.handovers import HandoverScheduleProjection
from projections.lone_work import LoneWorkProjection
from projections.nav_inbox import NavInboxProjection
from projections.nav_outbox import NavOutboxProjection
from projections.risk_timeline import RiskTimelineProjection
from projections.safety_register import SafetyRegisterProjection


def all_projections() -> list[Projection]:
    return [
        HandoverScheduleProjection(),
        SafetyRegisterProjection(),
        ConcernTrackerProjection(),
        NavInboxProjection(),
        RiskTimelineProjection(),
        CaseloadProjection(),
        AlertsProjection(),
        LoneWorkProjection(),
        NavOutboxProjection(),
    ]


def rebuildable(projection: Projection) -> bool:
    """Whether the log gives the projection's tables back (not so for an outbox)."""
    return bool(getattr(projection, "rebuildable", True))


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    raise KeyError(name)
