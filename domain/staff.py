"""Staff a command names: the workers on a visit, a contact worker, a plan's coordinator.

A person named in a command must be a real, active user who may do that work; otherwise a
two-person address could be "visited by two" with a made-up colleague. Who the users are
lives outside the event log (sign-in owns them), so the write model asks a
:class:`StaffDirectory` and these pure rules decide.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol
from uuid import UUID

import msgspec

from domain.errors import InvalidValue
from domain.municipal_services import Service

# Role names as sign-in stores them (backend/auth/roles.py; a test keeps them equal).
FIELD_WORKER = "field_worker"
TEAM_LEAD = "team_lead"
SERVICE_STAFF = "service_staff"
ADMIN = "admin"

# Roles that follow tenants up: they visit, and may be a tenant's contact.
FOLLOW_UP_ROLES = frozenset({FIELD_WORKER, TEAM_LEAD, SERVICE_STAFF})
# Services whose staff never make follow-up visits: the landlord (FBE), NAV, the
# administrators. They may still be named as a contact of their own service.
SERVICES_THAT_DO_NOT_VISIT = frozenset({Service.PROPERTY_MANAGER, Service.NAV, Service.ADMIN})


class StaffMember(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    service: Service
    roles: frozenset[str]
    active: bool


class StaffDirectory(Protocol):
    """Who the users named by a command are (the ones it does not know are left out)."""

    def members(self, ids: Collection[UUID]) -> Mapping[UUID, StaffMember]: ...


class NoStaffDirectory:
    """A write model built without a directory knows nobody: every named person is refused."""

    def members(self, ids: Collection[UUID]) -> Mapping[UUID, StaffMember]:
        return {}


def may_visit(member: StaffMember | None) -> bool:
    return (
        member is not None
        and member.active
        and member.service not in SERVICES_THAT_DO_NOT_VISIT
        and bool(member.roles & FOLLOW_UP_ROLES)
    )


def may_act_for(member: StaffMember | None, service: Service) -> bool:
    """An active user of ``service`` who works for it (an administrator alone does not)."""
    return (
        member is not None
        and member.active
        and member.service is service
        and bool(member.roles - {ADMIN})
    )


def not_visitors(
    worker_ids: Collection[UUID], staff: Mapping[UUID, StaffMember]
) -> frozenset[UUID]:
    """The named workers who may not make a follow-up visit (unknown ones included)."""
    return frozenset(w for w in worker_ids if not may_visit(staff.get(w)))


def require_worker_of(
    worker_id: UUID, service: Service, staff: Mapping[UUID, StaffMember], field: str
) -> None:
    """The named contact or coordinator must be an active user of the service named."""
    if not may_act_for(staff.get(worker_id), service):
        raise InvalidValue(
            field,
            "active_user_of_service",
            f"{field} must be an active user of the service {service.value}",
        )
