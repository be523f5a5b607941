"""Who may sign in, and as what: local accounts, or the county's directory (deny by default).

A name with a local account is checked against its local password (break-glass admin, demo;
``OPAL_LDAP_LOCAL_LOGIN=admin-only`` keeps only admins). Every other name goes to the directory
when ``OPAL_LDAP_URL`` is set: its groups give exactly one role, its attributes the role's link,
the link must exist in the live data; then the local record is brought up to date. The web's
login view (throttle, session, audit row) asks ``sign_in`` and shows its message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from config import Config
from opal.access import Actor
from opal.clock import Clock, system_clock
from opal.labels import label as label_of
from opal.roles import ROLES, link_of, role_of
from opal.users import (
    _LINK_ID,
    User,
    get_user,
    sync_directory_user,
    valid_directory_name,
    verify_login,
)

ADMIN_HINT = " Bitte wenden Sie sich an die Administration."
NO_ROLE = "Anmeldung nicht möglich: Ihr Verzeichniskonto ist keiner OPAL-Rolle zugeordnet." \
    + ADMIN_HINT
TWO_ROLES = ("Anmeldung nicht möglich: Ihr Verzeichniskonto ist mehreren OPAL-Rollen zugeordnet "
             "({roles}); es darf nur eine sein." + ADMIN_HINT)
NO_LINK = ("Anmeldung nicht möglich: Im Verzeichnis fehlt Ihre {label} oder sie ist ungültig."
           + ADMIN_HINT)
NOT_LIVE = ("Anmeldung nicht möglich: Ihre {label} {value} kommt in den aktuellen Daten nicht "
            "vor." + ADMIN_HINT)
DISABLED_HERE = "Anmeldung nicht möglich: Ihr OPAL-Zugang ist gesperrt." + ADMIN_HINT
LOCAL_OFF = ("Die Anmeldung mit einem lokalen Konto ist abgeschaltet. Bitte melden Sie sich mit "
             "Ihrem Verzeichniskonto an.")
UNAVAILABLE = ("Der Verzeichnisdienst ist zurzeit nicht erreichbar. Bitte versuchen Sie es in "
               "einigen Minuten erneut.")
#: German names of the link kinds in messages (a new kind without a label shows its key)


@dataclass(frozen=True)
class SignIn:
    """The answer to one sign-in.

    ``user`` is set when a session may start. Otherwise ``status`` (401 wrong name or password,
    403 no access, 503 directory unavailable), ``message`` (German, for the form; None: the
    generic wrong-name-or-password text), ``failure`` (counts toward the login throttle), and the
    audit row's ``username``/``role``/``outcome``/``reason``.
    """

    user: User | None
    status: int = 200
    message: str | None = None
    failure: bool = False
    username: str | None = None
    role: str | None = None
    outcome: str = "ok"
    reason: str | None = None


def sign_in(config: Config, app_db: Engine, username: str, password: str, *,
            linked: Callable[[Actor], bool], clock: Clock = system_clock) -> SignIn:
    """Decide one sign-in; ``linked(actor)`` tells whether the actor's link is in the live data."""
    local = get_user(app_db, username)
    if (local is not None and local.source == "local") or not config.directory:
        return _local(config, app_db, username, password, local)
    return _directory(config, app_db, username, password, linked, clock)


def _local(config: Config, app_db: Engine, username: str, password: str,
           known: User | None) -> SignIn:
    user = verify_login(app_db, username, password)
    if user is None:
        return SignIn(None, 401, failure=True, username=known.username if known else None,
                      role=known.role if known else None, outcome="denied",
                      reason="falsches Passwort" if known else "unbekannter Name")
    if config.ldap_local_login == "admin-only" and user.role != "admin":
        return SignIn(None, 403, LOCAL_OFF, username=user.username, role=user.role,
                      outcome="denied", reason="lokale Anmeldung abgeschaltet")
    return SignIn(user)


def _directory(config: Config, app_db: Engine, username: str, password: str,
               linked: Callable[[Actor], bool], clock: Clock) -> SignIn:
    from opal import directory

    name = username.lower()
    if not valid_directory_name(name):
        return SignIn(None, 401, failure=True, outcome="denied", reason="ungültiger Name")
    stored = get_user(app_db, name)
    if stored is not None and stored.source == "local":
        # the directory must not take over a local account that differs only in case
        return SignIn(None, 401, failure=True, username=stored.username, role=stored.role,
                      outcome="denied", reason="Name eines lokalen Kontos")
    verdict = directory.authenticate(config, name, password)
    if verdict.kind == "unavailable":
        return SignIn(None, 503, UNAVAILABLE, outcome="error", reason=verdict.reason,
                      username=stored.username if stored else None)
    if verdict.kind != "ok":
        if verdict.reason == "Verzeichniskonto deaktiviert" and stored is not None:
            sync_directory_user(app_db, name, None, {}, clock=clock)  # ends its sessions
        return SignIn(None, 401, failure=True, username=stored.username if stored else None,
                      role=stored.role if stored else None, outcome="denied",
                      reason=verdict.reason)
    role, links, denial = _grant(config, verdict, name, linked)
    user = sync_directory_user(app_db, name, role, links, clock=clock)
    if denial is not None:
        message, reason = denial
        return SignIn(None, 403, message, username=name, role=None, outcome="denied",
                      reason=reason)
    if not user.active:
        return SignIn(None, 403, DISABLED_HERE, username=name, role=user.role, outcome="denied",
                      reason="in OPAL gesperrt (opal users disable)")
    return SignIn(user)


def _grant(config: Config, verdict: object, name: str, linked: Callable[[Actor], bool]
           ) -> tuple[str | None, dict[str, str], tuple[str, str] | None]:
    """The role and links the directory gives, or no role and (message, audit reason)."""
    from opal.directory import Verdict, normalise_dn

    assert isinstance(verdict, Verdict)
    roles = sorted({role for role, dn in config.ldap_role_groups or ()
                    if normalise_dn(dn) in verdict.groups}, key=list(ROLES).index)
    if not roles:
        return None, {}, (NO_ROLE, "keine OPAL-Gruppe im Verzeichnis")
    if len(roles) > 1:
        labels = ", ".join(label_of("role", r) for r in roles)
        return None, {}, (TWO_ROLES.format(roles=labels),
                          f"mehrere Rollen im Verzeichnis: {', '.join(roles)}")
    role = roles[0]
    found = role_of(role)
    link = link_of(found) if found is not None else None
    if link is None:
        return role, {}, None
    kind, label = link.attr, link.label
    attribute = dict(config.ldap_link_attrs).get(kind)
    values = verdict.attributes.get(attribute, []) if attribute else []
    if len(values) != 1 or not _LINK_ID.fullmatch(values[0]):
        return None, {}, (NO_LINK.format(label=label),
                          f"{role}: Attribut {attribute or kind} fehlt oder ungültig")
    value = values[0]
    if not linked(Actor(name, role, **{kind: value})):
        return None, {}, (NOT_LIVE.format(label=label, value=value),
                          f"{role}: {kind} {value} nicht in den Live-Daten")
    return role, {kind: value}, None
