"""The injectable clock: everything that stamps a time asks a ``Clock``, so tests can fix it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def fixed_clock(moment: datetime) -> Clock:
    """Return a clock that always answers ``moment`` (aware UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return lambda: moment
