"""Event (de)serialisation with msgspec: typed events in, compact JSON bytes out.

The library's default JSON transcoder cannot store a ``date`` and gives back strings for
UUIDs; decoding straight into the event class skips upcasting. So we encode the event's
fields, and on reading decode untyped, run the ``upcast_vN_vN+1`` steps, then convert into
the typed event. The same decoder serves the write model and the projection runners.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from domain.events import DomainEvent

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def encode_state(event: DomainEvent) -> bytes:
    state = msgspec.structs.asdict(event)
    del state["originator_id"], state["originator_version"]
    if type(event).class_version > 1:
        state["class_version"] = type(event).class_version
    return _encoder.encode(state)


@lru_cache(maxsize=512)
def event_class(topic: str) -> type[DomainEvent]:
    cls = resolve_topic(topic)
    if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
        raise TypeError(f"topic {topic!r} is not a domain event class")
    return cls


def decode_event(
    topic: str, state: bytes, originator_id: UUID | str, originator_version: int
) -> DomainEvent:
    cls = event_class(topic)
    data: dict[str, Any] = _decoder.decode(state)
    from_version = data.pop("class_version", 1)
    while from_version < cls.class_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(data)
        from_version += 1
    data["originator_id"] = originator_id
    data["originator_version"] = originator_version
    return msgspec.convert(data, cls)


class MsgspecMapper(Mapper[UUID]):
    """Plugs :func:`encode_state` and :func:`decode_event` into the eventsourcing library.

    The library's compression and encryption hooks are kept in the library's order
    (compress, then encrypt), but Folgja turns both down
    (:class:`domain.application.FollowUpApplication`): the projection runners read the
    stored bytes straight from PostgreSQL and decode them with :func:`decode_event` alone.
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event = cast(DomainEvent, domain_event)
        state = encode_state(event)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=get_topic(type(event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        return cast(
            DomainEventProtocol[UUID],
            decode_event(
                stored_event.topic,
                state,
                stored_event.originator_id,
                stored_event.originator_version,
            ),
        )
