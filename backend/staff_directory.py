"""The users table as the write model's staff directory (:class:`domain.staff.StaffDirectory`).

Commands run in a worker thread on the library's psycopg pool, so the directory reads the
users table through that same pool: no second driver or event-loop hop inside a command.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore

from backend.event_store import RECORDER_ENV
from domain.application import FollowUpApplication
from domain.municipal_services import Service
from domain.staff import StaffMember
from domain.write_model import WriteModel


class UsersTableDirectory:
    def __init__(self, datastore: PostgresDatastore) -> None:
        self._datastore = datastore

    def members(self, ids: Collection[UUID]) -> Mapping[UUID, StaffMember]:
        if not ids:
            return {}
        # One prepared statement on an autocommit connection: one round trip, no
        # BEGIN/ROLLBACK around a single read.
        with self._datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT id, service, roles, active FROM users WHERE id = ANY(%s)",
                (list(ids),),
                prepare=True,
            )
            rows = cursor.fetchall()
        known = {s.value for s in Service}
        return {
            row["id"]: StaffMember(
                id=row["id"],
                service=Service(row["service"]),
                roles=frozenset(row["roles"]),
                active=row["active"],
            )
            for row in rows
            if row["service"] in known
        }


def open_write_model(env: Mapping[str, str]) -> WriteModel:
    """The write model, with the users table as the directory of the staff commands name."""
    app = FollowUpApplication({**env, **RECORDER_ENV})
    datastore = getattr(app.recorder, "datastore", None)
    if not isinstance(datastore, PostgresDatastore):
        app.close()
        raise TypeError("the write model must be stored in PostgreSQL")
    return WriteModel(app, UsersTableDirectory(datastore))
