"""Individual plan (individuell plan): a coordinator and a responsibility group (ansvarsgruppe)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from domain.errors import IllegalStateChange, InvalidValue
from domain.events import EventMeta
from domain.municipal_services import Service
from domain.tenant import Tenant
from domain.tenant_events import (
    IndividualPlan,
    IndividualPlanChanged,
    IndividualPlanEnded,
    IndividualPlanStarted,
)


def _group(coordinator_service: Service, group: Sequence[Service]) -> tuple[Service, ...]:
    # The coordinator's service always sits in the responsibility group.
    return tuple(dict.fromkeys((coordinator_service, *group)))


def _has_active_plan(tenant: Tenant) -> bool:
    return tenant.individual_plan is not None and tenant.individual_plan.ended_on is None


def start_plan(
    tenant: Tenant,
    started_on: date,
    coordinator_worker_id: UUID,
    coordinator_service: Service,
    group: Sequence[Service],
    meta: EventMeta,
) -> IndividualPlanStarted:
    if _has_active_plan(tenant):
        raise IllegalStateChange("tenant_id", "no_active_plan", "the tenant already has a plan")
    plan = IndividualPlan(
        started_on=started_on,
        coordinator_worker_id=coordinator_worker_id,
        coordinator_service=coordinator_service,
        group=_group(coordinator_service, group),
    )
    return IndividualPlanStarted(
        originator_id=tenant.id, originator_version=tenant.version + 1, meta=meta, plan=plan
    )


def change_plan(
    tenant: Tenant,
    coordinator_worker_id: UUID,
    coordinator_service: Service,
    group: Sequence[Service],
    meta: EventMeta,
) -> IndividualPlanChanged:
    if not _has_active_plan(tenant):
        raise IllegalStateChange("tenant_id", "active_plan", "the tenant has no active plan")
    return IndividualPlanChanged(
        originator_id=tenant.id,
        originator_version=tenant.version + 1,
        meta=meta,
        coordinator_worker_id=coordinator_worker_id,
        coordinator_service=coordinator_service,
        group=_group(coordinator_service, group),
    )


def end_plan(tenant: Tenant, ended_on: date, meta: EventMeta) -> IndividualPlanEnded:
    if not _has_active_plan(tenant):
        raise IllegalStateChange("tenant_id", "active_plan", "the tenant has no active plan")
    assert tenant.individual_plan is not None
    if ended_on < tenant.individual_plan.started_on:
        raise InvalidValue("ended_on", "not_before_start", "ended_on is before the plan started")
    return IndividualPlanEnded(
        originator_id=tenant.id, originator_version=tenant.version + 1, meta=meta, ended_on=ended_on
    )
