"""Headers on every response, CSRF on every POST, allowed methods, and the two throttles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, abort, current_app, request
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Dialect
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from opal.appdb.schema import downloads, login_failures
from opal.appdb.writeturn import write_turn
from opal.dbapi import Statement
from opal.dbapi import connection as fixed_connection
from opal.web.cookies import csrf_binding, finish_cookies
from opal.web.portal import portal

ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})
THROTTLE_WINDOW = timedelta(minutes=15)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def init_app(app: Flask) -> None:
    """Register the method filter, the CSRF check and the header hook."""
    app.before_request(_reject_methods)
    app.before_request(_check_csrf)
    app.after_request(_add_headers)


def _reject_methods() -> None:
    """Answer TRACE, PUT, DELETE and friends with 405 before any view runs."""
    if request.method not in ALLOWED_METHODS:
        if isinstance(request.routing_exception, NotFound):
            return  # no such path: its 404 follows
        raise MethodNotAllowed(valid_methods=sorted(allowed_methods()))


def allowed_methods() -> set[str]:
    """The methods this request's path answers (of GET, HEAD, POST): for ``Allow`` on a 405."""
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        methods = set(exc.valid_methods)
    else:  # the path matched a rule (OPTIONS): every rule of the path counts (GET and POST views)
        try:
            adapter = current_app.create_url_adapter(request)
            methods = set(adapter.allowed_methods()) if adapter is not None else set()
        except HTTPException:
            methods = set()
    return methods & ALLOWED_METHODS


def allow_header() -> str:
    """The ``Allow`` value of a 405, in a fixed order."""
    methods = allowed_methods()
    return ", ".join(m for m in ("GET", "HEAD", "POST") if m in methods)


def _add_headers(response: Response) -> Response:
    """Set the security headers; downloads keep their attachment disposition."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    response.headers.pop("Server", None)
    finish_cookies(response)
    return response


def csrf_for(secret: str, binding: str) -> str:
    """Return the CSRF token bound to a session (or anonymous nonce): an HMAC, never stored."""
    return hmac.new(secret.encode(), ("csrf:" + binding).encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """Return this request's CSRF token, creating an anonymous nonce when needed."""
    return csrf_for(portal().config.require_secret(), csrf_binding(create=True) or "")


def _check_csrf() -> None:
    """Reject a POST whose csrf_token is missing or wrong with 400."""
    if request.method != "POST" or request.routing_exception is not None:
        return  # GET/HEAD change nothing; an unrouted POST gets its 404/405
    binding = csrf_binding(create=False)
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not binding:
        abort(400, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")
    expected = csrf_for(portal().config.require_secret(), binding)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "Das Formular ist abgelaufen. Bitte laden Sie die Seite neu.")


def new_token() -> str:
    """Return a fresh random token for a cookie."""
    return secrets.token_urlsafe(32)


def token_id(token: str) -> str:
    """Return the sha256 of a cookie token: the only form the server stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def login_throttled(conn: Connection, username: str, address: str, now: datetime,
                    limit: int) -> bool:
    """Tell whether the account or the address had ``limit`` failures in the window."""
    since = now - THROTTLE_WINDOW
    by_user = conn.execute(
        select(func.count()).select_from(login_failures).where(
            login_failures.c.ts > since, login_failures.c.username == username)).scalar_one()
    by_addr = conn.execute(
        select(func.count()).select_from(login_failures).where(
            login_failures.c.ts > since, login_failures.c.address == address)).scalar_one()
    return by_user >= limit or by_addr >= limit


def record_login_failure(conn: Connection, username: str, address: str, now: datetime) -> int:
    """Count one failed login against the account and the address; return the row's id."""
    result = conn.execute(insert(login_failures).values(ts=now, username=username[:64],
                                                        address=address[:64]))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


#: the throttles' PostgreSQL lock, one per scope (the driver's placeholder style)
_PG_LOCK = "SELECT pg_advisory_xact_lock(hashtext(%(k)s))"


def _lock_key(scope: str) -> str:
    return f"opal throttle {scope}"


