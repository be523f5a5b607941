"""When a subscription is due: pure calendar arithmetic in the portal's time zone.

Weekly and monthly deliveries fall due at ``DELIVERY_HOUR`` o'clock local time (Europe/Berlin by
default) on their day, so that the night's refresh is in; the moment is computed in local time
and then converted, so it stays 06:00 across a daylight-saving change. A monthly day past the
end of a month (31 in April, 29-31 in February) means that month's last day. Only the latest
due moment counts: `opal deliver` after a pause makes one delivery with the current data, never
a backlog of old dates it could not reproduce anyway. "After each refresh" is due once per
published generation (its publish time is the due moment), starting with the one live when the
subscription is made.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SCHEDULES = ("refresh", "weekly", "monthly")
#: local hour at which weekly and monthly deliveries fall due
DELIVERY_HOUR = 6
WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


@dataclass(frozen=True)
class Schedule:
    """``kind`` in SCHEDULES; ``weekday`` 0-6 (Monday first) for weekly; ``day`` 1-31 monthly."""

    kind: str
    weekday: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.kind!r}")
        if self.kind == "weekly" and (self.weekday is None or not 0 <= self.weekday <= 6):
            raise ValueError("weekly needs a weekday 0-6")
        if self.kind == "monthly" and (self.day is None or not 1 <= self.day <= 31):
            raise ValueError("monthly needs a day 1-31")

    def label(self) -> str:
        """German description for pages."""
        if self.kind == "weekly":
            return f"wöchentlich am {WEEKDAYS[self.weekday or 0]}"
        if self.kind == "monthly":
            return f"monatlich am {self.day}." + (" (oder am Monatsletzten)" if (self.day or 0)
                                                  > 28 else "")
        return "nach jeder Datenaktualisierung"


def month_day(year: int, month: int, day: int) -> date:
    """``day`` of that month, or its last day when the month is shorter."""
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _at(day: date, zone: ZoneInfo) -> datetime:
    """``DELIVERY_HOUR`` local on ``day``, as aware UTC."""
    return datetime.combine(day, time(DELIVERY_HOUR), tzinfo=zone).astimezone(UTC)


def latest_due(schedule: Schedule, now: datetime, zone: ZoneInfo, *,
               published_at: datetime | None = None) -> datetime | None:
    """The latest moment at or before ``now`` (aware) when ``schedule`` fell due, aware UTC.

    ``published_at``: the live generation's publish time (aware), for "after each refresh";
    None there (no data yet) is never due.
    """
    if schedule.kind == "refresh":
        if published_at is None or published_at > now:
            return None
        return published_at.astimezone(UTC)
    today = now.astimezone(zone).date()
    if schedule.kind == "weekly":
        assert schedule.weekday is not None
        day = today - timedelta(days=(today.weekday() - schedule.weekday) % 7)
        due = _at(day, zone)
        return due if due <= now else _at(day - timedelta(days=7), zone)
    assert schedule.day is not None
    due = _at(month_day(today.year, today.month, schedule.day), zone)
    if due <= now:
        return due
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return _at(month_day(year, month, schedule.day), zone)


def due_since(schedule: Schedule, created_at: datetime, now: datetime, zone: ZoneInfo, *,
              published_at: datetime | None = None) -> datetime | None:
    """The due moment ``opal deliver`` must make now, or None: the latest one, if it is not
    before the subscription was made (a refresh subscription takes the generation live then)."""
    due = latest_due(schedule, now, zone, published_at=published_at)
    if due is None:
        return None
    if schedule.kind != "refresh" and due < created_at:
        return None
    return due
