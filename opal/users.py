"""The user store: accounts, roles and their linkage, argon2id password hashes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, insert, select, update

from opal.access import Actor
from opal.appdb.schema import user_sessions, users
from opal.clock import Clock, system_clock
from opal.roles import check_links, link_columns, role_of

_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: a directory login name: what the county's directory allows, printable, at most 64 characters
_DIRECTORY_NAME = re.compile(r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,62}[^\s\x00-\x1f\x7f])?$")
_LINK_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")
MAX_PASSWORD = 1024
MIN_PASSWORD = 12
_HASHER = PasswordHasher()  # argon2id with the library's current defaults
#: verified against for unknown users, so a login takes as long either way
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A user operation was asked with invalid values."""


@dataclass(frozen=True)
class User:
    """One account as stored (without its hash)."""

    id: int
    username: str
    role: str | None
    staff_id: str | None
    team_id: str | None
    active: bool
    source: str = "local"  #: local (hash here) or directory (re-read at every sign-in)
    office_id: str | None = None

    def actor(self) -> Actor:
        """The Actor reports run as; a disabled account has no role."""
        return Actor(self.username, self.role if self.active else None, self.staff_id,
                     self.team_id, self.office_id)


def generate_password() -> str:
    """A strong random password (about 144 bits), printed once."""
    return secrets.token_urlsafe(18)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _check(username: str, role: str | None, staff_id: str | None, team_id: str | None,
           office_id: str | None = None) -> None:
    if not _USERNAME.fullmatch(username):
        raise UserError("Benutzername: 1–64 Zeichen aus A–Z, a–z, 0–9, . _ @ -")
    fault = check_links(role, {"staff_id": staff_id, "team_id": team_id, "office_id": office_id})
    if fault is not None:
        raise UserError(fault)
    for value in (staff_id, team_id, office_id):
        if value and not _LINK_ID.fullmatch(value):
            raise UserError(f"ungültige Kennung {value[:64]!r}")


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"Passwort: {MIN_PASSWORD} bis {MAX_PASSWORD} Zeichen")


def upsert_user(engine: Engine, username: str, role: str | None, *, staff_id: str | None = None,
                team_id: str | None = None, office_id: str | None = None,
                password: str | None = None, clock: Clock = system_clock,
                email: str | None = None) -> bool:
    """Create or update a user (active again); keep the password (and the mail address for
    delivery notices) unless one is given; ``email=""`` removes the address.

    Return True when the user was created. A changed role ends the user's sessions. A new
    password makes a directory-managed account local; without one it stays where it is.
    """
    _check(username, role, staff_id, team_id, office_id)
    if password is not None:
        _check_password(password)
    now = clock().astimezone(UTC).replace(tzinfo=None)
    values = {"role": role, "staff_id": staff_id or None, "team_id": team_id or None,
              "office_id": office_id or None, "active": True, "updated_at": now}
    if password is not None:
        values["password_hash"] = hash_password(password)
        values["source"] = "local"
    if email is not None:
        if email and not _EMAIL.fullmatch(email):
            raise UserError(f"ungültige E-Mail-Adresse {email[:64]!r}")
        values["email"] = email or None
    with engine.begin() as conn:
        row = conn.execute(select(users.c.id, users.c.role, users.c.staff_id, users.c.team_id,
                                  users.c.office_id)
                           .where(users.c.username == username)).first()
        if row is None:
            values["source"] = "local"
            conn.execute(insert(users).values(username=username, created_at=now, **values))
            return True
        conn.execute(update(users).where(users.c.id == row.id).values(**values))
        if (row.role, row.staff_id, row.team_id, row.office_id) != (
                role, staff_id or None, team_id or None, office_id or None) \
                or password is not None:
            conn.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        return False


def disable_user(engine: Engine, username: str, *, clock: Clock = system_clock) -> bool:
    """Disable a user and end every session; return False when there is no such user."""
    now = clock().astimezone(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
        if row is None:
            return False
        conn.execute(update(users).where(users.c.id == row.id)
                     .values(active=False, updated_at=now))
        conn.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        return True


def sync_directory_user(engine: Engine, username: str, role: str | None,
                        links: Mapping[str, str], *, clock: Clock = system_clock) -> User:
    """Store what the directory said at sign-in: role and links replace the stored ones.

    The account is directory-managed (no local password). ``role`` None (the directory gives no
    access) keeps the record but ends its sessions. ``active`` stays as it is: an operator's
    ``opal users disable`` holds against the directory.
    """
    if not valid_directory_name(username):
        raise UserError("ungültiger Verzeichnisname")
    if role is not None and role_of(role) is None:
        raise UserError(f"Rolle {role!r} gibt es nicht")
    kinds = set(link_columns())
    stored = {kind: links.get(kind) or None for kind in sorted(kinds)}
    for kind, value in stored.items():
        if value is not None and not _LINK_ID.fullmatch(value):
            raise UserError(f"ungültige Kennung für {kind}")
    now = clock().astimezone(UTC).replace(tzinfo=None)
    values = {"role": role, "updated_at": now, **stored}
    with engine.begin() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            conn.execute(insert(users).values(username=username, created_at=now, active=True,
                                              source="directory", password_hash=None, **values))
        else:
            if row._mapping["source"] != "directory":
                raise UserError("lokales Konto: das Verzeichnis verwaltet es nicht")
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
            if any(row._mapping[k] != v for k, v in values.items() if k != "updated_at"):
                conn.execute(delete(user_sessions).where(user_sessions.c.user_id == row.id))
        found = conn.execute(select(*_COLUMNS).where(users.c.username == username)).first()
    return _user(found)


def valid_directory_name(username: object) -> bool:
    """True for a name that may stand for a directory account (printable, 1-64 characters)."""
    return isinstance(username, str) and bool(_DIRECTORY_NAME.fullmatch(username))


_COLUMNS = (users.c.id, users.c.username, users.c.role, users.c.staff_id, users.c.team_id,
            users.c.active, users.c.source, users.c.office_id)


def _user(row: object) -> User:
    r = row._mapping  # type: ignore[attr-defined]
    return User(r["id"], r["username"], r["role"], r["staff_id"], r["team_id"], bool(r["active"]),
                r["source"], r["office_id"])


def get_user(engine: Engine, username: str) -> User | None:
    """The stored user named ``username`` (active or not), or None."""
    if not isinstance(username, str) or not (_USERNAME.fullmatch(username)
                                             or valid_directory_name(username)):
        return None
    cols = _COLUMNS
    with engine.connect() as conn:
        row = conn.execute(select(*cols).where(users.c.username == username)).first()
    return None if row is None else _user(row)


def verify_login(engine: Engine, username: str, password: str) -> User | None:
    """The active local user when ``password`` matches, else None (same work for unknown names).

    A directory-managed account has no local password: never here.
    """
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return None
    stored: str | None = None
    user = None
    if isinstance(username, str) and _USERNAME.fullmatch(username):
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is not None:
            user = _user(row)
            stored = row._mapping["password_hash"]
    try:
        _HASHER.verify(stored or _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or stored is None or not user.active or user.source != "local":
        return None
    if _HASHER.check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user.id)
                         .values(password_hash=hash_password(password)))
    return user
