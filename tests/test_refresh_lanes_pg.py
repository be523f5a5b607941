"""A large PostgreSQL refresh runs parts in worker processes (``opal.refresh.lanes``): the same
generation as one process builds, every problem at once, nothing left behind when it fails, and
no worker outliving a killed refresh.

The lanes are forced on for the small demo export through the test hook ``FORCE_ENV`` (a real
export uses them from ``MIN_ROWS`` rows). The module's name carries ``pg``: ``make test-clock``
leaves it out with the other PostgreSQL tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from config import Config
from opal.casedb.schema import BASE_TABLES, DERIVED_TABLES
from opal.clock import fixed_clock
from opal.db import case_engine
from opal.demo import generate
from opal.refresh import RefreshError, RefreshRejected, refresh
from opal.refresh.lanes import FORCE_ENV, MIN_ROWS, Lane, wanted
from opal.refresh.manifest import read_manifest
from opal.refresh.publish import PAUSE_ENV
from opal.refresh.validate import MAX_PER_FILE
from tests.conftest import make_config
from tests.fixtures.exports import config_env, live_snapshot
from tests.test_refresh_crash import leftover_next

AS_OF = date(2026, 11, 23)
CLOCK = fixed_clock(datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
REPO = Path(__file__).resolve().parents[1]

@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    export = tmp_path_factory.mktemp("lanes") / "export"
    generate(export, "small", 1, AS_OF)
    return export


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Config]:
    from tests.conftest import drop_pg_schemas

    cfg, prefix = make_config(tmp_path, "pg")
    (tmp_path / "var").mkdir(exist_ok=True)
    yield cfg
    assert prefix is not None
    drop_pg_schemas(prefix)


def every_row(config: Config) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the live generation, rows sorted (row order is no property of a table)."""
    engine = case_engine(config)
    try:
        with engine.connect() as conn:
            return {t.name: sorted((tuple(r) for r in conn.execute(t.select())), key=repr)
                    for t in (*BASE_TABLES.values(), *DERIVED_TABLES)}
    finally:
        engine.dispose()


def rewrite(export: Path, name: str, edit: dict[int, str]) -> None:
    """Replace lines (1 = header) of ``name``.csv and keep the manifest's checksum true."""
    path = export / f"{name}.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for number, line in edit.items():
        lines[number - 1] = line + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    manifest = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"][name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def test_lanes_are_used_only_on_postgresql_for_a_large_export(
        small: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FORCE_ENV, raising=False)
    manifest = read_manifest(small)
    pg_url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert sum(t.rows for t in manifest.tables.values()) < MIN_ROWS
    assert not wanted(pg_url, manifest)
    tables = {k: v.__class__(v.file, MIN_ROWS, v.sha256) for k, v in manifest.tables.items()}
    large = manifest.__class__(**{**vars(manifest), "tables": tables})
    assert wanted(pg_url, large)
    assert not wanted("sqlite:////tmp/case.db", large)
    monkeypatch.setenv(FORCE_ENV, "0")
    assert not wanted(pg_url, large)
    monkeypatch.setenv(FORCE_ENV, "1")
    assert wanted(pg_url, manifest)