@contextmanager
def _serialized(engine: Engine, scope: str) -> Iterator[Connection]:
    """One transaction that no other throttle transaction interleaves with: SQLite takes the
    write lock at BEGIN IMMEDIATE, PostgreSQL a transaction-level advisory lock (the download
    counter does the same on the driver's connection: ``count_download``)."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql(_PG_LOCK, {"k": _lock_key(scope)})
        yield conn
        conn.commit()


def reserve_login_check(engine: Engine, username: str, address: str, now: datetime,
                        limit: int, scope: str = "") -> int | None:
    """Check the throttle and count this attempt as a failure in one serialized transaction:
    None when throttled, else the id of the failure row (``release_login_check`` drops it when
    the password was right). N concurrent attempts thus make at most ``limit`` password checks."""
    with _serialized(engine, scope) as conn:
        purge_throttles(conn, now)
        if login_throttled(conn, username, address, now, limit):
            return None
        return record_login_failure(conn, username, address, now)


def release_login_check(engine: Engine, reservation: int) -> None:
    """The password was right: the reserved attempt is no failure."""
    with engine.begin() as conn:
        conn.execute(delete(login_failures).where(login_failures.c.id == reservation))


#: the user's newest download number, and the time of one download by number (both one lookup
#: in the (username, seq) index), and the count itself: fixed statements on the driver's
#: connection (opal.dbapi), three of them per download
_LAST = Statement(select(func.max(downloads.c.seq))
                  .where(downloads.c.username == bindparam("username")))
_AT = Statement(select(downloads.c.ts).where(downloads.c.username == bindparam("username"),
                                             downloads.c.seq == bindparam("seq")))
_COUNT = Statement(insert(downloads), ["ts", "username", "seq"])


def download_allowed(cursor: Any, dialect: Dialect, username: str, now: datetime,
                     limit: int) -> bool:
    """Count a download on ``cursor`` (in the caller's serialized transaction); False when
    the user already had ``limit`` in the last minute.

    The user's downloads are numbered in the order made, so "``limit`` in the last minute" is
    "the download ``limit`` places back is younger than a minute": two index lookups whatever
    the limit (counting the minute's downloads cost a download ~0.5 ms per 1,000 of them,
    bench/peer.py). A number purged with its row (older than the longest window) is old."""
    if limit < 1:
        return False
    found = _LAST.first(cursor, dialect, {"username": username})
    last = int(found[0]) if found is not None and found[0] is not None else 0
    if last >= limit:
        back = _AT.first(cursor, dialect, {"username": username, "seq": last - limit + 1})
        if back is not None and back[0] > now - timedelta(minutes=1):
            return False
    _COUNT.execute(cursor, dialect, {"ts": now, "username": username, "seq": last + 1})
    return True


def count_download(engine: Engine, username: str, now: datetime, limit: int,
                   scope: str = "") -> bool:
    """``download_allowed`` serialized as ``_serialized`` does it (concurrent downloads never
    pass the limit) and committed without a disk sync: a counted download lost in a power cut
    harms nobody."""
    with write_turn(engine), fixed_connection(engine) as db:
        if db.dialect.name != "sqlite":
            db.cursor.execute(_PG_LOCK, {"k": _lock_key(f"download {scope} {username}")})
            db.cursor.execute("SET LOCAL synchronous_commit TO OFF")
            allowed = download_allowed(db.cursor, db.dialect, username, now, limit)
            db.conn.commit()
            return allowed
        db.cursor.execute("PRAGMA synchronous=NORMAL")  # not inside a transaction
        try:
            db.cursor.execute("BEGIN IMMEDIATE")
            allowed = download_allowed(db.cursor, db.dialect, username, now, limit)
            db.conn.commit()
        finally:
            try:  # back to FULL before the pooled connection writes an audit row
                db.conn.rollback()
                db.cursor.execute("PRAGMA synchronous=FULL")
            except BaseException:
                db.conn.invalidate()  # never reused at the weaker level
                raise
        return allowed


def purge_throttles(conn: Connection, now: datetime) -> None:
    """Drop throttle rows nobody needs any more (older than the longest window)."""
    old = now - THROTTLE_WINDOW - timedelta(minutes=1)
    conn.execute(login_failures.delete().where(or_(login_failures.c.ts < old)))
    conn.execute(downloads.delete().where(downloads.c.ts < old))
