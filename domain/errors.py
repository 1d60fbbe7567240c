"""Errors the domain raises when a command breaks a rule.

Each error names the field it concerns and the rule it broke, so the HTTP layer can
answer a problem response without knowing the rules itself.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused; nothing was recorded."""

    def __init__(self, field: str, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.rule = rule
        self.detail = detail


class InvalidValue(DomainError):
    """A value is outside what the domain accepts (answered as 422)."""


class IllegalStateChange(DomainError):
    """The aggregate's current state does not allow this command (answered as 409)."""


class UnknownAggregate(DomainError):
    """The command names an aggregate that does not exist (answered as 404)."""


class ConcurrentChange(DomainError):
    """Someone else changed the aggregate between our read and our write (answered as 409)."""
