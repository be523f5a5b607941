"""`opal run`, `opal check` and `opal users` through click's CliRunner: output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import opal.catalogue.load
from config import Config
from opal.audit import recent
from opal.cli import main
from opal.users import get_user, verify_login
from tests.fixtures.engine import ENGINE_DATA, EngineWorld
from tests.test_catalogue import broken_copy


@pytest.fixture
def cli_env(engine_world: EngineWorld, monkeypatch: pytest.MonkeyPatch) -> EngineWorld:
    """Point the CLI's environment at the world's databases and the mini catalogue."""
    cfg: Config = engine_world.config
    for name in ("case_db_url", "app_db_url", "case_db_schema", "app_db_schema", "data_dir",
                 "secret_key"):
        monkeypatch.setenv("OPAL_" + name.upper(), str(getattr(cfg, name)))
    monkeypatch.setattr(opal.catalogue.load, "default_dirs",
                        lambda: (ENGINE_DATA / "reports", ENGINE_DATA / "sql"))
    return engine_world


def run(*args: str, stdin: str | None = None) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def test_run_json(cli_env: EngineWorld) -> None:
    code, out, err = run("run", "R92", "--user", "ctrl", "-p", "days=30")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["report"] == "R92" and doc["params"] == {"days": 30}
    assert doc["row_count"] == 5
    row = recent(cli_env.ctx.app_db, 1)[0]
    assert (row["outcome"], row["client"], row["username"]) == ("ok", "cli", "ctrl")


def test_run_csv_to_file(cli_env: EngineWorld, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    code, out, err = run("run", "R91", "--user", "cm1", "-p", "n_days=1", "--format", "csv",
                         "-o", str(target))
    assert code == 0, err
    assert out == b""
    assert target.read_bytes().startswith("\ufeffKundennummer;Name".encode())
    assert "7 Zeilen" in err


def test_run_csv_streams_to_stdout_in_chunks(cli_env: EngineWorld, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from opal.renderers.csv import CsvRenderer

    monkeypatch.setattr(CsvRenderer, "batch", 2)  # several chunks for the 7 rows
    code, out, err = run("run", "R91", "--user", "cm1", "-p", "n_days=1", "--format", "csv")
    assert code == 0, err
    text = out.decode("utf-8")
    assert text.startswith("\ufeffKundennummer;Name") and text.endswith("\r\n")
    assert len(text.splitlines()) == 1 + 7


@pytest.mark.parametrize("args,exit_code,needles", [
    (["R91", "--user", "ctrl"], 3, ["verweigert"]),
    (["R91", "--user", "admin"], 3, ["verweigert"]),
    (["R91", "--user", "nobody"], 3, ["verweigert"]),
    (["R91", "--user", "cm_gone"], 3, ["verweigert"]),
    (["R91", "--user", "ctrl", "-p", "n_days=x"], 3, ["verweigert"]),  # access first
    (["R91", "--user", "cm1", "-p", "n_days=0", "-p", "profile_group=Z", "-p", "_viewer=T:T1"],
     2, ["n_days:", "profile_group:", "_viewer:"]),
    (["R91", "--user", "cm1", "-p", "sort=name"], 2, ["sort:"]),
    (["R91", "--user", "cm1", "-p", "n_days"], 2, ["key=value"]),
    (["R91", "--user", "cm1", "-p", "n_days=1", "-p", "n_days=2"], 2, ["doppelt"]),
    (["R55", "--user", "cm1"], 2, ["gibt es nicht"]),
    (["R93", "--user", "tl1", "--format", "pdf"], 2, ["format:"]),
])
def test_run_exit_codes(cli_env: EngineWorld, args: list[str], exit_code: int,
                        needles: list[str]) -> None:
    code, out, err = run("run", *args)
    assert code == exit_code, err
    assert out == b""
    for needle in needles:
        assert needle in err


def test_check_ok(cli_env: EngineWorld) -> None:
    code, out, err = run("check")
    assert code == 0, err
    assert b"3 Berichte in Ordnung" in out


def test_check_lists_every_fault(tmp_path: Path) -> None:
    reports, sql = broken_copy(tmp_path, [
        ("sql/R91.sql", "WHERE p.is_elb = 1", "WHERE p.is_elb = :ghost"),
        ("reports/R92.toml", '"team_lead", "controlling"', '"team_lead", "boss"'),
        ("reports/R93.toml", 'formats = ["csv", "json"]', 'formats = ["docx"]'),
        ("sql/R92.sql", "FROM office o", "FROM offize o"),
    ])
    code, _, err = run("check", "--reports-dir", str(reports), "--sql-dir", str(sql))
    assert code == 1
    assert "R91: SQL placeholder :ghost" in err
    assert "R92: role 'boss'" in err
    assert "R93: format 'docx'" in err
    assert "3 Fehler in 3 Berichten" in err  # R92's SQL is not dry-run: it is faulty already
    reports, sql = broken_copy(tmp_path / "b", [("sql/R92.sql", "FROM office o",
                                                 "FROM offize o")])
    code, _, err = run("check", "--reports-dir", str(reports), "--sql-dir", str(sql))
    assert code == 1 and "R92: SQL fails on an empty generation" in err


def test_users_add_update_disable(cli_env: EngineWorld) -> None:
    apps = cli_env.ctx.app_db
    code, out, err = run("users", "add", "neu", "--role", "case_manager", "--staff-id", "S2")
    assert code == 0, err
    text = out.decode()
    assert "angelegt: neu (case_manager)" in text
    password = text.split("Passwort (wird nur jetzt angezeigt): ")[1].strip()
    assert len(password) >= 20
    assert verify_login(apps, "neu", password) is not None
    code, out, err = run("users", "add", "neu", "--role", "team_lead", "--team-id", "T1")
    assert code == 0 and b"aktualisiert" in out and b"Passwort" not in out
    user = get_user(apps, "neu")
    assert user is not None and (user.role, user.staff_id, user.team_id) == (
        "team_lead", None, "T1")
    assert verify_login(apps, "neu", password) is not None  # password kept
    code, out, _ = run("users", "add", "neu", "--role", "controlling", "--password-stdin",
                       stdin="ein sehr geheimes Passwort\n")
    assert code == 0
    assert verify_login(apps, "neu", password) is None
    assert verify_login(apps, "neu", "ein sehr geheimes Passwort") is not None
    code, out, err = run("users", "add", "neu", "--role", "office_lead", "--office-id", "O1")
    assert code == 0, err
    user = get_user(apps, "neu")
    assert user is not None and (user.role, user.staff_id, user.team_id, user.office_id) == (
        "office_lead", None, None, "O1")
    code, out, _ = run("users", "disable", "neu")
    assert code == 0
    assert verify_login(apps, "neu", "ein sehr geheimes Passwort") is None
    user = get_user(apps, "neu")
    assert user is not None and not user.active and user.actor().role is None


@pytest.mark.parametrize("args,needle", [
    (["add", "x", "--role", "case_manager"], "--staff-id"),
    (["add", "x", "--role", "team_lead"], "--team-id"),
    (["add", "x", "--role", "controlling", "--staff-id", "S1"], "nur für case_manager"),
    (["add", "bad name", "--role", "controlling"], "Benutzername"),
    (["add", "bob\n", "--role", "controlling"], "Benutzername"),
    (["add", "x", "--role", "case_manager", "--staff-id", "S1\n"], "ungültige Kennung"),
    (["add", "x", "--role", "boss"], "boss"),
    (["add", "x", "--role", "office_lead"], "--office-id"),
    (["add", "x", "--role", "team_lead", "--team-id", "T1", "--office-id", "O1"], "office_lead"),
    (["disable", "niemand"], "gibt es nicht"),
])
def test_users_errors(cli_env: EngineWorld, args: list[str], needle: str) -> None:
    code, _, err = run("users", *args)
    assert code == 2
    assert needle in err
