"""`opal refresh` on a database fault: one line, exit 1, and no row data from the error."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

import opal.cli.refresh
from opal.cli import main


def test_a_postgresql_fault_is_one_line_without_row_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*_a: object, **_k: object) -> None:
        raise psycopg.errors.DiskFull(
            "could not extend file \"base/16384/2619\": No space left on device\n"
            "CONTEXT:  COPY person, line 3: \"P003,BG01,HAUPTPERSON,Müller,Jürgen\"")

    monkeypatch.setattr(opal.cli.refresh, "refresh", disk_full)  # where the command calls it
    export = tmp_path / "export"
    export.mkdir()
    result = CliRunner().invoke(main, ["refresh", str(export)],
                                env={"OPAL_DATA_DIR": str(tmp_path / "var")})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "opal refresh: failed (DiskFull: could not extend file \"base/16384/2619\": No space "
        "left on device); the live data is unchanged"]
    assert "Müller" not in result.output and "Traceback" not in result.output
