"""The municipal services that share responsibility for tenants."""

from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    """A municipal service (tjeneste) or partner that holds or shares responsibility."""

    OUTREACH_TEAM = "tiltaksteamet"
    PROPERTY_MANAGER = "fbe"
    NAV = "nav"
    REFUGEE_CENTRE = "innvandrersenteret"
    CARE = "omsorg"
    MENTAL_HEALTH = "helse_psykiatri"
    CHILD_AND_YOUTH = "barn_og_unge"
    CORRECTIONAL_SERVICE = "kriminalomsorgen"
    COORDINATING_UNIT = "koordinerende_enhet"
    ADMIN = "admin"
