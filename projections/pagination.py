"""Cursor (keyset) pagination for read-model queries.

A cursor is the sort key of the last row a client has seen, made opaque. Queries read
``WHERE (sort key) > (cursor) ORDER BY sort key LIMIT n + 1``; the extra row says whether
there is a next page. Stable under inserts, unlike OFFSET.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

from domain.errors import InvalidValue

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class Page(msgspec.Struct, Generic[T], frozen=True):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str | None, types: Sequence[type[Any]]) -> list[Any] | None:
    """The sort key inside ``cursor``, converted to ``types``; None for the first page."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=list[Any])
        if len(values) != len(types):
            raise ValueError("wrong length")
        return [msgspec.convert(v, t, strict=False) for v, t in zip(values, types, strict=True)]
    except (ValueError, binascii.Error, msgspec.ValidationError, msgspec.DecodeError):
        raise InvalidValue(
            "cursor", "valid_cursor", "cursor is not one this server handed out"
        ) from None


def page_of(rows: Sequence[T], limit: int, key: Any) -> Page[T]:
    """Cut ``rows`` (fetched with LIMIT limit + 1) to a page; ``key(row)`` gives its sort key."""
    if len(rows) > limit:
        items = list(rows[:limit])
        return Page(items=items, next_cursor=encode_cursor(*key(items[-1])))
    return Page(items=list(rows))
