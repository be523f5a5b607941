"""The app factory (the only one): frozen config, app DB at this release's schema, checked
catalogue, one ``Context``, blueprints, errors, headers."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config
from opal import labels
from opal.appdb import migrate
from opal.catalogue import Catalogue, load_and_check
from opal.clock import Clock, system_clock
from opal.context import Context
from opal.db import app_engine
from opal.localtime import format_local
from opal.resources import PACKAGE, resource_dir
from opal.web import admin, auth, delivery, errors, openapi, security, views
from opal.web.delivery import new_entries
from opal.web.portal import install, live, portal


def build_app(config: Config | None = None, clock: Clock | None = None, *,
              catalogue: Catalogue | None = None) -> Flask:
    """Build the portal; refuse to start without a secret, with a broken catalogue or with an
    app database that is not at this release's schema (``SchemaOutdated``: `opal db upgrade`)."""
    config = config or Config.from_env()
    secret = config.require_secret()
    app = Flask("opal", template_folder=str(resource_dir("templates")),
                static_folder=str(PACKAGE / "web" / "static"), static_url_path="/static")
    app.config.update(SECRET_KEY=secret, SESSION_COOKIE_SECURE=config.session_cookie_secure,
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      MAX_CONTENT_LENGTH=64 * 1024, TEMPLATES_AUTO_RELOAD=False,
                      # any other Host header is a 400 (werkzeug SecurityError)
                      TRUSTED_HOSTS=list(config.trusted_hosts))
    # "//" in a path is a 404, never a redirect: werkzeug would build its absolute URL from Host
    app.url_map.merge_slashes = False
    app.jinja_env.autoescape = True
    catalogue = catalogue if catalogue is not None else load_and_check()
    app_db = app_engine(config)
    try:
        migrate.check(app_db, config.app_db_schema)
    except BaseException:
        app_db.dispose()
        raise
    install(app, Context.build(config, catalogue=catalogue, clock=clock or system_clock,
                               app_db=app_db))
    if config.trusted_proxies:
        # behind a TLS proxy the client address (login throttle, audit) comes from the
        # X-Forwarded-For entries of exactly that many proxies; never from a client's header
        n = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    _register(app)
    logging.getLogger("opal").setLevel(logging.INFO)
    return app


def _register(app: Flask) -> None:
    security.init_app(app)
    auth.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(delivery.bp)
    errors.init_app(app)
    app.context_processor(_template_globals)
    app.jinja_env.filters["label"] = lambda code, domain: labels.label(domain, code)
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["isodate"] = _isodate


def _localtime(moment: Any, seconds: bool = False) -> str:
    """A stored UTC moment (aware, or naive from the app DB) in the portal's time zone."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return str(moment)
    return format_local(moment, portal().config.timezone, seconds=seconds)


def _isodate(value: Any) -> str:
    """``2026-11-23`` -> ``23.11.2026``; anything else as it is."""
    try:
        return date.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)


def _template_globals() -> dict[str, object]:
    """Give every template the data date, the banner level, the user and the CSRF token."""
    try:
        user = current_user if current_user.is_authenticated else None
    except Exception:  # the app DB is down: render the page (an error page) without a user
        user = None
    return {"live": live(), "csrf_token": security.csrf_token, "user": user,
            "role_label": labels.label("role", getattr(user, "role", None) or None),
            "config": portal().config, "inbox_new": new_entries}
