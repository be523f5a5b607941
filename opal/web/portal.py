"""The portal's context and what every page shows about the live data: views reach the engine
only through ``opal.pipeline`` with ``portal()``, never the case DB themselves."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import Flask, current_app, g
from sqlalchemy import text

from opal import access, dates
from opal.access import Actor
from opal.context import Context
from opal.db import is_sqlite, sqlite_path
from opal.refresh.model import LiveInfo
from opal.refresh.publish import live_generation


@dataclass(frozen=True)
class Live:
    """What every page shows about the live data: its date and how old it is."""

    as_of: date
    exported_at: datetime | None
    published_at: datetime | None
    age_hours: float | None
    level: str  # "ok", "warn" or "error"


class LiveCache:
    """``live_generation`` read once per SQLite generation file, not per request.

    The key is taken before the read (a publish in between only causes a second read) and covers
    an in-place change too (mtime, size), not just a new file.
    """

    def __init__(self) -> None:
        self._cached: tuple[tuple[int, ...], LiveInfo | None] | None = None

    def info(self, ctx: Context) -> LiveInfo | None:
        if not is_sqlite(ctx.config.case_db_url):
            return live_generation(ctx.config)
        try:
            found = os.stat(sqlite_path(ctx.config.case_db_url))
        except OSError:
            return live_generation(ctx.config)
        key = (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        info = live_generation(ctx.config)
        self._cached = (key, info)
        return info


def install(app: Flask, ctx: Context) -> None:
    """Make ``ctx`` the app's context."""
    app.extensions["opal"] = ctx
    app.extensions["opal_live"] = LiveCache()


def portal() -> Context:
    """Return the context of the current app."""
    found: Context = current_app.extensions["opal"]
    return found


def live() -> Live | None:
    """Return the live generation with its age, read once per request."""
    if "opal_live" not in g:
        g.opal_live = _load_live(portal())
    found: Live | None = g.opal_live
    return found


def case_manager_choices(actor: Actor) -> dict[str, str]:
    """The case managers the actor may narrow a person list to (access decides); read once
    per request and actor (the form and the table's links both ask)."""
    data = live()
    if data is None:
        return {}
    cached: dict[Actor, dict[str, str]] = g.setdefault("opal_choices", {})
    if actor in cached:
        return dict(cached[actor])
    try:
        with portal().case_db.connect() as conn:
            found = access.case_manager_choices(conn, actor, dates.day(data.as_of))
    except Exception:  # no live generation: nothing to offer
        current_app.logger.exception("case manager choices unreadable")
        return {}
    cached[actor] = found
    return dict(found)


def offices() -> list[tuple[str, str]]:
    """(office_id, name) of the live generation by name: what an office field offers."""
    try:
        with portal().case_db.connect() as conn:
            rows = conn.execute(text("SELECT office_id, name FROM office")).all()
    except Exception:  # no live generation yet: nothing to offer
        return []
    return sorted(((str(i), str(n)) for i, n in rows), key=lambda r: (r[1], r[0]))


def _load_live(ctx: Context) -> Live | None:
    cache: LiveCache = current_app.extensions["opal_live"]
    try:
        info = cache.info(ctx)
    except Exception:  # an unreadable case DB is "nothing live", never a crash
        current_app.logger.exception("live generation unreadable")
        return None
    if info is None:
        return None
    exported = _aware(info.exported_at)
    published = _aware(info.published_at)
    age = None
    if exported is not None:
        age = max(0.0, (ctx.now() - exported).total_seconds() / 3600)
    level = "ok"
    if age is None or age > ctx.config.stale_error_hours:
        level = "error"
    elif age > ctx.config.stale_warn_hours:
        level = "warn"
    return Live(info.as_of, exported, published, age, level)


def _aware(value: str | datetime | None) -> datetime | None:
    """Parse an ISO string or datetime into an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def round_hours(age: float | None) -> float | None:
    """Round an age to one decimal for /healthz."""
    return None if age is None or math.isnan(age) else round(age, 1)
