"""The one context of OPAL: configuration, clock, both databases and the checked catalogue.

The portal keeps one per app (``opal.web.portal.portal()``); ``opal run``, ``opal deliver`` and
tests build one with ``Context.build``. Every run goes through ``opal.pipeline`` with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine

from config import Config
from opal.catalogue import Catalogue, load_and_check
from opal.clock import Clock, system_clock
from opal.db import app_engine, case_engine


@dataclass
class Context:
    """Everything a run needs; build it once per app or command."""

    config: Config
    case_db: Engine  # read-only: the live generation
    app_db: Engine  # users, sessions, the audit log
    catalogue: Catalogue
    clock: Clock = system_clock

    @classmethod
    def build(cls, config: Config, *, catalogue: Catalogue | None = None,
              clock: Clock = system_clock, app_db: Engine | None = None) -> Context:
        """Engines from ``config``; the checked default catalogue unless one is given."""
        return cls(config, case_engine(config), app_db if app_db is not None
                   else app_engine(config),
                   catalogue if catalogue is not None else load_and_check(), clock)

    def now(self) -> datetime:
        """The current time (aware UTC)."""
        return self.clock()

    def now_naive(self) -> datetime:
        """The current time as naive UTC, the app database's convention."""
        return self.clock().astimezone(UTC).replace(tzinfo=None)

    def dispose(self) -> None:
        """Close both connection pools (commands and tests, when done)."""
        self.case_db.dispose()
        self.app_db.dispose()
