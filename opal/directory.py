"""The county's directory (LDAP / Active Directory): check a password, read groups and links.

Protocol work is python-ldap's (libldap); this module only decides what to ask. One sign-in:
connect (``ldaps://`` or StartTLS, the certificate checked against ``OPAL_LDAP_CA_FILE``), bind
as the service account, find the user (every value in a filter escaped, exactly one entry),
refuse a disabled entry, bind as the user with the password, bind as the service account again
and collect the user's groups (nested ones too, bounded). Everything the directory is asked is
bounded by one deadline (``OPAL_LDAP_TIMEOUT``). The role and links are decided by
``opal.signin``; the password is never kept, logged or put into a message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import Config

log = logging.getLogger("opal.directory")

#: AD's LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nested groups
IN_CHAIN = "1.2.840.113556.1.4.1941"
#: bounds of the nested-group walk: levels, groups in all, member DNs per search
MAX_DEPTH = 10
MAX_GROUPS = 500
BATCH = 50
#: sign-ins that may wait on the directory at once in one process; the caller's extra wait
MAX_WAITING = 8
GRACE = 1.0
_SLOTS = threading.BoundedSemaphore(MAX_WAITING)


class Unavailable(Exception):
    """The directory did not answer usefully in time (down, TLS refused, timeout, bounds)."""


@dataclass(frozen=True)
class Verdict:
    """What the directory said about one sign-in.

    ``kind``: ``ok`` (password right; ``dn``, ``groups`` and ``attributes`` filled), ``invalid``
    (unknown name, wrong or empty password, disabled or ambiguous entry: all look the same to the
    user) or ``unavailable``. ``reason`` is a short German audit text without personal data.
    """

    kind: str
    reason: str
    dn: str | None = None
    groups: frozenset[str] = frozenset()  #: normalised DNs of every group, nested ones too
    attributes: dict[str, list[str]] = field(default_factory=dict)


def normalise_dn(dn: str) -> str:
    """A DN in one spelling (case, spaces, escapes), so that configured and found DNs compare."""
    import ldap.dn

    rdns = ldap.dn.str2dn(dn)
    return str(ldap.dn.dn2str([[(t.lower(), v.lower(), 1) for t, v, _ in rdn] for rdn in rdns]))


def user_filter(config: Config, username: str) -> str:
    """The user search for ``username`` (escaped: ``*()\\`` and NUL cannot change the filter)."""
    from ldap.filter import escape_filter_chars

    return config.ldap_user_filter.replace("{username}", escape_filter_chars(username))


def group_filter(config: Config, member_dns: Iterable[str], *, in_chain: bool = False) -> str:
    """Groups with any of ``member_dns`` as member (AD: through nested groups too)."""
    from ldap.filter import escape_filter_chars

    rule = f":{IN_CHAIN}:" if in_chain else ""
    terms = "".join(f"({config.ldap_member_attr}{rule}={escape_filter_chars(dn)})"
                    for dn in member_dns)
    if terms.count("(") > 1:
        terms = f"(|{terms})"
    return f"(&{config.ldap_group_filter}{terms})"


class _Deadline:
    """The time one sign-in may still wait on the directory."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def left(self) -> float:
        left = self._end - self._clock()
        if left <= 0:
            raise Unavailable("Zeitlimit überschritten")
        return left


def authenticate(config: Config, username: str, password: str) -> Verdict:
    """Check ``password`` for ``username`` against the directory; never raises for LDAP faults.

    The conversation runs in a worker thread that the caller waits for at most
    ``OPAL_LDAP_TIMEOUT`` (plus a grace second): libldap bounds connect and each operation, but
    not a TLS handshake the server never answers. A worker left waiting on such a server holds
    one of ``MAX_WAITING`` slots until the connection breaks; with every slot held, sign-ins
    answer "unavailable" at once instead of piling up threads.
    """
    if not password:  # an empty simple bind is an anonymous bind: it would "succeed"
        return Verdict("invalid", "leeres Passwort")
    if not _SLOTS.acquire(blocking=False):
        return Verdict("unavailable", "Verzeichnis nicht erreichbar: zu viele offene Anfragen")
    box: list[Verdict] = []

    def work() -> None:
        try:
            box.append(_converse(config, username, password))
        finally:
            _SLOTS.release()

    worker = threading.Thread(target=work, name="opal-directory", daemon=True)
    worker.start()
    worker.join(config.ldap_timeout + GRACE)
    if not box:
        log.warning("directory unavailable: no answer within %.1f s", config.ldap_timeout)
        return Verdict("unavailable", "Verzeichnis nicht erreichbar: Zeitlimit überschritten")
    return box[0]


