"""Every projection the server runs, by name."""

from __future__ import annotations

from projections.base import Projection
from projections.handovers import HandoverScheduleProjection
from projections.timeline import TimelineProjection


def all_projections() -> list[Projection]:
    return [TimelineProjection(), HandoverScheduleProjection()]


def by_name(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    raise KeyError(name)
