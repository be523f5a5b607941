"""Start-up gates (secret, catalogue), `opal serve` refusals, deny-by-default for unlinked users."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

import opal.catalogue.load
from config import ConfigError
from opal.catalogue import CatalogueError, default_dirs
from opal.cli import main
from opal.users import upsert_user
from opal.web.app import build_app
from tests.conftest import make_config
from tests.fixtures.web import Auth, Clock, csrf_of


def _broken_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports, sql = default_dirs()
    shutil.copytree(reports, tmp_path / "reports")
    shutil.copytree(sql, tmp_path / "sql")
    r02 = tmp_path / "reports" / "R02.toml"
    r02.write_text(r02.read_text().replace('type = "int"', 'type = "integer"', 1))
    monkeypatch.setattr(opal.catalogue.load, "default_dirs",
                        lambda: (tmp_path / "reports", tmp_path / "sql"))


def test_portal_refuses_a_broken_catalogue(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_catalogue(tmp_path, monkeypatch)
    cfg, _ = make_config(tmp_path, "sqlite")
    with pytest.raises(CatalogueError, match="R02"):
        build_app(cfg)


def test_portal_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    cfg, _ = make_config(tmp_path, "sqlite", secret_key=None)
    with pytest.raises(ConfigError, match="OPAL_SECRET_KEY"):
        build_app(cfg)


def test_opal_serve_exits_2_without_secret_or_with_broken_catalogue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"OPAL_DATA_DIR": str(tmp_path / "var"), "OPAL_SECRET_KEY": ""}
    result = CliRunner().invoke(main, ["serve", "--port", "5999"], env=env)
    assert result.exit_code == 2 and "OPAL_SECRET_KEY" in result.output
    _broken_catalogue(tmp_path, monkeypatch)
    result = CliRunner().invoke(main, ["serve", "--port", "5999"],
                                env={**env, "OPAL_SECRET_KEY": "s3cret"})
    assert result.exit_code == 2 and "catalogue is broken" in result.output


def test_unlinked_case_manager_sees_no_report(web_app: Flask, clock: Clock) -> None:
    upsert_user(web_app.extensions["opal"].app_db, "fm.weg", "case_manager", staff_id="S99",
                password="ein-langes-Passwort-9")
    stranger = web_app.test_client()
    csrf = csrf_of(stranger.get("/login"))
    login = stranger.post("/login", data={"username": "fm.weg", "csrf_token": csrf,
                                          "password": "ein-langes-Passwort-9"})
    assert login.status_code == 302
    page = stranger.get("/reports").get_data(True)
    assert 'href="/reports/R' not in page and "zugeordnet" in page
    assert stranger.get("/reports/R02").status_code == 403
    assert stranger.get("/reports/R02?n_days=30").status_code == 403
    assert stranger.get("/reports/R02.csv").status_code == 403


def test_post_to_a_get_only_url_is_405(client: FlaskClient, auth: Auth) -> None:
    auth.login()
    assert client.post("/reports").status_code == 405
    assert client.post("/reports/R02").status_code == 405
    assert client.post("/gibt-es-nicht").status_code == 404


def test_app_database_down_gives_a_generic_500(web_app: Flask, client: FlaskClient,
                                               auth: Auth) -> None:
    from opal.db import make_engine

    auth.login()
    portal = web_app.extensions["opal"]
    healthy = portal.app_db
    portal.app_db = make_engine("sqlite:////nonexistent-dir/none/app.db", readonly=True)
    try:
        response = client.get("/reports")
        html = response.get_data(True)
        assert response.status_code == 500
        assert "Vorgangsnummer" in html and "sqlite" not in html.lower()
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert client.get("/healthz").status_code == 200  # health reads the case DB only
    finally:
        portal.app_db = healthy
