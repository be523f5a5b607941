"""The append-only audit log: one row per report run, denial, invalid call or failure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Engine, insert

from opal.appdb.schema import audit_log
from opal.appdb.writeturn import write_turn
from opal.clock import Clock, system_clock
from opal.dbapi import Statement
from opal.dbapi import connection as fixed_connection
from opal.params import clean_for_log

OUTCOMES = ("ok", "denied", "invalid", "error")
MAX_PARAM_VALUE = 100
MAX_PARAM_COUNT = 50
#: built once: every run appends a row (a statement built per call cost a tenth of a download)
_INSERT = insert(audit_log)
_FIXED_INSERT = Statement(_INSERT, [c.name for c in audit_log.columns if c.name != "id"])


def params_json(args: Mapping[str, Any] | None) -> str | None:
    """JSON of the arguments as given: values cut to 100 characters, control chars escaped."""
    if args is None:
        return None
    out: dict[str, str] = {}
    for i, (key, value) in enumerate(args.items()):
        if i >= MAX_PARAM_COUNT:
            out["…"] = f"{len(args) - MAX_PARAM_COUNT} weitere"
            break
        text = value if isinstance(value, str) else repr(value)
        out[clean_for_log(str(key), MAX_PARAM_VALUE)] = clean_for_log(text, MAX_PARAM_VALUE)
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def record(engine: Engine, *, clock: Clock = system_clock, username: str | None,
           role: str | None, action: str = "run", report: str | None = None,
           params: Mapping[str, Any] | None = None, format: str | None = None,
           row_count: int | None = None, outcome: str, duration_ms: int | None = None,
           data_as_of: str | None = None, message: str | None = None,
           client: str | None = None) -> None:
    """Insert one audit row in its own transaction, durable at commit; never pass personal
    data in ``message``. Every request writes one: the insert runs on the driver's connection
    (``opal.dbapi``)."""
    row = _row(clock=clock, username=username, role=role, action=action, report=report,
               params=params, format=format, row_count=row_count, outcome=outcome,
               duration_ms=duration_ms, data_as_of=data_as_of, message=message, client=client)
    with write_turn(engine), fixed_connection(engine) as db:
        _FIXED_INSERT.execute(db.cursor, db.dialect, row)
        db.conn.commit()


def record_in(conn: Connection, *, clock: Clock = system_clock, username: str | None,
              role: str | None, action: str = "run", report: str | None = None,
              params: Mapping[str, Any] | None = None, format: str | None = None,
              row_count: int | None = None, outcome: str, duration_ms: int | None = None,
              data_as_of: str | None = None, message: str | None = None,
              client: str | None = None) -> None:
    """Insert one audit row inside the caller's transaction (``opal purge`` records itself
    in the transaction that deletes, so both happen or neither)."""
    conn.execute(_INSERT, _row(
        clock=clock, username=username, role=role, action=action, report=report,
        params=params, format=format, row_count=row_count, outcome=outcome,
        duration_ms=duration_ms, data_as_of=data_as_of, message=message, client=client))


def _row(*, clock: Clock, username: str | None, role: str | None, action: str,
         report: str | None, params: Mapping[str, Any] | None, format: str | None,
         row_count: int | None, outcome: str, duration_ms: int | None,
         data_as_of: str | None, message: str | None, client: str | None) -> dict[str, Any]:
    """The row's values, cut to their columns' sizes; an unknown outcome is a bug."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    ts = clock().astimezone(UTC).replace(tzinfo=None)
    return {
        "ts": ts, "username": (username or None) and username[:64], "role": role,
        "action": action, "report": report and report[:40], "params": params_json(params),
        "format": format and format[:10], "row_count": row_count, "outcome": outcome,
        "duration_ms": duration_ms, "data_as_of": data_as_of,
        "message": message and message[:500], "client": client and client[:64]}


def recent(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit rows first (admin page, tests)."""
    from sqlalchemy import select

    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
