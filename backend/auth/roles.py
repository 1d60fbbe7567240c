"""Roles and the verified caller (principal)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

import msgspec

from domain.events import Actor
from domain.municipal_services import Service


class Role(StrEnum):
    FIELD_WORKER = "field_worker"
    TEAM_LEAD = "team_lead"
    PROPERTY_MANAGER = "property_manager"
    NAV_OFFICER = "nav_officer"
    SERVICE_STAFF = "service_staff"
    ADMIN = "admin"


class TokenKind(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"
    DEVICE = "device"


class SignIn(StrEnum):
    """How the session behind a token began."""

    PASSWORD = "password"
    DEVICE_CREDENTIAL = "device_credential"
    # Verified by an external identity provider (an OIDC issuer).
    EXTERNAL = "external"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """A caller whose bearer token has been verified: who, for which service, as what."""

    user_id: UUID
    username: str
    service: Service
    # In the order of :class:`Role` (so answers are stable); use :meth:`has_any` to test.
    roles: tuple[Role, ...]
    device_id: UUID | None = None
    token_kind: TokenKind = TokenKind.ACCESS
    signed_in_with: SignIn = SignIn.PASSWORD

    def has_any(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    def actor(self) -> Actor:
        """The provenance the write model records for this caller."""
        return Actor(user_id=self.user_id, service=self.service)
