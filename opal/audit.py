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
from opal.params import clean_for_log

OUTCOMES = ("ok", "denied", "invalid", "error")
MAX_PARAM_VALUE = 100
MAX_PARAM_COUNT = 50
#: built once: every run appends a row (a statement built per call cost a tenth of a download)
_INSERT = insert(audit_log)


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
    """Insert one audit row in its own transaction; never pass personal data in ``message``."""
    with write_turn(engine), engine.begin() as conn:
        record_in(conn, clock=clock, username=username, role=role, action=action, report=report,
                  params=params, format=format, row_count=row_count, outcome=outcome,
                  duration_ms=duration_ms, data_as_of=data_as_of, message=message,
                  client=client)


def record_in(conn: Connection, *, clock: Clock = system_clock, username: str | None,
              role: str | None, action: str = "run", report: str | None = None,
              params: Mapping[str, Any] | None = None, format: str | None = None,
              row_count: int | None = None, outcome: str, duration_ms: int | None = None,
              data_as_of: str | None = None, message: str | None = None,
              client: str | None = None) -> None:
    """Insert one audit row inside the caller's transaction (``opal purge`` records itself
    in the transaction that deletes, so both happen or neither)."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    ts = clock().astimezone(UTC).replace(tzinfo=None)
    conn.execute(_INSERT, {
        "ts": ts, "username": (username or None) and username[:64], "role": role,
        "action": action, "report": report and report[:40], "params": params_json(params),
        "format": format and format[:10], "row_count": row_count, "outcome": outcome,
        "duration_ms": duration_ms, "data_as_of": data_as_of,
        "message": message and message[:500], "client": client and client[:64]})


def recent(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The newest audit rows first (admin page, tests)."""
    from sqlalchemy import select

    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