def test_lanes_build_the_same_generation_as_one_process(
        small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import drop_pg_schemas

    built = {}
    said: dict[str, list[str]] = {}
    for mode in ("1", "0"):
        monkeypatch.setenv(FORCE_ENV, mode)
        cfg, prefix = make_config(tmp_path / mode, "pg")
        (tmp_path / mode / "var").mkdir(parents=True)
        try:
            said[mode] = []
            result = refresh(cfg, small, clock=CLOCK, progress=said[mode].append)
            assert result.counts["benefit_payment"] > 0
            built[mode] = every_row(cfg)
        finally:
            assert prefix is not None
            drop_pg_schemas(prefix)
    assert any("benefit_payment in a worker process" in line for line in said["1"])
    assert any("derived in a worker process" in line for line in said["1"])
    assert not any("worker" in line for line in said["0"])
    assert built["1"].keys() == built["0"].keys()
    for name in built["0"]:
        assert built["1"][name] == built["0"][name], name
    assert len(built["1"]["d_person"]) == len(built["1"]["person"]) > 100
    assert built["1"]["d_month_fact"]


def test_lanes_report_every_problem_at_once_and_leave_nothing(
        pg: Config, small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault in a file loaded here and faults in the worker's file: all in one rejection, the
    worker's beyond the per-file cap counted; the live data and no next schema left."""
    refresh(pg, small, clock=CLOCK)
    before = live_snapshot(pg)
    broken = tmp_path / "broken"
    generate(broken, "small", 1, AS_OF)
    person = (broken / "person.csv").read_text(encoding="utf-8").splitlines()[1].split(",")
    person[5] = "X"  # sex
    rewrite(broken, "person", {2: ",".join(person)})
    payments = (broken / "benefit_payment.csv").read_text(encoding="utf-8").splitlines()
    bad = {n: ",".join([*payments[n - 1].split(",")[:2], "-1.00", "0.00"])
           for n in range(2, 2 + MAX_PER_FILE + 5)}
    rewrite(broken, "benefit_payment", bad)
    monkeypatch.setenv(FORCE_ENV, "1")
    with pytest.raises(RefreshRejected) as caught:
        refresh(pg, broken, clock=CLOCK, accept_shrink=True)
    listing = caught.value.problems
    assert [(p.file, p.line, p.column) for p in listing if p.file == "person.csv"] == [
        ("person.csv", 2, "sex")]
    paid = [p for p in listing if p.file == "benefit_payment.csv"]
    assert [p.line for p in paid[:MAX_PER_FILE]] == list(range(2, 2 + MAX_PER_FILE))
    assert all(p.column == "llu" for p in paid[:MAX_PER_FILE])
    assert paid[-1].line is None and paid[-1].message == "... and 5 more problems"
    assert live_snapshot(pg) == before
    assert not leftover_next(pg)


def test_a_killed_worker_fails_the_refresh_and_drops_the_next_generation(
        pg: Config, small: Path, tmp_path: Path) -> None:
    """The kernel's OOM killer takes the benefit_payment worker: the refresh fails with that
    reason, the live data stays, and no half generation is left."""
    refresh(pg, small, clock=CLOCK)
    before = live_snapshot(pg)
    export = tmp_path / "export"
    generate(export, "small", 1, AS_OF)
    env = {**os.environ, **config_env(pg), FORCE_ENV: "1", PAUSE_ENV: "lane"}
    proc = subprocess.Popen([sys.executable, "-c", "from opal.cli import main; main()",
                             "refresh", "--accept-shrink", str(export)],
                            cwd=REPO, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stderr is not None
    try:
        seen = b""
        while b"PAUSED AT lane" not in seen:
            chunk = os.read(proc.stderr.fileno(), 4096)
            assert chunk, seen.decode(errors="replace")
            seen += chunk
        # the first worker is benefit_payment's (the persons' may have started meanwhile;
        # multiprocessing's resource tracker is a child as well)
        workers = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                   and _parent_of(int(p.name)) == proc.pid
                   and b"spawn_main" in _cmdline(int(p.name))]
        assert workers
        os.kill(min(workers, key=_started), signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # a no-op once it ended; the workers die with it
        proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    assert proc.returncode != 0
    assert b"refresh worker for benefit_payment died (exit code -9)" in seen + err
    assert live_snapshot(pg) == before
    assert not leftover_next(pg)


def _started(pid: int) -> int:
    """When ``pid`` started (clock ticks since boot)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


# ----- the worker process itself ----------------------------------------------------------------


def _double(x: int) -> int:
    return 2 * x


def _fail(message: str) -> None:
    raise ValueError(message)


def _vanish() -> None:
    os._exit(3)


def test_a_lane_returns_its_value_or_its_error() -> None:
    assert Lane("double", _double, 21).result() == 42
    with pytest.raises(RefreshError) as caught:
        Lane("fail", _fail, "kaputt").result()
    assert "refresh worker for fail failed" in str(caught.value)
    assert "ValueError: kaputt" in str(caught.value)
    with pytest.raises(RefreshError, match=r"refresh worker for vanish died \(exit code 3\)"):
        Lane("vanish", _vanish).result()


def test_a_lane_dies_with_the_refresh_that_started_it(tmp_path: Path) -> None:
    """SIGKILL of the refresh takes its worker along (PR_SET_PDEATHSIG): none is left writing."""
    script = (
        "import sys, time\n"
        "from opal.refresh.lanes import Lane\n"
        "lane = Lane('sleep', time.sleep, 600)\n"
        "print(lane._proc.pid, flush=True)\n"
        "time.sleep(600)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    os.kill(child, 0)  # the worker runs
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    for _ in range(200):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        # a zombie of a dead parent is reaped by init; a live process answers with its state
        state = Path(f"/proc/{child}/stat").read_text().split()[2] if Path(
            f"/proc/{child}/stat").exists() else "Z"
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"worker {child} outlived its refresh")
