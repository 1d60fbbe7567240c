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

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic
from psycopg import Cursor
from psycopg.rows import DictRow


class WrittenReceipt(Protocol):
    def write(self, cursor: Cursor[DictRow], position: int) -> None: ...


class ReceiptRecorder(PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if kwargs.get("receipt") is None or not self.datastore.enable_db_functions:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        # The library's database-function path (POSTGRES_ENABLE_DB_FUNCTIONS) takes no
        # kwargs and never reaches _fetch_ids_after_insert_events: a commit with a receipt
        # takes the statement path (the same table lock and notify), where it is written.
        exc: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                if stored_events:
                    with conn.cursor() as curs:
                        try:
                            self._insert_stored_events(curs, stored_events, **kwargs)
                            pipeline.sync()
                            notification_ids = self._fetch_ids_after_insert_events(
                                curs, stored_events, **kwargs
                            )
                        except Exception as e:  # re-raised once the pipeline is closed
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
            receipt.write(curs, max(ids))
        return ids


RECORDER_ENV = {"APPLICATION_RECORDER_TOPIC": get_topic(ReceiptRecorder)}
