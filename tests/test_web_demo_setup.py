"""`python -m opal.demo.setup` (what `make run` runs): secret, export, refresh, demo users."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import select, text

from opal.appdb.schema import users
from opal.clock import system_clock
from opal.db import app_engine, case_engine
from opal.demo.setup import (
    DEMO_USERS,
    ensure_export,
    ensure_live,
    ensure_secret,
    ensure_users,
    find_links,
)
from opal.demo.writer import latest_exported_as_of
from opal.refresh import live_generation
from opal.users import verify_login
from tests.conftest import make_config


def test_setup_is_idempotent_and_links_real_ids(tmp_path: Path) -> None:
    config, _ = make_config(tmp_path, "sqlite")
    data = Path(config.data_dir)
    ensure_secret(data)
    key = (data / "secret_key").read_text()
    assert len(key.strip()) > 40 and stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600
    ensure_secret(data)
    assert (data / "secret_key").read_text() == key
    as_of = latest_exported_as_of(system_clock())  # the server runs on the real clock
    ensure_export(tmp_path / "export", as_of, scale="small")
    ensure_live(config, tmp_path / "export")
    live = live_generation(config)
    assert live is not None and live.as_of == as_of
    engine = case_engine(config)
    links = find_links(engine, as_of)
    engine.dispose()
    made = ensure_users(config, links)
    assert [m[0] for m in made] == [u[0] for u in DEMO_USERS]
    assert ensure_users(config, links) == []  # re-running reuses the users
    app_db = app_engine(config)
    with app_db.connect() as conn:
        rows = {r.username: r for r in conn.execute(select(users))}
    assert rows["fallmanager"].staff_id == links.case_manager
    assert rows["vertretung"].staff_id == links.stand_in
    assert rows["teamleitung"].team_id == links.team
    assert rows["leitung"].office_id == links.office and rows["leitung"].role == "office_lead"
    engine = case_engine(config)
    with engine.connect() as conn:  # the largest office: no other has more persons in its BG
        sizes = dict(conn.execute(text(
            "SELECT bu.office_id, COUNT(*) FROM person p JOIN benefit_unit bu "
            "ON bu.bg_id = p.bg_id GROUP BY bu.office_id")).all())
    engine.dispose()
    assert sizes[links.office] == max(sizes.values())  # small scale: one office
    assert [m for m in made if m[0] == "leitung"][0][2].startswith(
        "office_lead: Leitung des größten Jobcenters vor Ort")
    name, password, _what = made[0]
    assert verify_login(app_db, name, password) is not None
    app_db.dispose()
