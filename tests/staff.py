"""Real users for tests that drive the write model without the HTTP app.

Commands name people (a visit's workers, a contact worker) who must be active users of a
service that may do the work; these tests make them in the users table, as an
administrator would, before the write model is asked to name them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg

from backend.database import DatabaseUrl
from domain.municipal_services import Service

# By service: the role its staff have in these tests.
ROLE_BY_SERVICE = {
    Service.OUTREACH_TEAM: "field_worker",
    Service.PROPERTY_MANAGER: "property_manager",
    Service.NAV: "nav_officer",
    Service.ADMIN: "admin",
}


def enrol_staff(database: DatabaseUrl, staff: Iterable[tuple[uuid.UUID, Service]]) -> None:
    """Make each (user id, service) an active user of that service (kept if already there)."""
    with psycopg.connect(database.url, autocommit=True) as conn:
        for user_id, service in staff:
            conn.execute(
                """
                INSERT INTO users (id, username, display_name, service, roles, password_hash,
                                   active, created_at)
                VALUES (%s, %s, %s, %s, %s, NULL, true, %s)
                ON CONFLICT (id) DO NOTHING
                """,
                (
                    user_id,
                    f"staff-{user_id.hex}",
                    f"Test staff {user_id.hex[:8]}",
                    service.value,
                    [ROLE_BY_SERVICE.get(service, "service_staff")],
                    datetime.now(UTC),
                ),
            )
