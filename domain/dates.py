"""Which dates and times a command may name: a sane range for every field.

A date outside its field's range is a mistake (a typo, year 1 or 9999, a date field left
at a default) and is refused before anything is recorded. Ranges count from the
municipality's date today; ``docs/domain-events.md`` lists them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import msgspec

from domain.errors import InvalidValue
from domain.events import local_date

YEAR = 366  # days: a range of N years always covers N calendar years

# Nobody in follow-up was born earlier.
EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# field name -> (how many days before today, how many days after today).
WINDOWS: dict[str, tuple[int, int]] = {
    # a visit may be written down a while after it was planned, and is planned ahead
    "planned_for": (YEAR, 2 * YEAR),
    # follow-up, an individual plan, a consent: begun or ended within the last ten years
    "started_on": (10 * YEAR, YEAR),
    "ended_on": (10 * YEAR, YEAR),
    "given_on": (10 * YEAR, YEAR),
    "withdrawn_on": (10 * YEAR, YEAR),
    "opted_out_on": (10 * YEAR, YEAR),
    "expires_on": (10 * YEAR, 10 * YEAR),
    # a handover is announced ahead of release, the 18th birthday, the programme's end
    "effective_on": (YEAR, 2 * YEAR),
    # a safety flag's next review
    "review_on": (YEAR, 5 * YEAR),
    # a lease (and a rent deduction) may have begun long ago; a lease may run for decades
    "starts_on": (50 * YEAR, 2 * YEAR),
    "ends_on": (50 * YEAR, 50 * YEAR),
    # the steps of a rent case
    "first_due_on": (10 * YEAR, 2 * YEAR),
    "cleared_on": (10 * YEAR, YEAR),
    "issued_on": (10 * YEAR, YEAR),
    "petitioned_on": (10 * YEAR, YEAR),
    "eviction_on": (10 * YEAR, 2 * YEAR),
    "carried_out_on": (10 * YEAR, YEAR),
}
# Any other date or time a command names.
DEFAULT_WINDOW = (10 * YEAR, 5 * YEAR)


def allowed_range(field: str, today: date) -> tuple[date, date]:
    """The first and the last date ``field`` may name, seen from ``today``."""
    if field == "birth_date":
        # A birth date in the future is the tenant's own rule to refuse (not_in_future).
        return EARLIEST_BIRTH_DATE, date.max
    before, after = WINDOWS.get(field, DEFAULT_WINDOW)
    return today - timedelta(days=before), today + timedelta(days=after)


def check_dates(command: msgspec.Struct, today: date) -> None:
    """Refuse the first date or time in ``command`` that lies outside its field's range.

    ``occurred_at`` is checked with the command's provenance (:func:`event_meta`).
    """
    for field in command.__struct_fields__:
        if field == "occurred_at":
            continue
        value = getattr(command, field)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise InvalidValue(field, "timezone_required", f"{field} needs a UTC offset")
            day = local_date(value)
        elif isinstance(value, date):
            day = value
        else:
            continue
        first, last = allowed_range(field, today)
        if not first <= day <= last:
            raise InvalidValue(field, "date_range", f"{field} must be between {first} and {last}")
