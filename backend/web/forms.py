"""A form's fields as the API's command, with a message next to each field that is wrong.

The command struct is the API's own (its types and limits are the rules): each field is
converted on its own, so every wrong field gets its message at once; the domain's refusal
of the whole command (:class:`~domain.errors.DomainError`) names its field too.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import msgspec

from backend.web.i18n import Labels
from domain.errors import DomainError, UnknownAggregate

T = TypeVar("T", bound=msgspec.Struct)
R = TypeVar("R")

_TOO_LONG = re.compile(r"length <= (\d+)")
# Fields a form never shows: the server fills them in.
NOT_FROM_FORMS = frozenset({"occurred_at"})


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The form's text values (one per name, trimmed), without the CSRF token."""
    values: dict[str, str] = {}
    for key in form:
        if key == "_csrf_token":
            continue
        value = form.get(key)
        values[key] = value.strip() if isinstance(value, str) else ""
    return values


def message_for(t: Labels, error: str) -> str:
    if "length >= 1" in error:
        return t["required"]
    if too_long := _TOO_LONG.search(error):
        return t("too_long", n=too_long.group(1))
    if "UUID" in error:
        return t["not_a_valid_id"]
    if "enum" in error:
        return t["choose_one"]
    if "date" in error.lower() or "regex" in error:
        return t["wrong_format"]
    if "int" in error:
        return t["whole_number"]
    return t["not_valid"]


def parse(
    cls: type[T], values: Mapping[str, str], t: Labels, **fixed: Any
) -> tuple[T | None, dict[str, str]]:
    """The command, or None and a message per wrong field."""
    converted: dict[str, Any] = dict(fixed)
    errors: dict[str, str] = {}
    for field in msgspec.structs.fields(cls):
        name = field.name
        if name in fixed or name in NOT_FROM_FORMS:
            continue
        raw = values.get(name, "")
        if raw == "":
            if field.required:
                errors[name] = t["required"]
            continue
        try:
            converted[name] = msgspec.convert(raw, field.type, strict=False)
        except msgspec.ValidationError as error:
            errors[name] = message_for(t, str(error))
    if errors:
        return None, errors
    return msgspec.convert(converted, cls, strict=False), {}


def refusal(t: Labels, error: DomainError, fields: set[str]) -> dict[str, str]:
    """The domain's refusal as a message next to its field (or for the whole form)."""
    message = t["does_not_exist"] if isinstance(error, UnknownAggregate) else error.detail
    field = error.field if error.field in fields else "form"
    return {field: message}


async def submit(
    t: Labels,
    values: dict[str, str],
    cls: type[T],
    run: Callable[[T], Awaitable[R]],
    fields: set[str],
    *,
    passes: frozenset[str] = frozenset(),
) -> tuple[R | None, dict[str, str], int]:
    """A form's command, run: (its result, {}, 200); or (None, the messages, 400) for
    fields that are wrong, (None, the refusal next to its field, 422) for a command the
    domain refused. A refusal whose rule is in ``passes`` is raised on (the page answers
    it as the API does, e.g. 404 for ``must_exist``)."""
    command, errors = parse(cls, values, t)
    if command is None:
        return None, errors, 400
    try:
        return await run(command), {}, 200
    except DomainError as refused:
        if refused.rule in passes:
            raise
        return None, refusal(t, refused, fields), 422
