"""Commands: what a user asks the system to record. Field constraints live here once.

These structs double as HTTP request bodies; ids that appear in the URL are passed
separately. Every command may carry ``occurred_at`` (when it happened in the field);
the server's time is used when it is missing. Each area's commands are in
``domain/<area>_commands.py``, beside its rules in ``domain/<area>.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class Command(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    occurred_at: datetime | None = None
