"""The write model: every area's use cases on the eventsourcing PostgreSQL event store.

The library's table lock gives every event a gap-free position in one global order.
Commands answer that position, so callers can ask a read model to have caught up with
their own write. No clock reads here: ``now`` is always passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from eventsourcing.utils import get_topic

from domain.codec import MsgspecMapper
from domain.usecases.base import CommandResult
from domain.usecases.concerns import ConcernUseCases
from domain.usecases.consent import ConsentUseCases
from domain.usecases.handovers import HandoverUseCases
from domain.usecases.housing import HousingUseCases
from domain.usecases.individual_plans import IndividualPlanUseCases
from domain.usecases.nav import NavUseCases
from domain.usecases.rent import RentUseCases
from domain.usecases.visits import VisitUseCases

__all__ = ["CommandResult", "FollowUpApplication"]


class FollowUpApplication(
    HandoverUseCases,
    IndividualPlanUseCases,
    VisitUseCases,
    HousingUseCases,
    ConcernUseCases,
    RentUseCases,
    NavUseCases,
    ConsentUseCases,
):
    """Records the facts of housing follow-up as events in PostgreSQL."""

    name = "Folgja"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        # Alembic owns all DDL, the event store's included.
        "CREATE_TABLE": "no",
    }

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
