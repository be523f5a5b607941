"""Times as people read them: the portal's time zone (``OPAL_TIMEZONE``) with MEZ/MESZ; JSON and
the databases stay in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/Berlin"
#: German names of the abbreviations the tz database gives in English
GERMAN_ABBREVIATIONS = {"CET": "MEZ", "CEST": "MESZ"}


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    """Return the zone ``name``; ValueError when the tz database does not know it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (expected e.g. Europe/Berlin)") from exc


def to_local(moment: datetime, zone_name: str = DEFAULT_ZONE) -> datetime:
    """Return ``moment`` (aware, or naive UTC as the app database stores it) in the zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone(zone_name))


def abbreviation(local: datetime) -> str:
    """Return the zone abbreviation of a local time in German (MEZ/MESZ), else as the tz
    database writes it."""
    name = local.tzname() or ""
    return GERMAN_ABBREVIATIONS.get(name, name)


def format_local(moment: datetime, zone_name: str = DEFAULT_ZONE, *,
                 seconds: bool = False) -> str:
    """``TT.MM.JJJJ HH:MM[:SS] MEZ``: a moment in the portal's time zone."""
    local = to_local(moment, zone_name)
    pattern = "%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M"
    return f"{local.strftime(pattern)} {abbreviation(local)}"
