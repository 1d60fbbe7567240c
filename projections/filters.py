"""Build a board query's WHERE clause from the filters a client actually gave.

Only the given filters become conditions, so the planner sees plain predicates (and the
keyset condition) it can match to an index, instead of ``($1 IS NULL OR col = $1)``.
"""

from __future__ import annotations

from typing import Any


class Filters:
    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def arg(self, value: Any) -> str:
        """A placeholder for ``value``: ``$n``."""
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str) -> None:
        self.conditions.append(condition)

    def where(self) -> str:
        return (
            ("WHERE " + " AND ".join(f"({c})" for c in self.conditions)) if self.conditions else ""
        )
