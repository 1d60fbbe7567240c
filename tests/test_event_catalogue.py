"""The event catalogue (docs/domain-events.md) says who records each fact as the policy does."""

from __future__ import annotations

import re
from pathlib import Path

import domain
from backend.auth.recorded_by import RECORDED_BY, raised_by
from backend.auth.roles import Role
from domain import staff
from domain.application import FollowUpApplication  # noqa: F401 (imports every area)
from domain.events import DomainEvent

CATALOGUE = Path(__file__).resolve().parents[1] / "docs" / "domain-events.md"
ROW = re.compile(r"^\| `([A-Z]\w+)` \| ([^|]*) \|", re.MULTILINE)


def _event_classes() -> set[str]:
    """Every concrete event of the domain (the classes with no subclasses)."""
    found: set[str] = set()
    todo = list(DomainEvent.__subclasses__())
    while todo:
        cls = todo.pop()
        subclasses = cls.__subclasses__()
        todo.extend(subclasses)
        if not subclasses and cls.__module__.startswith(domain.__name__ + "."):
            found.add(cls.__name__)
    return found


def test_every_event_of_the_domain_has_a_row_and_a_recorder() -> None:
    rows = dict(ROW.findall(CATALOGUE.read_text()))
    assert _event_classes() == set(RECORDED_BY) == set(rows)


def test_the_catalogue_names_who_records_each_fact_as_the_policy_does() -> None:
    for event, cell in ROW.findall(CATALOGUE.read_text()):
        assert cell.strip() == raised_by(event), event


def test_the_landlord_records_the_tenants_objection_to_nav_notice() -> None:
    assert "FBE" in raised_by("NavNoticeOptedOut")


def test_the_domain_names_roles_as_sign_in_does() -> None:
    names = {r.value for r in Role}
    assert names >= staff.FOLLOW_UP_ROLES
    assert Role.ADMIN.value == staff.ADMIN
