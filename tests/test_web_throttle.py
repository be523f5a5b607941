"""The login throttle under concurrency, and what the audit says about throttled attempts.

Issue 20, point 4: 30 concurrent wrong passwords against one account made 6 password checks
instead of 5 (check and count were two transactions). Point 7: throttled attempts were audited
with an empty user name.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import opal.signin
from opal.appdb.schema import downloads, login_failures
from opal.audit import recent
from tests.fixtures.engine import EngineWorld
from tests.fixtures.web import PASSWORD, USERS, csrf_of

ATTEMPTS = 30


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every password check the portal makes (the real one still runs)."""
    checked: list[str] = []
    real = opal.signin.verify_login
    lock = threading.Lock()

    def counting(engine: Any, username: str, password: str) -> Any:
        with lock:
            checked.append(username)
        return real(engine, username, password)

    monkeypatch.setattr(opal.signin, "verify_login", counting)
    return checked


def _failures(app: Flask, username: str) -> int:
    with app.extensions["opal"].app_db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(login_failures).where(
            login_failures.c.username == username)).scalar_one())


def test_concurrent_wrong_passwords_make_exactly_the_limit_of_checks(
        web_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = web_app.extensions["opal"].config.login_max_failures
    assert limit == 5
    checked = _count_checks(monkeypatch)
    username = USERS["case_manager"][0]
    clients = []
    for i in range(ATTEMPTS):  # one address each: only the account's limit applies
        client = web_app.test_client()
        address = f"10.1.{i // 200}.{i % 200 + 1}"
        token = csrf_of(client.get("/login", environ_base={"REMOTE_ADDR": address}))
        clients.append((client, address, token))
    barrier = threading.Barrier(ATTEMPTS)
    statuses: Counter[int] = Counter()
    errors: list[BaseException] = []

    def attempt(client: Any, address: str, token: str) -> None:
        try:
            barrier.wait(timeout=60)
            response = client.post("/login", environ_base={"REMOTE_ADDR": address},
                                   data={"username": username, "password": "falsch-falsch-1",
                                         "csrf_token": token})
            statuses[response.status_code] += 1
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=c) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    assert checked == [username] * limit
    assert statuses == {401: limit, 429: ATTEMPTS - limit}
    assert _failures(web_app, username) == limit
    audit = Counter(r["message"] for r in recent(web_app.extensions["opal"].app_db, 100)
                    if r["action"] == "login")
    assert audit == {"falsches Passwort": limit,
                     f"zu viele Fehlversuche (Name: {username})": ATTEMPTS - limit}


