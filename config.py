"""OPAL configuration: one frozen, typed object read from ``OPAL_*`` variables.

Every setting lives in ``SETTINGS`` with its default and a help text; ``Config.from_env`` fails
with one clear line (``ConfigError``) on a malformed value, so a misconfigured portal never starts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message is one line naming the variable."""


def _bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected 0 or 1")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be greater than 0")
    return value


def _share(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise ValueError("must be a share between 0 and 1")
    return value


def _db_url(raw: str) -> str:
    if not (raw.startswith("sqlite:///") or raw.startswith("postgresql+psycopg://")):
        raise ValueError("expected sqlite:///PATH or postgresql+psycopg://...")
    return raw


_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def _schema(raw: str) -> str:
    if not _IDENT.match(raw):
        raise ValueError("expected a lower-case SQL identifier")
    return raw


def _text(raw: str) -> str:
    if not raw:
        raise ValueError("must not be empty")
    return raw


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its field, parser, default and help text."""

    name: str
    parse: Callable[[str], Any]
    default: str | None
    help: str

    @property
    def env(self) -> str:
        return "OPAL_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("secret_key", _text, None,
            "session signing key; `make run` generates it into var/secret_key"),
    Setting("data_dir", _text, "var", "exports, generations, rendered files"),
    Setting("case_db_url", _db_url, None,
            "live case database (read-only for the portal); default sqlite:///<data_dir>/case.db"),
    Setting("app_db_url", _db_url, None,
            "users, audit log, refresh runs; default sqlite:///<data_dir>/app.db"),
    Setting("case_db_schema", _schema, "opal_case",
            "PostgreSQL only: schema of the live case generation"),
    Setting("app_db_schema", _schema, "opal_app", "PostgreSQL only: schema of the app tables"),
    Setting("session_cookie_secure", _bool, "1",
            "send cookies over HTTPS only; `make run` sets 0 for the local demo"),
    Setting("stale_warn_hours", _positive_float, "26", "data age that shows the warning banner"),
    Setting("stale_error_hours", _positive_float, "50",
            "data age that shows the error banner and makes /healthz answer 503"),
    Setting("export_max_rows", _positive_int, "200000", "largest download; more rows give 400"),
    Setting("login_max_failures", _positive_int, "5",
            "failed logins per account and per address within 15 minutes before 429"),
    Setting("downloads_per_minute", _positive_int, "120",
            "downloads per user per minute before 429"),
    Setting("statement_timeout_ms", _positive_int, "30000", "time limit of one report query"),
    Setting("refresh_max_shrink", _share, "0.2",
            "largest share a table may shrink by against the live generation"),
    Setting("session_idle_minutes", _positive_int, "30", "idle timeout of a portal session"),
    Setting("session_max_hours", _positive_int, "10", "absolute lifetime of a portal session"),
    Setting("trusted_proxies", _non_negative_int, "0",
            "reverse proxies in front of the portal whose X-Forwarded-For/-Proto are believed; "
            "0: the header is ignored (it could be forged)"),
)


@dataclass(frozen=True)
class Config:
    """The whole configuration; build it with ``Config.from_env`` or ``Config.for_tests``."""

    secret_key: str | None
    data_dir: str
    case_db_url: str
    app_db_url: str
    case_db_schema: str
    app_db_schema: str
    session_cookie_secure: bool
    stale_warn_hours: float
    stale_error_hours: float
    export_max_rows: int
    login_max_failures: int
    downloads_per_minute: int
    statement_timeout_ms: int
    refresh_max_shrink: float
    session_idle_minutes: int
    session_max_hours: int
    trusted_proxies: int

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """Read every setting from ``environ`` (default ``os.environ``); raise ConfigError."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = env.get(setting.env)
            if raw is None or raw == "":
                raw = setting.default
            if raw is None:
                values[setting.name] = None
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{setting.env}={raw!r} is invalid: {exc}") from None
        values.update(overrides)
        data_dir = values["data_dir"]
        if values["case_db_url"] is None:
            values["case_db_url"] = f"sqlite:///{data_dir}/case.db"
        if values["app_db_url"] is None:
            values["app_db_url"] = f"sqlite:///{data_dir}/app.db"
        if values["secret_key"] is None:
            key_file = Path(data_dir) / "secret_key"
            if key_file.is_file():
                values["secret_key"] = key_file.read_text().strip() or None
        if values["stale_error_hours"] < values["stale_warn_hours"]:
            raise ConfigError("OPAL_STALE_ERROR_HOURS must not be below OPAL_STALE_WARN_HOURS")
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    def require_secret(self) -> str:
        """Return the secret key, or fail: the portal never signs sessions with a default."""
        if not self.secret_key:
            raise ConfigError(
                "OPAL_SECRET_KEY is not set and var/secret_key does not exist (run `make run`)"
            )
        return self.secret_key
