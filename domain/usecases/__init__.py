"""The write model's service layer: one use-case object per area, assembled in one place.

Each area's object loads the records a command needs from one request's
:class:`~domain.write_model.Records`, asks the area's pure rules (``domain/<area>.py``,
with its command structs in ``domain/<area>_commands.py``), and commits the events they
return. :class:`UseCases` is every area over the same records, so a record loaded once
(by the need-to-know check, or by one area) is not loaded again in that request.
"""

from __future__ import annotations

from domain.usecases.alerts import AlertUseCases
from domain.usecases.concerns import ConcernUseCases
from domain.usecases.consent import ConsentUseCases
from domain.usecases.handovers import HandoverUseCases
from domain.usecases.housing import HousingUseCases
from domain.usecases.individual_plans import IndividualPlanUseCases
from domain.usecases.lone_work import LoneWorkUseCases
from domain.usecases.nav import NavUseCases
from domain.usecases.rent import RentUseCases
from domain.usecases.tenants import TenantUseCases
from domain.usecases.visits import VisitUseCases
from domain.write_model import CommandResult, Records, WriteModel

__all__ = ["CommandResult", "Records", "UseCases", "WriteModel"]


class UseCases:
    """Every area's use cases over one request's records."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.tenants = TenantUseCases(records)
        self.visits = VisitUseCases(records)
        self.housing = HousingUseCases(records)
        self.concerns = ConcernUseCases(records)
        self.rent = RentUseCases(records)
        self.nav = NavUseCases(records)
        self.consents = ConsentUseCases(records)
        self.handovers = HandoverUseCases(records)
        self.plans = IndividualPlanUseCases(records)
        self.alerts = AlertUseCases(records)
        self.lone_work = LoneWorkUseCases(records)

    @classmethod
    def of(cls, model: WriteModel) -> UseCases:
        """A fresh request's use cases."""
        return cls(model.records())
