"""Working days (virkedager): Monday to Friday, except Norway's public holidays.

A concern must be acknowledged within a number of *working* days: a concern routed on
the Wednesday before Easter is not late on Easter Monday. The holidays come from the
maintained ``holidays`` package (Norway's calendar, movable feasts included), never from a
hand-written list. Sundays are not counted as holidays here but as weekend days.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> frozenset[date]:
    calendar = holidays.country_holidays("NO", years=year)
    return frozenset(calendar.keys())


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _public_holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted).

    ``add_working_days(a Friday, 1)`` is the next Monday, or the Tuesday if that Monday is
    a public holiday. Zero days is ``start`` itself.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day
