"""Log-in and server-side sessions: the cookie holds a random token, the server its sha256 row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial, wraps
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import quote

from flask import Blueprint, Flask, Request, abort, g, redirect, render_template, request
from flask.sessions import SessionInterface, SessionMixin
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import bindparam, delete, insert, select, update

from opal.access import Actor
from opal.appdb.schema import user_sessions, users
from opal.audit import record
from opal.dbapi import Statement
from opal.dbapi import connection as fixed_connection
from opal.params import clean_for_log
from opal.pipeline import linked
from opal.renderers import DOWNLOADS
from opal.roles import role_of
from opal.signin import sign_in
from opal.users import User, get_user
from opal.web.cookies import cookie_names
from opal.web.portal import portal
from opal.web.security import (
    new_token,
    release_login_check,
    reserve_login_check,
    token_id,
)

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])

LOGIN_FAILED = "Anmeldung fehlgeschlagen. Bitte prüfen Sie Benutzername und Passwort."
THROTTLED = ("Anmeldung fehlgeschlagen. Zu viele Versuche: bitte warten Sie 15 Minuten, "
             "bevor Sie es erneut versuchen.")
DOWNLOAD_SUFFIXES = tuple(f".{f.name}" for f in DOWNLOADS)

class _SessionRow(NamedTuple):
    """A row of ``_SESSION``, in its column order."""

    created_at: datetime
    last_seen_at: datetime
    role_at_login: str | None
    id: int
    username: str
    role: str | None
    staff_id: str | None
    team_id: str | None
    office_id: str | None
    active: bool


#: the session and its user in one read, and ending or touching it: fixed statements on the
#: driver's connection (every request resolves its cookie; ``opal.dbapi``)
_SESSION = Statement(
    select(user_sessions.c.created_at, user_sessions.c.last_seen_at,
           user_sessions.c.role_at_login, users.c.id, users.c.username, users.c.role,
           users.c.staff_id, users.c.team_id, users.c.office_id, users.c.active)
    .join(users, users.c.id == user_sessions.c.user_id)
    .where(user_sessions.c.id == bindparam("sid")))
_END = Statement(delete(user_sessions).where(user_sessions.c.id == bindparam("sid")))
_TOUCH = Statement(update(user_sessions).where(user_sessions.c.id == bindparam("sid"))
                   .values(last_seen_at=bindparam("now")))
#: how stale ``last_seen_at`` may get before a request writes it again (idle timeout)
TOUCH_EVERY = timedelta(minutes=1)


@dataclass
class PortalUser(UserMixin):
    """The logged-in user as the views see it; ``actor()`` hands it to the engine."""

    user_id: int
    username: str
    role: str | None
    staff_id: str | None
    team_id: str | None
    office_id: str | None = None

    def get_id(self) -> str:
        return str(self.user_id)

    def actor(self) -> Actor:
        """Return the engine's Actor for this user."""
        return Actor(username=self.username, role=self.role, staff_id=self.staff_id,
                     team_id=self.team_id, office_id=self.office_id)


