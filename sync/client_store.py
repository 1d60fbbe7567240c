"""The reference client's local store: one stdlib ``sqlite3`` file per tablet.

Every change the client makes is one SQLite transaction (:meth:`ClientStore.transaction`),
so a tablet killed at any point finds the file as it was before or after a step, never in
between. Tables:

* ``outbox``: every item recorded on the tablet, with its gap-free ``seq``; ``status`` and
  ``outcome`` once the server has answered (``waiting`` is stored but not final);
* ``device``: one row: the next ``seq``, the pull ``cursor`` (None: the tablet holds no
  tenant), ``flags_through`` and ``decided_through``;
* ``tenants``: each tenant held, as its latest :class:`sync.protocol.TenantRecord` JSON;
* ``flags``: each address's active safety flag (a lifted flag is deleted);
* ``purge_acks``: tenants purged here whose purge the server has not yet been told of.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    item_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    command TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    tenant_version INTEGER,
    status TEXT,
    outcome TEXT
);
CREATE TABLE IF NOT EXISTS device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL,
    cursor TEXT,
    flags_through INTEGER NOT NULL,
    decided_through INTEGER NOT NULL
);
INSERT OR IGNORE INTO device (id, next_seq, cursor, flags_through, decided_through)
VALUES (1, 1, NULL, 0, 0);
CREATE TABLE IF NOT EXISTS tenants (
    tenant_id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flags (
    dwelling_id TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS purge_acks (
    tenant_id TEXT PRIMARY KEY
);
"""


class ClientStore:
    """The SQLite file, opened in autocommit mode with explicit transactions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic step: committed whole, or (on any exception) not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
