"""``opal refresh``: validate a nightly export and publish it atomically as the live generation.

Order: lock -> reap killed runs -> record the run -> manifest -> gates against the live
generation (data date, shrink) -> validate and load every file into the next generation ->
derive -> check -> swap. Nothing touches the live generation before the swap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, func, select

from config import Config
from opal.casedb.schema import BASE_TABLES, DERIVED_TABLES, ExportTable, export_tables
from opal.clock import Clock, system_clock
from opal.refresh import lanes, load, publish
from opal.refresh.manifest import parse_exported_at, read_manifest
from opal.refresh.model import (
    LiveInfo,
    Manifest,
    Problem,
    RefreshBusy,
    RefreshError,
    RefreshRejected,
    RefreshResult,
)
from opal.refresh.publish import checkpoint, live_generation
from opal.refresh.runs import RunLog, refresh_lock
from opal.refresh.validate import ProblemLog, TableReader

__all__ = ["LiveInfo", "Problem", "RefreshBusy", "RefreshError", "RefreshRejected",
           "RefreshResult", "RollbackResult", "live_generation", "refresh", "rollback"]

Progress = Callable[[str], None]
#: how far ``exported_at`` may lie ahead of the portal's clock (two hosts' clocks differ)
FUTURE_SKEW = timedelta(minutes=5)


def _quiet(_message: str) -> None:
    """Default progress sink: say nothing."""


def future_problems(manifest: Manifest, now: datetime,
                    zone_name: str = "Europe/Berlin") -> list[Problem]:
    """A data date after today (in the portal's time zone, OPAL_TIMEZONE), or an export time
    ahead of the clock: published, either would refuse every correct export after it as older
    than the live data."""
    from opal.localtime import zone

    problems: list[Problem] = []
    today = now.astimezone(zone(zone_name)).date()
    if manifest.as_of > today:
        problems.append(Problem("manifest.json", None, "as_of",
                                f"{manifest.as_of.isoformat()} is after today "
                                f"({today.isoformat()}): a data date cannot lie in the future"))
    if manifest.exported_at_dt > now + FUTURE_SKEW:
        minutes = int(FUTURE_SKEW.total_seconds() // 60)
        problems.append(Problem("manifest.json", None, "exported_at",
                                f"{manifest.exported_at} is in the future (now "
                                f"{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}; at most {minutes} "
                                "minutes ahead are accepted)"))
    return problems


def gate_problems(manifest: Manifest, live: LiveInfo | None, max_shrink: float,
                  accept_shrink: bool) -> list[Problem]:
    """Faults of the export relative to the live generation: older data, a table that shrank."""
    if live is None:
        return []
    problems: list[Problem] = []
    if manifest.as_of < live.as_of:
        problems.append(Problem("manifest.json", None, "as_of",
                                f"{manifest.as_of.isoformat()} is older than the live data date "
                                f"{live.as_of.isoformat()}"))
    live_exported = parse_exported_at(live.exported_at)
    if manifest.as_of == live.as_of and live_exported and manifest.exported_at_dt < live_exported:
        problems.append(Problem("manifest.json", None, "exported_at",
                                f"{manifest.exported_at} is older than the live export of the "
                                f"same data date ({live.exported_at})"))
    if accept_shrink or live.counts is None:
        return problems
    for spec in export_tables(manifest.format_version):
        before, after = live.counts.get(spec.name, 0), manifest.tables[spec.name].rows
        if before and (before - after) / before > max_shrink:
            problems.append(Problem(
                f"{spec.name}.csv", None, None,
                f"{after} rows against {before} live: shrinks by "
                f"{(before - after) / before:.0%} (limit {max_shrink:.0%}); check the export, "
                "or pass --accept-shrink if the drop is real"))
    return problems


def _load_here(conn: Connection, export_dir: Path, spec: ExportTable, manifest: Manifest,
               keys: dict[str, set[str]], log: ProblemLog, say: Progress) -> int:
    """Validate and load one export file on ``conn``; return the rows loaded."""
    say(f"validating and loading {spec.name} ...")
    began = time.monotonic()
    reader = TableReader(export_dir, spec, manifest.tables[spec.name], manifest.as_of, keys, log)
    loaded = load.insert_rows(conn, BASE_TABLES[spec.name], reader.rows(), freeze=True)
    say(f"  {spec.name}: {reader.rows_read} rows ({time.monotonic() - began:.1f} s)")
    checkpoint("load")
    return loaded


def _build(config: Config, export_dir: Path, manifest: Manifest, gates: list[Problem],
           clock: Clock, say: Progress) -> dict[str, int]:
    """Validate and load every file into the next generation, derive and check it."""
    from opal.refresh.derive import build_derived

    if lanes.wanted(config.case_db_url, manifest):
        return _build_in_lanes(config, export_dir, manifest, gates, clock, say)
    log = ProblemLog()
    log.extend(gates)
    counts: dict[str, int] = {}
    with publish.next_generation(config) as conn:
        load.create_tables(conn)
        keys: dict[str, set[str]] = {}
        for spec in export_tables(manifest.format_version):
            counts[spec.name] = _load_here(conn, export_dir, spec, manifest, keys, log, say)
        log.raise_if_any()
        began = time.monotonic()
        say("indexing ...")
        load.create_indexes(conn)
        load.analyze(conn, BASE_TABLES.values())  # the derive step's plans need them
        say(f"deriving ... (indexes took {time.monotonic() - began:.1f} s)")
        began = time.monotonic()
        checkpoint("derive")
        build_derived(conn, manifest.as_of, manifest.raw, clock(), progress=say)
        say(f"checking the new generation ... (deriving took {time.monotonic() - began:.1f} s)")
        _check(conn, manifest, say)
    return counts


def _check(conn: Connection, manifest: Manifest, say: Progress) -> None:
    """Refuse a generation that does not hold what the manifest promised; analyse the rest."""
    problems = load.check_generation(conn, manifest)
    if problems:
        raise RefreshRejected(problems)
    say("analysing ...")
    load.analyze(conn, DERIVED_TABLES)


def _build_in_lanes(config: Config, export_dir: Path, manifest: Manifest,
                    gates: list[Problem], clock: Clock, say: Progress) -> dict[str, int]:
    """``_build`` for a large export on PostgreSQL: benefit_payment and half of the persons
    in worker processes (``lanes``), the rest here; the stages are committed so that the
    workers see them, and a failure anywhere drops the whole next generation."""
    from opal.refresh.derive import derive_persons, finish_derived, start_derived
    from opal.refresh.derive_load import CHUNK_PERSONS
    from opal.refresh.derive_month import add_marks

    log = ProblemLog()
    log.extend(gates)
    counts: dict[str, int] = {}
    url, schema = config.case_db_url, publish.next_schema(config)
    specs = export_tables(manifest.format_version)
    side = [s for s in specs if s.name == lanes.LANE_TABLE]
    running: list[lanes.Lane] = []
    with publish.next_generation(config) as conn:
        try:
            load.create_tables(conn)
            conn.commit()
            keys: dict[str, set[str]] = {}
            payment: lanes.Lane | None = None
            for spec in specs:
                if spec in side:
                    continue
                counts[spec.name] = _load_here(conn, export_dir, spec, manifest, keys, log, say)
                if payment is None and side and all(
                        c.ref in keys for c in side[0].columns if c.ref):
                    say(f"validating and loading {lanes.LANE_TABLE} in a worker process ...")
                    payment = lanes.start_load(url, schema, export_dir, lanes.LANE_TABLE,
                                               manifest.tables[lanes.LANE_TABLE],
                                               manifest.as_of, keys)
                    running.append(payment)
            if log.total:  # all problems at once: the worker's file too
                _join_load(payment, log, counts, say)
                log.raise_if_any()
            began = time.monotonic()
            say("indexing ...")
            mine = [BASE_TABLES[s.name] for s in specs if s not in side]
            load.create_indexes(conn, mine)
            load.analyze(conn, mine)
            start_derived(conn, manifest.as_of, manifest.raw, clock())
            conn.commit()  # the derive worker reads what is loaded here
            say(f"deriving ... (indexes took {time.monotonic() - began:.1f} s)")
            began = time.monotonic()
            checkpoint("derive")
            middle = _middle_person(conn)
            other = None
            if middle is not None:
                say(f"  persons from {middle} on: derived in a worker process")
                other = lanes.start_derive(url, schema, manifest.as_of, middle,
                                           CHUNK_PERSONS)
                running.append(other)
            marks = derive_persons(conn, manifest.as_of, progress=say, hi=middle)
            if other is not None:
                add_marks(marks, other.result())
                say(f"  the worker's persons derived ({time.monotonic() - began:.1f} s)")
            _join_load(payment, log, counts, say)
            log.raise_if_any()
            finish_derived(conn, marks, manifest.as_of)
            say("checking the new generation ... "
                f"(deriving took {time.monotonic() - began:.1f} s)")
            _check(conn, manifest, say)
        finally:
            for lane in running:
                lane.kill()  # a no-op for the finished ones
    return counts


def _join_load(lane: lanes.Lane | None, log: ProblemLog, counts: dict[str, int],
               say: Progress) -> None:
    """Wait for the load worker (if any, once) and take over its count and problems."""
    if lane is None or lane.name in counts:
        return
    began = time.monotonic()
    outcome: lanes.LoadOutcome = lane.result()
    counts[lane.name] = outcome.loaded
    log.merge(outcome.log)
    say(f"  {lane.name}: {outcome.rows_read} rows (in the worker; waited "
        f"{time.monotonic() - began:.1f} s for it)")


def _middle_person(conn: Connection) -> str | None:
    """The customer number that splits the persons in two halves (None: fewer than two)."""
    person = BASE_TABLES["person"]
    total = conn.execute(select(func.count()).select_from(person)).scalar_one()
    if total < 2:
        return None
    middle: str = conn.execute(select(person.c.customer_no).order_by(person.c.customer_no)
                               .offset(total // 2).limit(1)).scalar_one()
    return middle


def refresh(config: Config, export_dir: Path, *, accept_shrink: bool = False,
            clock: Clock = system_clock, progress: Progress | None = None) -> RefreshResult:
    """Publish ``export_dir`` or raise RefreshRejected/RefreshError with the live data unchanged."""
    say = progress or _quiet
    started = time.monotonic()
    export_dir = Path(export_dir)
    with refresh_lock(config):
        runs = RunLog(config, clock)
        try:
            if runs.reap(lock_held=True):
                say("marked an earlier, killed refresh run as failed")
            run_id = runs.start(str(export_dir.resolve()))
            try:
                say(f"reading {export_dir / 'manifest.json'} ...")
                manifest = read_manifest(export_dir)
                runs.note(run_id, as_of=manifest.as_of.isoformat(),
                          exported_at=manifest.exported_at)
                live = live_generation(config, counts=True)
                gates = future_problems(manifest, clock(), config.timezone) + gate_problems(
                    manifest, live, config.refresh_max_shrink, accept_shrink)
                counts = _build(config, export_dir, manifest, gates, clock, say)
                say("publishing ...")
                publish.swap(config)
                published = clock()
            except RefreshRejected as exc:
                runs.finish(run_id, "failed", "rejected:\n" + exc.render())
                raise
            except BaseException as exc:
                runs.finish(run_id, "failed", f"{type(exc).__name__}: {exc}")
                raise
            result = RefreshResult(run_id, manifest.as_of, manifest.exported_at, published,
                                   counts, time.monotonic() - started)
            runs.finish(run_id, "ok", result.summary(), published_at=published, counts=counts)
            return result
        finally:
            runs.close()


@dataclass(frozen=True)
class RollbackResult:
    """What a rollback made live again, and what it dropped."""

    run_id: int
    as_of: date
    exported_at: str
    dropped_as_of: date | None
    dropped_exported_at: str | None

    def summary(self) -> str:
        dropped = (f"as_of {self.dropped_as_of.isoformat()}, exported_at "
                   f"{self.dropped_exported_at}" if self.dropped_as_of else "none")
        return (f"rolled back (run {self.run_id}): live again as_of {self.as_of.isoformat()}, "
                f"exported_at {self.exported_at}; dropped {dropped}")


def rollback(config: Config, reason: str, *, clock: Clock = system_clock,
             operator: str | None = None) -> RollbackResult:
    """Make the previous generation live again (an operator published a bad one), recorded in
    ``refresh_runs`` and in the audit log with ``reason``; RefreshError when there is none."""
    from opal.audit import record
    from opal.params import clean_for_log
    from opal.retention import operator_name

    reason = clean_for_log(reason.strip(), 400)
    if not reason:
        raise RefreshError("a rollback needs a reason (--reason TEXT)")
    who = operator or operator_name()
    with refresh_lock(config):
        runs = RunLog(config, clock)
        try:
            runs.reap(lock_held=True)
            publish.discard_next(config)
            previous = publish.previous_generation(config)
            if previous is None:
                record(runs.engine, clock=clock, username=who, role=None, action="rollback",
                       outcome="invalid", client="cli",
                       message=f"keine vorherige Generation; Grund: {reason}")
                raise RefreshError("there is no previous generation to roll back to")
            live = live_generation(config)
            run_id = runs.start("(rollback)")
            runs.note(run_id, as_of=previous.as_of.isoformat(),
                      exported_at=previous.exported_at)
            try:
                publish.restore_previous(config)
            except BaseException as exc:
                runs.finish(run_id, "failed", f"rollback: {type(exc).__name__}: {exc}")
                raise
            result = RollbackResult(run_id, previous.as_of, previous.exported_at,
                                    live.as_of if live else None,
                                    live.exported_at if live else None)
            runs.finish(run_id, "ok", f"{result.summary()}\nreason: {reason}",
                        published_at=clock())
            record(runs.engine, clock=clock, username=who, role=None, action="rollback",
                   outcome="ok", client="cli", data_as_of=previous.as_of.isoformat(),
                   message=(f"Datenstand {previous.as_of.isoformat()} wieder live (statt "
                            f"{result.dropped_as_of or '-'}); Grund: {reason}"))
            return result
        finally:
            runs.close()