def _converse(config: Config, username: str, password: str) -> Verdict:
    """The directory conversation of one sign-in (see the module docstring)."""
    import ldap

    deadline = _Deadline(config.ldap_timeout)
    conn: Any = None
    try:
        conn = _connect(config, deadline)
        _bind_service(conn, config, deadline)
        entry = _find_user(conn, config, username, deadline)
        if isinstance(entry, Verdict):
            return entry
        dn, attributes = entry
        if _disabled(conn, config, dn, deadline):
            return Verdict("invalid", "Verzeichniskonto deaktiviert", dn)
        try:
            _timed(conn, deadline)
            conn.simple_bind_s(dn, password)
        except (ldap.INVALID_CREDENTIALS, ldap.UNWILLING_TO_PERFORM, ldap.INAPPROPRIATE_AUTH,
                ldap.CONSTRAINT_VIOLATION):
            return Verdict("invalid", "falsches Passwort", dn)
        _bind_service(conn, config, deadline)
        groups = _groups(conn, config, dn, deadline)
        return Verdict("ok", "Verzeichnis", dn, groups, attributes)
    except Unavailable as exc:
        log.warning("directory unavailable: %s", exc)
        return Verdict("unavailable", f"Verzeichnis nicht erreichbar: {exc}")
    except ldap.LDAPError as exc:
        reason = _describe(exc)
        log.warning("directory unavailable: %s", reason)
        return Verdict("unavailable", f"Verzeichnis nicht erreichbar: {reason}")
    finally:
        if conn is not None:
            try:
                conn.unbind_s()
            except ldap.LDAPError:
                pass


def _describe(exc: Exception) -> str:
    """The exception's class and libldap's description; never a password (none is passed)."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = str(detail.get("desc", "")) if isinstance(detail, dict) else ""
    return f"{type(exc).__name__}{': ' + text if text else ''}"[:200]


def _timed(conn: Any, deadline: _Deadline) -> float:
    """Set the operation timeout of the next call to what is left of the deadline."""
    import ldap

    left = deadline.left()
    conn.timeout = left  # python-ldap's synchronous calls wait at most this long
    conn.set_option(ldap.OPT_TIMEOUT, left)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, left)
    return left


def _connect(config: Config, deadline: _Deadline) -> Any:
    """Open the connection with TLS: ldaps:// or StartTLS; the certificate must verify."""
    import ldap

    url = config.ldap_url or ""
    conn = ldap.initialize(url)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)  # AD answers searches with referrals otherwise
    for option, value in (("OPT_X_KEEPALIVE_IDLE", 10), ("OPT_X_KEEPALIVE_INTERVAL", 5),
                          ("OPT_X_KEEPALIVE_PROBES", 3)):  # a vanished server breaks the socket
        if hasattr(ldap, option):
            conn.set_option(getattr(ldap, option), value)
    _timed(conn, deadline)
    tls = url.startswith("ldaps://") or config.ldap_starttls
    if tls:
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        conn.set_option(ldap.OPT_X_TLS_PROTOCOL_MIN, ldap.OPT_X_TLS_PROTOCOL_TLS1_2)
        if config.ldap_ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, config.ldap_ca_file)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: builds the context from the above
    if url.startswith("ldap://") and config.ldap_starttls:
        _timed(conn, deadline)
        conn.start_tls_s()
    return conn


