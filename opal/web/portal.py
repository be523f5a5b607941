"""The portal's state and its one door to the engine: views never touch the case DB themselves."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app, g
from sqlalchemy import Engine

from config import Config
from opal.clock import Clock
from opal.result import Result


@dataclass(frozen=True)
class Live:
    """What every page shows about the live data: its date and how old it is."""

    as_of: date
    exported_at: datetime | None
    published_at: datetime | None
    age_hours: float | None
    level: str  # "ok", "warn" or "error"


class Portal:
    """Everything a request needs: configuration, clock, app DB and the checked catalogue."""

    def __init__(self, config: Config, clock: Clock, app_db: Engine, catalogue: Any,
                 engine_ctx: Any) -> None:
        self.config = config
        self.clock = clock
        self.app_db = app_db
        self.catalogue = catalogue
        self.engine_ctx = engine_ctx
        self._live_cache: tuple[tuple[int, ...], Any] | None = None

    def now(self) -> datetime:
        """Return the portal's current time (aware UTC)."""
        return self.clock()

    def now_naive(self) -> datetime:
        """Return the current time as naive UTC, the app DB's convention."""
        return self.clock().astimezone(UTC).replace(tzinfo=None)

    def definitions(self) -> Sequence[Any]:
        """Return every report definition in catalogue order."""
        return sorted(_definitions(self.catalogue), key=lambda d: d.code)

    def definition(self, code: str) -> Any | None:
        """Return the definition of ``code`` or None."""
        for definition in _definitions(self.catalogue):
            if definition.code == code:
                return definition
        return None

    def can_run(self, actor: Any, definition: Any) -> bool:
        """Ask the engine's pure access check (role and linkage)."""
        from opal import access

        return bool(access.can_run(actor, definition))

    def linked(self, actor: Any) -> bool:
        """Tell whether the actor's staff or team exists in the live data (deny by default)."""
        from opal.access import linkage

        try:
            with self.engine_ctx.case_engine.connect() as conn:
                return bool(linkage(conn, actor).live)
        except Exception:  # no live generation yet: nobody is linked
            return False

    def case_manager_choices(self, actor: Any) -> dict[str, str]:
        """The case managers the actor may narrow a person list to (access decides)."""
        from opal import dates
        from opal.access import case_manager_choices

        live = self.live()
        if live is None:
            return {}
        try:
            with self.engine_ctx.case_engine.connect() as conn:
                return case_manager_choices(conn, actor, dates.day(live.as_of))
        except Exception:  # no live generation: nothing to offer
            current_app.logger.exception("case manager choices unreadable")
            return {}

    def offices(self) -> list[tuple[str, str]]:
        """(office_id, name) of the live generation by name: what an office field offers."""
        from sqlalchemy import text

        try:
            with self.engine_ctx.case_engine.connect() as conn:
                rows = conn.execute(text("SELECT office_id, name FROM office")).all()
        except Exception:  # no live generation yet: nothing to offer
            return []
        return sorted(((str(i), str(n)) for i, n in rows), key=lambda r: (r[1], r[0]))

    def run(self, code: str, actor: Any, args: Mapping[str, str], fmt: str, *,
            client: str, paged: bool) -> Result:
        """Run a report through the engine: access, parameters, query, audit."""
        from opal.query import run_report

        return run_report(self.engine_ctx, code, actor, args, fmt, client=client, paged=paged)

    def live(self) -> Live | None:
        """Return the live generation with its age, cached for the request."""
        if "opal_live" not in g:
            g.opal_live = self._load_live()
        live: Live | None = g.opal_live
        return live

    def _live_info(self) -> Any:
        """Return ``live_generation``; on SQLite read once per generation file, not per request.

        The key is taken before the read (a publish in between only causes a second read) and
        covers an in-place change too (mtime, size), not just a new file.
        """
        from opal.db import is_sqlite, sqlite_path
        from opal.refresh import live_generation

        if not is_sqlite(self.config.case_db_url):
            return live_generation(self.config)
        try:
            found = os.stat(sqlite_path(self.config.case_db_url))
        except OSError:
            return live_generation(self.config)
        key = (found.st_dev, found.st_ino, found.st_mtime_ns, found.st_size)
        cached = self._live_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        info = live_generation(self.config)
        self._live_cache = (key, info)
        return info

    def _load_live(self) -> Live | None:
        try:
            info = self._live_info()
        except Exception:  # an unreadable case DB is "nothing live", never a crash
            current_app.logger.exception("live generation unreadable")
            return None
        if info is None:
            return None
        exported = _aware(getattr(info, "exported_at", None))
        published = _aware(getattr(info, "published_at", None) or getattr(info, "built_at", None))
        age = None
        if exported is not None:
            age = max(0.0, (self.now() - exported).total_seconds() / 3600)
        level = "ok"
        if age is None or age > self.config.stale_error_hours:
            level = "error"
        elif age > self.config.stale_warn_hours:
            level = "warn"
        as_of = info.as_of if isinstance(info.as_of, date) else date.fromisoformat(info.as_of)
        return Live(as_of, exported, published, age, level)


def portal() -> Portal:
    """Return the portal of the current app."""
    found: Portal = current_app.extensions["opal"]
    return found


def _definitions(catalogue: Any) -> list[Any]:
    """Accept a mapping code -> definition, a sequence, or an object with ``reports``."""
    if isinstance(catalogue, Mapping):
        return list(catalogue.values())
    reports = getattr(catalogue, "reports", None)
    if reports is not None:
        return _definitions(reports)
    return list(catalogue)


def _aware(value: Any) -> datetime | None:
    """Parse an ISO string or datetime into an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def round_hours(age: float | None) -> float | None:
    """Round an age to one decimal for /healthz."""
    return None if age is None or math.isnan(age) else round(age, 1)
