"""OPAL: open reporting and list portal for German Jobcenter (SGB II)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the portal; ``config`` defaults to ``Config.from_env()``."""
    from opal.web.app import build_app

    return build_app(config)
