"""Day numbers, month indexes and ages: the calendar rules every layer shares.

The case database stores every date twice: as a DATE (for output) and as an integer day number
(``date.toordinal()``) so that report SQL does plain integer arithmetic on SQLite and PostgreSQL
alike. Months are integer indexes ``year * 12 + month - 1``.
"""

from __future__ import annotations

import calendar
from datetime import date

#: day number used for an open end (no ``to_date``) in derived tables
OPEN_END = date(9999, 12, 31).toordinal()


def day(d: date) -> int:
    """Return the day number of ``d``."""
    return d.toordinal()


def from_day(n: int) -> date:
    """Return the date of day number ``n``."""
    return date.fromordinal(n)


def month_idx(year: int, month: int) -> int:
    """Return the month index of ``year``-``month``."""
    return year * 12 + month - 1


def month_of(d: date) -> int:
    """Return the month index of the month that contains ``d``."""
    return month_idx(d.year, d.month)


def month_key(idx: int) -> str:
    """Return ``YYYY-MM`` for a month index."""
    year, m0 = divmod(idx, 12)
    return f"{year:04d}-{m0 + 1:02d}"


def month_first(idx: int) -> date:
    year, m0 = divmod(idx, 12)
    return date(year, m0 + 1, 1)


def month_last(idx: int) -> date:
    year, m0 = divmod(idx, 12)
    return date(year, m0 + 1, calendar.monthrange(year, m0 + 1)[1])


def latest_complete_month(as_of: date) -> int:
    """Return the latest month whose last day is on or before ``as_of``."""
    idx = month_of(as_of)
    return idx if month_last(idx) <= as_of else idx - 1


def age_on(birth: date, on: date) -> int:
    """Full years since ``birth`` on ``on``; a 29 February birthday falls on 1 March."""
    years = on.year - birth.year
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(on.year):
        birthday = date(on.year, 3, 1)
    else:
        birthday = date(on.year, birth.month, birth.day)
    return years if on >= birthday else years - 1


def latest_complete_quarter(as_of: date) -> tuple[date, date]:
    """Return (first, last) day of the latest calendar quarter ending on or before ``as_of``."""
    q_first_month = ((as_of.month - 1) // 3) * 3 + 1
    start = date(as_of.year, q_first_month, 1)
    end = month_last(month_idx(as_of.year, q_first_month + 2))
    if end > as_of:
        prev = month_idx(as_of.year, q_first_month) - 3
        start = month_first(prev)
        end = month_last(prev + 2)
    return start, end
