"""`opal run` onto a full disk: one line on stderr, exit 1, no traceback, no half-written file.

Issue 20: ``opal run … -o FILE`` on a full filesystem printed a Python traceback. A real process
writes to /dev/full (always ENOSPC) and, when the tests may mount, to a 64 KiB tmpfs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Config
from opal.refresh import refresh
from opal.users import upsert_user
from tests.conftest import FIXED_NOW, upgrade_app_db
from tests.fixtures.exports import config_env, write_export
from tests.fixtures.web import PASSWORD, Clock

OPAL = str(Path(sys.executable).with_name("opal"))
ARGS = ["run", "R02", "--user", "fm.arendt", "-p", "n_days=1"]


@pytest.fixture
def env(sqlite_config: Config, tmp_path: Path) -> dict[str, str]:
    refresh(sqlite_config, write_export(tmp_path / "export"), clock=Clock(FIXED_NOW))
    upgrade_app_db(sqlite_config)
    from opal.db import app_engine

    engine = app_engine(sqlite_config)
    upsert_user(engine, "fm.arendt", "case_manager", staff_id="S01", password=PASSWORD)
    engine.dispose()
    return {**os.environ, **config_env(sqlite_config)}


def opal(env: dict[str, str], *args: str, stdout: int | object = subprocess.PIPE
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([OPAL, *args], env=env, stdout=stdout, stderr=subprocess.PIPE,
                          timeout=120, check=False)


def _assert_one_line(done: subprocess.CompletedProcess[bytes], where: str) -> None:
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert err == (f"opal run: {where} konnte nicht geschrieben werden: No space left on "
                   "device\n"), err


@pytest.mark.parametrize("fmt", ["csv", "pdf"])  # streamed and whole
def test_output_file_on_a_full_device(env: dict[str, str], fmt: str) -> None:
    _assert_one_line(opal(env, *ARGS, "--format", fmt, "-o", "/dev/full"), "/dev/full")


def test_stdout_on_a_full_device(env: dict[str, str]) -> None:
    with open("/dev/full", "wb") as full:
        _assert_one_line(opal(env, *ARGS, "--format", "csv", stdout=full),
                         "die Standardausgabe")


def test_a_missing_directory_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "fehlt" / "x.csv"
    done = opal(env, *ARGS, "--format", "csv", "-o", str(target))
    assert done.returncode == 1
    assert done.stderr.decode() == (f"opal run: {target} konnte nicht geschrieben werden: No "
                                    "such file or directory\n")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_output_file_on_a_full_filesystem(env: dict[str, str], tiny_fs: Path) -> None:
    (tiny_fs / "ballast").write_bytes(b"x" * (60 * 1024))  # leaves less than one PDF page
    target = tiny_fs / "R02.pdf"
    _assert_one_line(opal(env, *ARGS, "--format", "pdf", "-o", str(target)), str(target))
    assert not target.exists()  # no half-written file stays behind
    assert opal(env, *ARGS, "--format", "json").returncode == 0  # the same run, elsewhere
