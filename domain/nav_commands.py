"""Commands (request bodies) NAV sends about a notification it received."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domain.commands import Command
from domain.nav import MAX_ANSWER_TEXT, NavAnswer


class AcknowledgeNavNotification(Command, frozen=True, kw_only=True):
    pass


class AnswerNavNotification(Command, frozen=True, kw_only=True):
    """NAV's answer; ``text`` is confidential and needed when the answer is ``other``."""

    answer: NavAnswer
    text: Annotated[str, msgspec.Meta(max_length=MAX_ANSWER_TEXT)] = ""