def _bind_service(conn: Any, config: Config, deadline: _Deadline) -> None:
    """Bind as the service account (password from its file), or anonymously without one."""
    import ldap

    password = ""
    if config.ldap_bind_password_file:
        try:
            password = Path(config.ldap_bind_password_file).read_text("utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError):
            raise Unavailable("Passwortdatei des Dienstkontos nicht lesbar") from None
    _timed(conn, deadline)
    try:
        conn.simple_bind_s(config.ldap_bind_dn or "", password)
    except ldap.INVALID_CREDENTIALS:
        raise Unavailable("Dienstkonto abgewiesen (OPAL_LDAP_BIND_DN / Passwortdatei)") from None


def _search(conn: Any, deadline: _Deadline, base: str, scope: int, filterstr: str,
            attrs: list[str], sizelimit: int) -> list[tuple[str, dict[str, list[bytes]]]]:
    """One bounded search; referrals (entries without DN) are dropped."""
    left = _timed(conn, deadline)
    found = conn.search_ext_s(base, scope, filterstr, attrlist=attrs, timeout=left,
                              sizelimit=sizelimit)
    return [(dn, entry) for dn, entry in found if dn]


def _find_user(conn: Any, config: Config, username: str, deadline: _Deadline
               ) -> tuple[str, dict[str, list[str]]] | Verdict:
    """The one entry for ``username`` with its link attributes, or an ``invalid`` verdict."""
    import ldap

    attrs = sorted({attribute for _, attribute in config.ldap_link_attrs})
    try:
        found = _search(conn, deadline, config.ldap_user_base or "", ldap.SCOPE_SUBTREE,
                        user_filter(config, username), attrs, 2)
    except ldap.SIZELIMIT_EXCEEDED:
        return Verdict("invalid", "Name im Verzeichnis mehrdeutig")
    except ldap.NO_SUCH_OBJECT:
        raise Unavailable("OPAL_LDAP_USER_BASE gibt es nicht") from None
    if not found:
        # a bind that fails as a wrong password does: unknown names cost about the same time
        try:
            _timed(conn, deadline)
            conn.simple_bind_s(f"cn=opal-unknown-user,{config.ldap_user_base}", "x")
        except ldap.LDAPError:
            pass
        return Verdict("invalid", "unbekannter Name")
    if len(found) > 1:
        return Verdict("invalid", "Name im Verzeichnis mehrdeutig")
    dn, entry = found[0]
    lowered = {key.lower(): values for key, values in entry.items()}
    attributes = {}
    for attribute in attrs:
        values = lowered.get(attribute.lower(), [])
        attributes[attribute] = [v.decode("utf-8", "replace") for v in values]
    return dn, attributes


def _disabled(conn: Any, config: Config, dn: str, deadline: _Deadline) -> bool:
    """True when the user's own entry matches ``OPAL_LDAP_DISABLED_FILTER``."""
    import ldap

    try:
        return bool(_search(conn, deadline, dn, ldap.SCOPE_BASE, config.ldap_disabled_filter,
                            ["1.1"], 1))
    except ldap.NO_SUCH_OBJECT:
        return True


def _groups(conn: Any, config: Config, dn: str, deadline: _Deadline) -> frozenset[str]:
    """Normalised DNs of the user's groups: direct, and nested as configured (bounded)."""
    import ldap

    base = config.ldap_group_base or config.ldap_user_base or ""
    mode = config.ldap_nested_groups

    def search(filterstr: str) -> list[str]:
        try:
            return [d for d, _ in _search(conn, deadline, base, ldap.SCOPE_SUBTREE, filterstr,
                                          ["1.1"], MAX_GROUPS)]
        except ldap.SIZELIMIT_EXCEEDED:
            raise Unavailable(f"mehr als {MAX_GROUPS} Gruppen") from None

    if mode == "in_chain":
        return frozenset(normalise_dn(d) for d in search(group_filter(config, [dn],
                                                                      in_chain=True)))
    seen: dict[str, str] = {}  # normalised -> as found (the next level searches for it)
    frontier = [dn]
    for _level in range(MAX_DEPTH if mode == "walk" else 1):
        found: list[str] = []
        for start in range(0, len(frontier), BATCH):
            found += search(group_filter(config, frontier[start:start + BATCH]))
        frontier = []
        for group in found:
            key = normalise_dn(group)
            if key not in seen:
                seen[key] = group
                frontier.append(group)
        if len(seen) > MAX_GROUPS:
            raise Unavailable(f"mehr als {MAX_GROUPS} Gruppen")
        if not frontier:
            return frozenset(seen)
    if mode == "walk" and frontier:
        raise Unavailable(f"Gruppen tiefer als {MAX_DEPTH} Ebenen verschachtelt")
    return frozenset(seen)
