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


def _timezone(raw: str) -> str:
    from opal.localtime import zone

    zone(raw)  # ValueError names the zone
    return raw


_HOST = re.compile(r"^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
                   r"|^\[?[0-9a-f:.]+\]?$")


def _host_name(raw: str) -> str:
    name = raw.strip().lower()
    if not _HOST.match(name):
        raise ValueError(f"{name!r} is not a host name")
    return name


def _base_url(raw: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected http(s)://HOST[:PORT][/PATH]")
    _host_name(parts.hostname)
    return raw.strip()


def _host_list(raw: str) -> str:
    """Comma-separated host names (a leading dot admits every subdomain)."""
    return ",".join(_host_name(name) for name in raw.split(",") if name.strip())


def _smtp_url(raw: str) -> str:
    from urllib.parse import urlsplit

    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("expected smtp://HOST[:PORT] or smtps://HOST[:PORT]")
    parts.port  # noqa: B018 -- a malformed port raises ValueError here
    return raw


def _text(raw: str) -> str:
    if not raw:
        raise ValueError("must not be empty")
    return raw


_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def _ldap_url(raw: str) -> str:
    scheme, sep, rest = raw.partition("://")
    host = rest.rstrip("/")
    if scheme not in ("ldap", "ldaps") or not sep or not host or "/" in host or "?" in host \
            or any(c.isspace() for c in raw):
        raise ValueError("expected ldap://HOST[:PORT] or ldaps://HOST[:PORT]")
    return raw.rstrip("/")


def _readable_file(raw: str) -> str:
    path = Path(raw)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise ValueError("no readable file")
    return raw


def _dn(raw: str) -> str:
    if "=" not in raw or any(ord(c) < 32 for c in raw):
        raise ValueError("expected a distinguished name like ou=people,dc=example,dc=org")
    return raw.strip()


def _filter_template(raw: str) -> str:
    if not (raw.startswith("(") and raw.endswith(")")) or raw.count("(") != raw.count(")") \
            or raw.count("{username}") != 1:
        raise ValueError("expected an LDAP filter in parentheses with {username} once")
    return raw


def _ldap_filter(raw: str) -> str:
    if not (raw.startswith("(") and raw.endswith(")")) or raw.count("(") != raw.count(")"):
        raise ValueError("expected an LDAP filter in parentheses")
    return raw


_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")


def _attribute(raw: str) -> str:
    if not _ATTRIBUTE.match(raw):
        raise ValueError("expected an LDAP attribute name")
    return raw


def _pairs(raw: str) -> list[tuple[str, str]]:
    """``key=value;key=value`` (a value may hold ``=`` and ``,``, as DNs do)."""
    out = []
    for part in raw.split(";"):
        key, sep, value = part.strip().partition("=")
        if not part.strip():
            continue
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"expected key=value, got {part.strip()[:60]!r}")
        out.append((key.strip(), value.strip()))
    if not out:
        raise ValueError("no entry")
    return out


def _role_groups(raw: str) -> tuple[tuple[str, str], ...]:
    """``role=group DN;role=group DN``: the directory groups that give each OPAL role."""
    from opal.roles import ROLES

    pairs = _pairs(raw)
    for role, dn in pairs:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        _dn(dn)
    return tuple(pairs)


def _link_attrs(raw: str) -> tuple[tuple[str, str], ...]:
    """``staff_id=attribute;team_id=attribute``: where the directory keeps each link."""
    from opal.roles import link_columns

    kinds = sorted(link_columns())
    pairs = _pairs(raw)
    for kind, attribute in pairs:
        if kind not in kinds:
            raise ValueError(f"unknown link {kind!r} (links: {', '.join(kinds)})")
        _attribute(attribute)
    return tuple(pairs)


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw
    return parse


