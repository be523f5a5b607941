"""A data date in the future is refused, and ``opal refresh --rollback`` undoes a bad publish.

Issue 20, point 2: a manifest with ``as_of`` 2099-01-01 (or ``exported_at`` in the future) was
published; every correct export after it was refused as "older than the live data", with no way
back but manual work on the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from config import Config
from opal.appdb.schema import refresh_runs
from opal.audit import recent
from opal.cli import CliState, main
from opal.clock import fixed_clock
from opal.db import app_engine, sqlite_path
from opal.refresh import RefreshError, RefreshRejected, live_generation, refresh, rollback
from tests.conftest import FIXED_NOW
from tests.fixtures.exports import base_rows, config_env, live_snapshot, write_export

CLOCK = fixed_clock(FIXED_NOW)  # 2026-11-24 06:12:03 UTC (07:12 in Berlin)


def _rejected(config: Config, directory: Path, live: Any) -> list[str]:
    with pytest.raises(RefreshRejected) as info:
        refresh(config, directory, clock=CLOCK)
    assert live_snapshot(config) == live
    return str(info.value).splitlines()


@pytest.fixture
def live(config: Config, tmp_path: Path) -> Any:
    refresh(config, write_export(tmp_path / "good"), clock=CLOCK)
    return live_snapshot(config)


@pytest.mark.parametrize("as_of,message", [
    ("2026-11-25", "manifest.json column as_of: 2026-11-25 is after today (2026-11-24): a data "
                   "date cannot lie in the future"),
    ("2099-01-01", "manifest.json column as_of: 2099-01-01 is after today (2026-11-24): a data "
                   "date cannot lie in the future"),
])
def test_a_data_date_after_today_is_refused(config: Config, tmp_path: Path, live: Any,
                                            as_of: str, message: str) -> None:
    lines = _rejected(config, write_export(tmp_path / "bad", as_of=as_of,
                                           exported_at="2026-11-24T01:30:00Z"), live)
    assert message in lines, lines


@pytest.mark.parametrize("exported_at", ["2026-11-24T06:17:04Z", "2026-11-24T07:30:00Z",
                                         "2026-11-24T08:00:00+01:00", "2099-01-01T00:00:00Z"])
def test_an_export_time_ahead_of_the_clock_is_refused(config: Config, tmp_path: Path, live: Any,
                                                      exported_at: str) -> None:
    lines = _rejected(config, write_export(tmp_path / "bad", exported_at=exported_at), live)
    assert (f"manifest.json column exported_at: {exported_at} is in the future (now "
            "2026-11-24T06:12:03Z; at most 5 minutes ahead are accepted)") in lines, lines


@pytest.mark.parametrize("exported_at", ["2026-11-24T06:17:03Z", "2026-11-24T07:17:00+01:00"])
def test_a_few_minutes_of_clock_skew_are_accepted(sqlite_config: Config, tmp_path: Path,
                                                  exported_at: str) -> None:
    refresh(sqlite_config, write_export(tmp_path / "ok", exported_at=exported_at), clock=CLOCK)


def test_today_is_a_valid_data_date(sqlite_config: Config, tmp_path: Path) -> None:
    """Today in Berlin: at 23:30 UTC on 24 Nov it is already the 25th there."""
    late = fixed_clock(datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    refresh(sqlite_config, write_export(tmp_path / "ok", as_of="2026-11-25",
                                        exported_at="2026-11-24T23:00:00Z"), clock=late)


# --------------------------------------------------------------------------------------------
# rollback
# --------------------------------------------------------------------------------------------

def _runs(config: Config) -> list[Any]:
    engine = app_engine(config)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(refresh_runs).order_by(refresh_runs.c.id)))
    finally:
        engine.dispose()


def _audit(config: Config) -> list[dict[str, Any]]:
    engine = app_engine(config)
    try:
        return [r for r in recent(engine, 50) if r["action"] == "rollback"]
    finally:
        engine.dispose()


def test_a_bad_generation_is_rolled_back(config: Config, tmp_path: Path) -> None:
    """The lock-out of the issue: a 2099 generation got published (here: by a clock in 2099);
    correct exports are refused as older; the rollback makes the good one live again."""
    good = write_export(tmp_path / "good")
    refresh(config, good, clock=CLOCK)
    before = live_snapshot(config)
    rows = base_rows()
    rows["person"][0]["last_name"] = "Unsinn"
    future = fixed_clock(datetime(2099, 1, 2, 3, 0, tzinfo=UTC))
    refresh(config, write_export(tmp_path / "bad", rows, as_of="2099-01-01",
                                 exported_at="2099-01-02T01:30:00Z"), clock=future)
    with pytest.raises(RefreshRejected, match="older than the live data date 2099-01-01"):
        refresh(config, write_export(tmp_path / "next", exported_at="2026-11-24T02:00:00Z"),
                clock=CLOCK)

    result = rollback(config, "Datenstand 2099 versehentlich veröffentlicht\x1b[2J",
                      clock=CLOCK, operator="betrieb")
    assert result.summary() == (
        f"rolled back (run {result.run_id}): live again as_of 2026-11-23, exported_at "
        "2026-11-24T01:30:00Z; dropped as_of 2099-01-01, exported_at 2099-01-02T01:30:00Z")
    assert live_snapshot(config) == before
    (entry,) = _audit(config)
    assert (entry["username"], entry["role"], entry["outcome"], entry["client"],
            entry["data_as_of"]) == ("betrieb", None, "ok", "cli", "2026-11-23")
    assert entry["message"] == ("Datenstand 2026-11-23 wieder live (statt 2099-01-01); Grund: "
                                "Datenstand 2099 versehentlich veröffentlicht\\u001b[2J")
    run = _runs(config)[-1]
    assert (run.status, run.source_dir, run.as_of) == ("ok", "(rollback)", "2026-11-23")
    assert run.message.endswith("reason: Datenstand 2099 versehentlich veröffentlicht"
                                "\\u001b[2J")
    # nothing to roll back to any more: the dropped generation is gone, not kept as "prev"
    with pytest.raises(RefreshError, match="no previous generation"):
        rollback(config, "noch einmal", clock=CLOCK, operator="betrieb")
    assert live_snapshot(config) == before
    assert [e["outcome"] for e in _audit(config)] == ["invalid", "ok"]
    if config.case_db_url.startswith("sqlite"):
        live_file = sqlite_path(config.case_db_url)
        assert not live_file.with_name(live_file.name + ".prev").exists()
    # and the next correct export is published again
    refresh(config, write_export(tmp_path / "next2", exported_at="2026-11-24T02:00:00Z"),
            clock=CLOCK)
    now_live = live_generation(config)
    assert now_live is not None and now_live.exported_at == "2026-11-24T02:00:00Z"


def test_rollback_without_a_previous_generation(config: Config, tmp_path: Path) -> None:
    with pytest.raises(RefreshError, match="no previous generation"):
        rollback(config, "Test", clock=CLOCK, operator="betrieb")
    refresh(config, write_export(tmp_path / "first"), clock=CLOCK)
    with pytest.raises(RefreshError, match="no previous generation"):
        rollback(config, "Test", clock=CLOCK, operator="betrieb")
    with pytest.raises(RefreshError, match="needs a reason"):
        rollback(config, "  ", clock=CLOCK, operator="betrieb")
    assert live_generation(config) is not None


def test_cli_rollback(config: Config, tmp_path: Path) -> None:
    runner = CliRunner()
    env = config_env(config)

    def opal(*args: str) -> Any:
        return runner.invoke(main, list(args), env=env, obj=CliState(CLOCK))

    assert opal("refresh", str(write_export(tmp_path / "a"))).exit_code == 0
    assert opal("refresh", str(write_export(tmp_path / "b",
                                            exported_at="2026-11-24T02:00:00Z"))).exit_code == 0
    for args, wanted in ((["--rollback"], "--rollback needs --reason TEXT"),
                         (["--rollback", "--reason", " "], "--rollback needs --reason TEXT"),
                         (["--rollback", "--reason", "x", str(tmp_path / "a")],
                          "--rollback takes no EXPORT_DIR"),
                         (["--reason", "x", str(tmp_path / "a")], "--reason goes with"),
                         ([], "missing EXPORT_DIR")):
        result = opal("refresh", *args)
        assert result.exit_code == 2 and wanted in result.output, (args, result.output)
    result = opal("refresh", "--rollback", "--reason", "Export b war fehlerhaft")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("rolled back (run ") and result.output.count("\n") == 1
    live = live_generation(config)
    assert live is not None and live.exported_at == "2026-11-24T01:30:00Z"
    again = opal("refresh", "--rollback", "--reason", "nochmal")
    assert again.exit_code == 1 and "Traceback" not in again.output
    assert again.output == ("opal refresh --rollback: there is no previous generation to roll "
                            "back to; the live data is unchanged\n")
