"""The event store's recorder: the library's PostgreSQL recorder, and a commit's receipt.

A receipt (:class:`domain.write_model.CommitReceipt`) is written in the transaction that
stores the events, after them, so it can name the log position they reached: a device's
item outcome (:mod:`sync.outcomes`) is stored with the events the item produced, or not
at all (decision 55). A receipt that cannot be written (its key is taken: another request
decided the item first) fails the statement, which aborts the transaction: the events are
not stored either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic, retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


class WrittenReceipt(Protocol):
    def write(self, cursor: Cursor[DictRow], positions: Sequence[int]) -> None:
        """Write the receipt; ``positions`` are the events', in the order they were saved."""
        ...


class ReceiptRecorder(PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert; with a receipt, always by statements in one transaction.

        With ``POSTGRES_ENABLE_DB_FUNCTIONS`` the library inserts through a database
        function and never calls :meth:`_fetch_ids_after_insert_events`, so a receipt
        would be silently dropped (the events stored without their item's outcome).
        """
        ids: Sequence[int] | None
        if kwargs.get("receipt") is None or not self.datastore.enable_db_functions:
            ids = super().insert_events(stored_events, **kwargs)
        else:
            ids = self._insert_by_statements(stored_events, **kwargs)
        return ids

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_by_statements(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The library's own statement path (PostgresApplicationRecorder.insert_events).
        exc: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs:
                    self._insert_events(curs, stored_events, **kwargs)
                if len(stored_events) > 0:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            pipeline.sync()
                            notification_ids = self._fetch_ids_after_insert_events(
                                curs, stored_events, **kwargs
                            )
                        except Exception as e:  # re-raised once the pipeline has exited
                            exc = e
            if exc:
                raise exc
        return notification_ids

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        receipt: WrittenReceipt | None = kwargs.get("receipt")
        if receipt is not None and ids:
            receipt.write(curs, ids)
        return ids

    def select_events_after(self, after: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """The events of several records in one query: each record's events after the
        version given for it (0: all of them), by record, oldest first."""
        if not after:
            return []
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::uuid[], %s::bigint[]) AS a(originator_id, after_version) "
            "JOIN {schema}.{table} e ON e.originator_id = a.originator_id "
            "AND e.originator_version > a.after_version "
            "ORDER BY e.originator_id, e.originator_version"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, ([a[0] for a in after], [a[1] for a in after]), prepare=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]


RECORDER_ENV = {"APPLICATION_RECORDER_TOPIC": get_topic(ReceiptRecorder)}
