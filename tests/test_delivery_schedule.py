"""Schedule arithmetic of subscriptions (opal/delivery/schedule.py), Europe/Berlin, clock given.

Weekly and monthly deliveries fall due at 06:00 local time; a monthly day a month does not have
is that month's last day; "after each refresh" is due at the live generation's publish time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from opal.delivery.schedule import Schedule, due_since, latest_due, month_day

BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


MONDAY = Schedule("weekly", weekday=0)


@pytest.mark.parametrize(("now", "due"), [
    (utc(2026, 11, 25, 10, 0), utc(2026, 11, 23, 5, 0)),  # Wednesday: Monday 06:00 CET
    (utc(2026, 11, 23, 5, 0), utc(2026, 11, 23, 5, 0)),  # exactly 06:00 CET on the Monday
    (utc(2026, 11, 23, 4, 59, 59), utc(2026, 11, 16, 5, 0)),  # a second before: last week
    (utc(2026, 11, 22, 23, 30), utc(2026, 11, 16, 5, 0)),  # Monday 00:30 local, not yet 06:00
    (utc(2026, 11, 29, 23, 30), utc(2026, 11, 23, 5, 0)),  # Sunday 2026-11-29, 00:30 Monday local
])
def test_weekly_on_a_weekday(now: datetime, due: datetime) -> None:
    assert latest_due(MONDAY, now, BERLIN) == due


def test_weekly_across_the_daylight_saving_changes() -> None:
    # spring forward on Sunday 2026-03-29: Monday 06:00 is 05:00 UTC before, 04:00 UTC after
    assert latest_due(MONDAY, utc(2026, 3, 28, 12), BERLIN) == utc(2026, 3, 23, 5, 0)
    assert latest_due(MONDAY, utc(2026, 3, 30, 4, 30), BERLIN) == utc(2026, 3, 30, 4, 0)
    assert latest_due(MONDAY, utc(2026, 3, 30, 3, 59), BERLIN) == utc(2026, 3, 23, 5, 0)
    sunday = Schedule("weekly", weekday=6)  # on the change day itself
    assert latest_due(sunday, utc(2026, 3, 29, 4, 0), BERLIN) == utc(2026, 3, 29, 4, 0)
    assert latest_due(sunday, utc(2026, 10, 25, 4, 30), BERLIN) == utc(2026, 10, 18, 4, 0)
    assert latest_due(sunday, utc(2026, 10, 25, 5, 0), BERLIN) == utc(2026, 10, 25, 5, 0)


@pytest.mark.parametrize(("day", "now", "due"), [
    (15, utc(2026, 11, 20, 12), utc(2026, 11, 15, 5, 0)),
    (15, utc(2026, 11, 15, 4, 59), utc(2026, 10, 15, 4, 0)),  # October 15th is summer time
    (31, utc(2026, 11, 30, 5, 0), utc(2026, 11, 30, 5, 0)),  # day 31 in a 30-day month
    (31, utc(2026, 11, 30, 4, 59), utc(2026, 10, 31, 5, 0)),  # ... before it: October 31st
    (31, utc(2026, 12, 31, 5, 0), utc(2026, 12, 31, 5, 0)),
    (30, utc(2026, 3, 10, 12), utc(2026, 2, 28, 5, 0)),  # February 2026 has 28 days
    (30, utc(2028, 3, 10, 12), utc(2028, 2, 29, 5, 0)),  # ... 2028 has 29
    (10, utc(2026, 1, 5, 12), utc(2025, 12, 10, 5, 0)),  # the year before
    (1, utc(2026, 4, 1, 4, 0), utc(2026, 4, 1, 4, 0)),  # 06:00 CEST
])
def test_monthly_on_a_day_and_the_month_end(day: int, now: datetime, due: datetime) -> None:
    assert latest_due(Schedule("monthly", day=day), now, BERLIN) == due


def test_month_day_clips_to_the_last_day() -> None:
    assert month_day(2026, 4, 31).day == 30
    assert month_day(2026, 2, 29).day == 28
    assert month_day(2024, 2, 31).day == 29
    assert month_day(2026, 1, 31).day == 31


def test_after_each_refresh_is_the_publish_time() -> None:
    refresh = Schedule("refresh")
    published = utc(2026, 11, 24, 2, 0, 7)
    assert latest_due(refresh, utc(2026, 11, 24, 6), BERLIN, published_at=published) == published
    assert latest_due(refresh, utc(2026, 11, 24, 6), BERLIN, published_at=None) is None
    assert latest_due(refresh, utc(2026, 11, 24, 1), BERLIN, published_at=published) is None
    # made after the publish: still the generation live then (the first copy comes at once)
    assert due_since(refresh, utc(2026, 11, 24, 5), utc(2026, 11, 24, 6), BERLIN,
                     published_at=published) == published


def test_nothing_is_due_from_before_the_subscription() -> None:
    now = utc(2026, 11, 25, 10)
    assert due_since(MONDAY, utc(2026, 11, 24, 9), now, BERLIN) is None
    assert due_since(MONDAY, utc(2026, 11, 23, 5, 0), now, BERLIN) == utc(2026, 11, 23, 5, 0)
    assert due_since(MONDAY, utc(2026, 11, 1), now, BERLIN) == utc(2026, 11, 23, 5, 0)


@pytest.mark.parametrize(("kind", "weekday", "day"), [
    ("daily", None, None), ("weekly", None, None), ("weekly", 7, None), ("monthly", None, 0),
    ("monthly", None, 32),
])
def test_bad_schedules_are_refused(kind: str, weekday: int | None, day: int | None) -> None:
    with pytest.raises(ValueError):
        Schedule(kind, weekday, day)


def test_labels_are_german() -> None:
    assert MONDAY.label() == "wöchentlich am Montag"
    assert Schedule("monthly", day=31).label() == "monatlich am 31. (oder am Monatsletzten)"
    assert Schedule("monthly", day=1).label() == "monatlich am 1."
    assert Schedule("refresh").label() == "nach jeder Datenaktualisierung"
