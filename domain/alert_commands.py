"""Commands (request bodies) about an alert."""

from __future__ import annotations

from domain.alerts import AlertNote
from domain.commands import Command


class AcknowledgeAlert(Command, frozen=True, kw_only=True):
    """A recipient has seen the alert and takes it on; the note says what they will do."""

    note: AlertNote | None = None