def env_text(value: Any) -> str:
    """The ``OPAL_*`` text that parses back to ``value`` (booleans 0/1, pairs ``k=v;k=v``)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, tuple):
        return ";".join(f"{key}={item}" for key, item in value)
    return str(value)


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
    Setting("timezone", _timezone, "Europe/Berlin",
            "time zone in which pages and files show times (MEZ/MESZ); JSON stays UTC"),
    Setting("trusted_proxies", _non_negative_int, "0",
            "reverse proxies in front of the portal whose X-Forwarded-For/-Proto are believed; "
            "0: the header is ignored (it could be forged)"),
    # directory sign-in (README "Anmeldung über das Verzeichnis"); off while ldap_url is empty
    Setting("ldap_url", _ldap_url, None,
            "ldap://HOST[:PORT] (StartTLS) or ldaps://HOST[:PORT]; empty: local accounts only"),
    Setting("ldap_starttls", _bool, "1",
            "ldap:// only: StartTLS before any bind; 0 is allowed for a loopback address only"),
    Setting("ldap_ca_file", _readable_file, None,
            "PEM file of the CA(s) the directory's certificate must chain to; empty: system CAs"),
    Setting("ldap_bind_dn", _dn, None, "the service account that searches users and groups"),
    Setting("ldap_bind_password_file", _readable_file, None,
            "file holding the service account's password (read at every sign-in, never logged)"),
    Setting("ldap_user_base", _dn, None, "where users are searched (subtree)"),
    Setting("ldap_user_filter", _filter_template, "(uid={username})",
            "the user search; {username} is replaced by the escaped login name"),
    Setting("ldap_group_base", _dn, None, "where groups are searched; default: ldap_user_base"),
    Setting("ldap_group_filter", _ldap_filter,
            "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))",
            "what counts as a group"),
    Setting("ldap_member_attr", _attribute, "member", "a group's member attribute (DNs)"),
    Setting("ldap_nested_groups", _choice("walk", "in_chain", "off"), "walk",
            "nested groups: walk (member search level by level, bounded), in_chain (Active "
            "Directory's LDAP_MATCHING_RULE_IN_CHAIN), off (direct membership only)"),
    Setting("ldap_role_groups", _role_groups, None,
            "role=group DN;role=group DN: membership (also nested) gives the role; none or two "
            "different roles: no access"),
    Setting("ldap_link_attrs", _link_attrs,
            "staff_id=employeeNumber;team_id=departmentNumber;office_id=physicalDeliveryOfficeName",
            "link=attribute;...: the user attribute holding each role's link "
            "(staff, team, office)"),
    Setting("ldap_disabled_filter", _ldap_filter, "(pwdAccountLockedTime=*)",
            "a user entry matching this filter is disabled (Active Directory: "
            "(userAccountControl:1.2.840.113556.1.4.803:=2))"),
    Setting("ldap_timeout", _positive_float, "5",
            "seconds one sign-in may wait on the directory in all (connect, TLS, each search)"),
    Setting("ldap_local_login", _choice("all", "admin-only"), "all",
            "local accounts: all, or admin-only (break-glass admin; other roles only via the "
            "directory)"),
    Setting("base_url", _base_url, "http://127.0.0.1:5000",
            "the portal's address as users reach it (links in notification mails); its host "
            "name is a trusted Host header"),
    Setting("smtp_url", _smtp_url, "",
            "smtp://HOST:PORT or smtps://HOST:PORT for delivery notices; empty: no mail"),
    Setting("mail_from", _text, "opal@localhost", "sender address of delivery notices"),
    Setting("inbox_retention_days", _positive_int, "90",
            "days a delivered file stays in the inbox before `opal purge` removes it"),
    Setting("allowed_hosts", _host_list, "",
            "further host names (comma-separated, `.example.org` for every subdomain) a request "
            "may name in its Host header; any other host is refused with 400"),
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
    timezone: str
    trusted_proxies: int
    ldap_url: str | None = None
    ldap_starttls: bool = True
    ldap_ca_file: str | None = None
    ldap_bind_dn: str | None = None
    ldap_bind_password_file: str | None = None
    ldap_user_base: str | None = None
    ldap_user_filter: str = "(uid={username})"
    ldap_group_base: str | None = None
    ldap_group_filter: str = (
        "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))")
    ldap_member_attr: str = "member"
    ldap_nested_groups: str = "walk"
    ldap_role_groups: tuple[tuple[str, str], ...] | None = None
    ldap_link_attrs: tuple[tuple[str, str], ...] = (
        ("staff_id", "employeeNumber"), ("team_id", "departmentNumber"),
        ("office_id", "physicalDeliveryOfficeName"))
    ldap_disabled_filter: str = "(pwdAccountLockedTime=*)"
    ldap_timeout: float = 5.0
    ldap_local_login: str = "all"
    base_url: str = "http://127.0.0.1:5000"
    smtp_url: str = ""
    mail_from: str = "opal@localhost"
    inbox_retention_days: int = 90
    allowed_hosts: str = ""

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def trusted_hosts(self) -> tuple[str, ...]:
        """Host names a request may name: OPAL_BASE_URL's, then OPAL_ALLOWED_HOSTS."""
        from urllib.parse import urlsplit

        own = (urlsplit(self.base_url).hostname or "").lower()
        # a portal on the loopback address (the demo) answers to both of its usual names
        local = ["127.0.0.1", "localhost"] if own in ("127.0.0.1", "localhost") else []
        more = [name for name in self.allowed_hosts.split(",") if name]
        return tuple(dict.fromkeys([own, *local, *more]))

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
        _check_ldap(values)
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    @property
    def directory(self) -> bool:
        """True when sign-in asks the county's directory (``OPAL_LDAP_URL`` is set)."""
        return bool(self.ldap_url)

    def require_secret(self) -> str:
        """Return the secret key, or fail: the portal never signs sessions with a default."""
        if not self.secret_key:
            raise ConfigError(
                "OPAL_SECRET_KEY is not set and var/secret_key does not exist (run `make run`)"
            )
        return self.secret_key


def _check_ldap(values: dict[str, Any]) -> None:
    """The directory settings that only make sense together; one line on the first fault."""
    url = values.get("ldap_url")
    if not url:
        return
    import importlib.util

    if importlib.util.find_spec("ldap") is None:
        raise ConfigError("OPAL_LDAP_URL is set but python-ldap is not installed "
                          "(pip install 'opal[ldap]', needs libldap2-dev and libsasl2-dev)")
    for name in ("ldap_user_base", "ldap_role_groups"):
        if not values.get(name):
            raise ConfigError(f"OPAL_LDAP_URL is set but OPAL_{name.upper()} is not")
    import ldap.dn

    dns = [(name, values.get(name)) for name in ("ldap_bind_dn", "ldap_user_base",
                                                  "ldap_group_base")]
    dns += [("ldap_role_groups", dn) for _, dn in values["ldap_role_groups"]]
    for name, dn in dns:
        if dn and not ldap.dn.is_dn(dn):
            raise ConfigError(f"OPAL_{name.upper()}: {dn[:80]!r} is not a distinguished name")
    if bool(values.get("ldap_bind_dn")) != bool(values.get("ldap_bind_password_file")):
        raise ConfigError("OPAL_LDAP_BIND_DN and OPAL_LDAP_BIND_PASSWORD_FILE go together")
    host = url.partition("://")[2].rsplit(":", 1)[0] if not url.endswith("]") else \
        url.partition("://")[2]
    if url.startswith("ldap://") and not values.get("ldap_starttls") \
            and host not in _LOOPBACK:
        raise ConfigError("OPAL_LDAP_STARTTLS=0 would send passwords in clear text: only for "
                          "a loopback address (use StartTLS or ldaps://)")