def test_a_right_password_is_no_failure(web_app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attempt is counted before the check and taken back when the password was right."""
    checked = _count_checks(monkeypatch)
    username = USERS["case_manager"][0]

    def attempt(password: str) -> int:
        client = web_app.test_client()
        token = csrf_of(client.get("/login"))
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token}).status_code

    statuses = [attempt(p) for p in ("falsch-1", PASSWORD, "falsch-2", PASSWORD, "falsch-3",
                                     "falsch-4", PASSWORD)]
    assert statuses == [401, 302, 401, 302, 401, 401, 302]
    assert len(checked) == 7
    assert _failures(web_app, username) == 4
    assert attempt(PASSWORD) == 302  # 4 failures: still under the limit of 5
    assert attempt("falsch-5") == 401
    assert attempt(PASSWORD) == 429
    assert len(checked) == 9


def test_throttled_attempts_name_the_account_tried(web_app: Flask) -> None:
    app_db = web_app.extensions["opal"].app_db
    known = USERS["team_lead"][0]
    hostile = "x\x1b[31m\u202egnp.exe" + "y" * 100
    for name, address in ((known, "10.2.0.1"), (hostile, "10.2.0.2")):
        client = web_app.test_client()
        for _ in range(6):
            token = csrf_of(client.get("/login", environ_base={"REMOTE_ADDR": address}))
            last = client.post("/login", environ_base={"REMOTE_ADDR": address},
                               data={"username": name, "password": "falsch-falsch",
                                     "csrf_token": token})
        assert last.status_code == 429
    rows = [r for r in recent(app_db, 100) if r["message"].startswith("zu viele")]
    assert [(r["username"], r["role"], r["outcome"], r["client"]) for r in rows] == [
        (None, None, "denied", "10.2.0.2"), (known, "team_lead", "denied", "10.2.0.1")]
    assert rows[1]["message"] == f"zu viele Fehlversuche (Name: {known})"
    tried = "x\\u001b[31m\\u202egnp.exe" + "y" * (64 - 14)
    assert rows[0]["message"] == f"zu viele Fehlversuche (Name: {tried})"


def test_the_download_count_is_exact_at_the_limit(engine_world: EngineWorld) -> None:
    """The per-minute window counts up to the limit (the count stops there), a refused
    download is not counted, and one a minute old no longer counts."""
    from datetime import datetime, timedelta

    from opal.web.security import count_download

    start = datetime(2026, 11, 24, 8, 0, 0)
    engine = engine_world.ctx.app_db

    def allowed(user: str, at: datetime, limit: int) -> bool:
        return count_download(engine, user, at, limit)

    assert [allowed("a", start + timedelta(seconds=i), 3) for i in range(5)] == \
        [True, True, True, False, False]
    assert allowed("b", start, 3)  # another user's own quota
    assert allowed("a", start + timedelta(seconds=60), 3)  # the first is 60 s old: out
    assert not allowed("a", start + timedelta(seconds=60.5), 3)  # three in the window again
    assert allowed("a", start + timedelta(seconds=60.5), 5)  # a higher limit counts on
    with engine.connect() as conn:
        counted = conn.execute(select(func.count()).select_from(downloads)
                               .where(downloads.c.username == "a")).scalar_one()
    assert counted == 5  # the refused attempts were not counted


def test_the_limit_looks_back_by_number_whatever_the_limit(engine_world: EngineWorld) -> None:
    """The download ``limit`` places back decides: a lowered limit looks at a newer one, a
    limit above the count looks at none, and numbers purged with their rows (16 minutes old)
    are old; numbering starts again at 1 once all of a user's rows are purged."""
    from datetime import datetime, timedelta

    from opal.web.security import count_download, purge_throttles

    start = datetime(2026, 11, 24, 8, 0, 0)
    engine = engine_world.ctx.app_db

    def allowed(at: float, limit: int) -> bool:
        return count_download(engine, "a", start + timedelta(seconds=at), limit)

    def numbers() -> list[int]:
        with engine.connect() as conn:
            return list(conn.execute(select(downloads.c.seq).where(downloads.c.username == "a")
                                     .order_by(downloads.c.seq)).scalars())

    assert [allowed(i * 10, 100_000) for i in range(5)] == [True] * 5  # 0, 10 … 40 s
    assert numbers() == [1, 2, 3, 4, 5]
    assert not allowed(45, 5)  # five within the minute: the fifth back is 45 s old
    assert not allowed(45, 2)  # the second back (30 s) too
    assert allowed(71, 5)  # the fifth back (0 s) is 71 s old: out
    assert not allowed(71, 1)  # the last one (71 s) is now
    assert allowed(72, 7)  # only six so far: nothing seven places back
    with engine.begin() as conn:  # 17 minutes on: every row is purged
        purge_throttles(conn, start + timedelta(minutes=17, seconds=73))
    assert numbers() == []
    assert allowed(17 * 60 + 73, 1)
    assert numbers() == [1]


def test_concurrent_downloads_count_exactly_the_limit_and_leave_commits_durable(
        engine_world: EngineWorld) -> None:
    """Counted in one serialized transaction each: of twelve downloads at once, exactly the
    limit pass. The counter commits without a disk sync, and every pooled connection is back
    at ``synchronous=FULL`` afterwards (the next audit row on it is durable)."""
    from datetime import datetime

    from opal.web.security import count_download

    engine, now, limit = engine_world.ctx.app_db, datetime(2026, 11, 24, 8, 0, 0), 5
    barrier = threading.Barrier(12)
    passed: list[bool] = []
    errors: list[BaseException] = []

    def download() -> None:
        try:
            barrier.wait(timeout=60)
            passed.append(count_download(engine, "a", now, limit))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=download) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert sorted(passed) == [False] * 7 + [True] * 5
    if engine.dialect.name == "sqlite":
        conns = [engine.connect() for _ in range(12)]
        assert {c.exec_driver_sql("PRAGMA synchronous").scalar() for c in conns} == {2}
        for conn in conns:
            conn.close()