class NoFlaskSession(SessionInterface):
    """Flask's signed-cookie session, switched off: OPAL's sessions are server-side rows, and
    nothing may be kept in a cookie (flask-login finds no ``_user_id`` there, whatever a
    client sends). Opening and saving the unused cookie cost ~2 % of a short download."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        return None


class _SessionRowsOnly(LoginManager):
    """flask-login with the session row as the one way in: its own loader also looks into
    Flask's cookie session (switched off here), for a remember-me cookie and a header, and
    sends a signal nobody receives; that cost a short download ~5 % (bench/README.md, "fifth
    pass"). ``current_user`` and ``login_required`` are flask-login's as before."""

    def _load_user(self) -> None:
        self._update_request_context_with_user(_load_user(request))


def init_app(app: Flask) -> None:
    """Wire flask-login to the server-side session table (no Flask session cookie at all)."""
    app.session_interface = NoFlaskSession()
    manager = _SessionRowsOnly()
    manager.session_protection = None  # the loader is ``_SessionRowsOnly._load_user``
    manager.unauthorized_handler(_unauthorized)
    manager.init_app(app)
    app.register_blueprint(bp)


def _load_user(req: Request) -> PortalUser | None:
    """Resolve the session cookie; end the session when expired, disabled or re-roled."""
    token = req.cookies.get(cookie_names()[0])
    if not token:
        return None
    p = portal()
    now, cfg = p.now_naive(), p.config
    sid = token_id(token)
    with fixed_connection(p.app_db) as db:
        found = _SESSION.first(db.cursor, db.dialect, {"sid": sid})
        row = _SessionRow(*found) if found is not None else None
        ended = (row is None or not row.active or row.role != row.role_at_login
                 or now - row.last_seen_at > timedelta(minutes=cfg.session_idle_minutes)
                 or now - row.created_at > timedelta(hours=cfg.session_max_hours))
        if ended:
            _END.execute(db.cursor, db.dialect, {"sid": sid})
        elif row is not None and now - row.last_seen_at >= TOUCH_EVERY:
            # the idle timeout works at minute resolution: no write on every request
            _TOUCH.execute(db.cursor, db.dialect, {"sid": sid, "now": now})
        db.conn.commit()
    if ended:
        g.opal_clear_session = True
        return None
    assert row is not None
    g.opal_session_token = token
    return PortalUser(row.id, row.username, row.role, row.staff_id, row.team_id, row.office_id)


def _unauthorized() -> Any:
    """Send pages to the login form; downloads get a plain 401."""
    if is_download_path(request.path):
        abort(401)
    target = request.full_path if request.query_string else request.path
    return redirect(f"/login?next={_quote(target)}")


def is_download_path(path: str) -> bool:
    return path.startswith("/reports/") and path.endswith(DOWNLOAD_SUFFIXES)


def admin_required(view: F) -> F:
    """Let only logged-in admins through: anonymous to the login form, everyone else 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return _unauthorized()
        role = role_of(current_user.role)
        if role is None or not role.admin:
            audit_event(current_user.username, current_user.role, "admin", "denied",
                        "keine Administrationsrolle")
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the form; on POST check throttle, password and account, then start a session."""
    nxt = safe_next(request.values.get("next"))
    if request.method != "POST":
        if current_user.is_authenticated:
            return redirect(nxt)
        return render_template("login.html", next=nxt,
                               logged_out=request.args.get("abgemeldet") == "1")
    # control characters (NUL breaks PostgreSQL text) escaped: such a name never matches a user
    username = clean_for_log(request.form.get("username", "").strip(), 64)
    user, status, message = _authenticate(username, request.form.get("password", ""))
    if user is None:
        message = THROTTLED if status == 429 else message or LOGIN_FAILED
        return render_template("login.html", error=message, username=username, next=nxt), status
    _start_session(user)
    return redirect(nxt)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the session server-side: the old cookie is worthless from now on."""
    token = g.get("opal_session_token")
    p = portal()
    if token and current_user.is_authenticated:
        with p.app_db.begin() as conn:
            conn.execute(delete(user_sessions).where(user_sessions.c.id == token_id(token)))
        audit_event(current_user.username, current_user.role, "logout", "ok")
    g.opal_clear_session = True
    return redirect("/login?abgemeldet=1")


def _authenticate(username: str, password: str) -> tuple[User | None, int, str | None]:
    """Return (user, 200, None) or (None, 401/403/429/503, message or None for the generic one).

    Local accounts and the directory are ``opal.signin``'s; unknown names cost the same work.
    """
    p = portal()
    now, address = p.now_naive(), client_address()
    # check and count in one transaction: concurrent attempts never pass the limit
    attempt = reserve_login_check(p.app_db, username, address, now,
                                  p.config.login_max_failures, p.config.app_db_schema)
    if attempt is None:
        _audit_throttled(username)
        return None, 429, None
    result = sign_in(p.config, p.app_db, username, password, linked=partial(linked, p),
                     clock=p.clock)
    if not result.failure:  # signed in, or refused for a reason that is no wrong password
        release_login_check(p.app_db, attempt)
    if result.user is not None:
        return result.user, 200, None
    audit_event(result.username, result.role, "login", result.outcome, result.reason)
    return None, result.status, result.message


def _audit_throttled(username: str) -> None:
    """Name the account under attack: its user name if it exists, and always the name tried
    (``username`` comes cleaned and cut to 64 characters from ``login``)."""
    known = get_user(portal().app_db, username)
    audit_event(known.username if known else None, known.role if known else None, "login",
                "denied", f"zu viele Fehlversuche (Name: {username or '-'})")


def _start_session(user: User) -> None:
    """Issue a fresh session id (never reuse one from before the login) and audit it."""
    p = portal()
    now, token = p.now_naive(), new_token()
    old = request.cookies.get(cookie_names()[0])
    with p.app_db.begin() as conn:
        if old:
            conn.execute(delete(user_sessions).where(user_sessions.c.id == token_id(old)))
        conn.execute(insert(user_sessions).values(
            id=token_id(token), user_id=user.id, created_at=now, last_seen_at=now,
            role_at_login=user.role))
    audit_event(user.username, user.role, "login", "ok")
    g.opal_new_session = token


def audit_event(username: str | None, role: str | None, action: str, outcome: str,
                message: str | None = None) -> None:
    """Append a login/logout event to the audit log (never a password)."""
    p = portal()
    record(p.app_db, clock=p.clock, username=username, role=role, action=action,
           outcome=outcome, message=message, client=client_address())


def client_address() -> str:
    return (request.remote_addr or "-")[:64]


def safe_next(value: str | None) -> str:
    """Return a local path to continue to after login; anything else goes to the catalogue."""
    # no control characters or backslashes anywhere: browsers drop TAB/CR/LF from URLs
    # ("/\t/evil.com" becomes "//evil.com") and CR/LF cannot go into a Location header
    if value and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and not value.startswith("/login") and value.isprintable() and "\\" not in value:
        return value
    return "/reports"


def _quote(path: str) -> str:
    return quote(path, safe="/")
