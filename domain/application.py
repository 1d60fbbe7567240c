"""The eventsourcing library's application: the PostgreSQL event store, configured once.

The library's table lock gives every event a gap-free position in one global order.
Commands answer that position, so callers can ask a read model to have caught up with
their own write. The use cases do not live here: they load and commit through
:class:`domain.write_model.WriteModel` (assembled in :mod:`domain.usecases`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from domain.codec import MsgspecMapper


class FollowUpApplication(Application[UUID]):
    """The event store of Folgja's facts (the library's application object)."""

    name = "Folgja"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        # Alembic owns all DDL, the event store's included.
        "CREATE_TABLE": "no",
    }

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)
        if self.mapper.compressor is not None or self.mapper.cipher is not None:
            self.close()
            # The projections decode the stored bytes without the library's mapper.
            raise ValueError(
                "COMPRESSOR_TOPIC and CIPHER_TOPIC are not supported: projections read the "
                "event store's bytes directly"
            )
