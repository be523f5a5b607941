"""Subscriptions: a user's own (from a report page) and an admin's standard ones for every user of
a role or of a team. Stored with the parameters as given; each delivery parses them again for the
recipient, on the data of that day."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from opal.access import Actor, may_run
from opal.appdb.schema import subscriptions
from opal.audit import record
from opal.catalogue import BUNDLE_FORMATS, BundleDefinition, Catalogue
from opal.clock import Clock, system_clock
from opal.delivery.schedule import SCHEDULES, Schedule
from opal.errors import AccessDenied, ParameterError, ReportNotFound
from opal.params import parse_params
from opal.renderers import DOWNLOADS
from opal.roles import REPORT_ROLES, bundle_roles

#: the formats a subscription may deliver: the download formats (files; the page is not one)
FORMAT_LABELS = {f.name: f.label for f in DOWNLOADS}
FORMATS = tuple(FORMAT_LABELS)
#: roles a standard subscription may address (admin sees no case data)
AUDIENCE_ROLES = REPORT_ROLES
_TEAM_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: the form fields of the schedule part (never report parameters)
SCHEDULE_FIELDS = ("format", "schedule", "weekday", "month_day")
MAX_PER_USER = 50


@dataclass(frozen=True)
class Subscription:
    """One stored subscription."""

    id: int
    user_id: int | None
    audience: str | None  #: "role:<role>" or "team:<team_id>" for a standard subscription
    report: str
    params: dict[str, str]
    format: str
    schedule: Schedule
    created_by: str
    created_at: datetime  #: aware UTC

    @property
    def standard(self) -> bool:
        return self.audience is not None

    def audience_label(self) -> str:
        from opal import labels

        if not self.audience:
            return "persönlich"
        kind, _, value = self.audience.partition(":")
        return f"Rolle {labels.label('role', value)}" if kind == "role" else f"Team {value}"


def _row(row: Any) -> Subscription:
    r = row._mapping
    return Subscription(r["id"], r["user_id"], r["audience"], r["report"],
                        json.loads(r["params"]), r["format"],
                        Schedule(r["schedule"], r["weekday"], r["month_day"]),
                        r["created_by"], r["created_at"].replace(tzinfo=UTC))


def parse_schedule(form: Mapping[str, str], errors: dict[str, str]) -> Schedule | None:
    """The schedule from the form fields; problems go into ``errors`` by field."""
    kind = (form.get("schedule") or "").strip()
    if kind not in SCHEDULES:
        errors["schedule"] = "Bitte wählen Sie, wann geliefert werden soll."
        return None
    weekday = day = None
    if kind == "weekly":
        raw = (form.get("weekday") or "").strip()
        if raw not in {str(i) for i in range(7)}:
            errors["weekday"] = "Bitte wählen Sie einen Wochentag."
            return None
        weekday = int(raw)
    if kind == "monthly":
        raw = (form.get("month_day") or "").strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 31:
            errors["month_day"] = "Bitte geben Sie einen Tag von 1 bis 31 an."
            return None
        day = int(raw)
    return Schedule(kind, weekday, day)


def check(catalogue: Any, code: str, args: Mapping[str, str], form: Mapping[str, str],
          as_of: date) -> tuple[Any, dict[str, str], str, Schedule]:
    """Validate report, parameters, format and schedule; one ParameterError naming every bad
    field. Returns (definition, parameters to store, format, schedule)."""
    bundle = catalogue.bundles.get(code) if isinstance(code, str) else None
    defn = catalogue.get(code) if isinstance(code, str) else None
    if defn is None and bundle is None:
        raise ReportNotFound()
    errors: dict[str, str] = {}
    params = {k: v for k, v in args.items() if k != "page"}
    if bundle is not None:
        errors.update(_bundle_errors(catalogue, bundle, params, as_of))
    else:
        try:
            parse_params(defn, params, as_of, allow_sort=True)
        except ParameterError as exc:
            errors.update(exc.errors)
    fmt = (form.get("format") or "").strip()
    formats = BUNDLE_FORMATS if bundle is not None else defn.formats
    if fmt not in FORMATS or fmt not in formats:
        errors["format"] = "Bitte wählen Sie ein Dateiformat dieses Berichts."
    schedule = parse_schedule(form, errors)
    if errors or schedule is None:
        raise ParameterError(errors)
    stored = {k: str(v).strip() for k, v in params.items() if str(v).strip()}
    return bundle if bundle is not None else defn, stored, fmt, schedule


def _bundle_errors(catalogue: Catalogue, bundle: BundleDefinition, params: Mapping[str, str],
                   as_of: date) -> dict[str, str]:
    """A bundle takes only its own parameters, each as the first report declaring it would."""
    errors: dict[str, str] = {}
    for name, value in params.items():
        takers = [d for d, _ in catalogue.parts(bundle) if name in bundle.params
                  and any(p.name == name for p in d.params)]
        if not takers:
            errors[str(name)[:40]] = "Diesen Parameter gibt es für dieses Bündel nicht."
            continue
        try:
            parse_params(takers[0], {name: value}, as_of, allow_sort=False)
        except ParameterError as exc:
            errors.update(exc.errors)
    return errors


def roles_of(catalogue: Catalogue, found: Any) -> tuple[str, ...]:
    """The roles that may run a report, or every part of a bundle."""
    if isinstance(found, BundleDefinition):
        return bundle_roles(catalogue.parts(found))
    return tuple(found.roles)


def subscribe(engine: Engine, catalogue: Any, user_id: int, actor: Actor, code: str,
              args: Mapping[str, str], form: Mapping[str, str], as_of: date, *,
              clock: Clock = system_clock, client: str = "web") -> int:
    """Store a user's own subscription (the user must be allowed to run the report now)."""
    defn, params, fmt, schedule = check(catalogue, code, args, form, as_of)
    if not may_run(actor, catalogue, defn.code):
        record(engine, clock=clock, username=actor.username, role=actor.role,
               action="subscribe", report=defn.code, outcome="denied",
               message="Rolle nicht berechtigt", client=client)
        raise AccessDenied()
    with engine.begin() as conn:
        mine = conn.execute(select(subscriptions.c.id).where(
            subscriptions.c.user_id == user_id, subscriptions.c.deleted_at.is_(None))).all()
        if len(mine) >= MAX_PER_USER:
            raise ParameterError({"schedule": f"Höchstens {MAX_PER_USER} Abonnements je "
                                              "Benutzer."})
        new_id = _insert(conn, clock, user_id=user_id, audience=None, report=defn.code,
                         params=params, fmt=fmt, schedule=schedule, by=actor.username)
    record(engine, clock=clock, username=actor.username, role=actor.role, action="subscribe",
           report=defn.code, params=params, format=fmt, outcome="ok",
           message=f"Abonnement {new_id}: {schedule.label()}", client=client)
    return new_id


def subscribe_standard(engine: Engine, catalogue: Any, admin: Actor, audience: str, code: str,
                       args: Mapping[str, str], form: Mapping[str, str], as_of: date, *,
                       clock: Clock = system_clock, client: str = "web") -> int:
    """Store an admin's standard subscription for every user of a role or of a team."""
    errors: dict[str, str] = {}
    kind, _, value = audience.partition(":")
    if not ((kind == "role" and value in AUDIENCE_ROLES)
            or (kind == "team" and _TEAM_ID.fullmatch(value))):
        errors["audience"] = "Bitte wählen Sie eine Rolle oder geben Sie eine Team-Kennung an."
    try:
        defn, params, fmt, schedule = check(catalogue, code, args, form, as_of)
    except ParameterError as exc:
        raise ParameterError({**exc.errors, **errors}) from None
    if errors:
        raise ParameterError(errors)
    if kind == "role" and value not in roles_of(catalogue, defn):
        raise ParameterError({"audience": "Diese Rolle darf den Bericht nicht abrufen."})
    with engine.begin() as conn:
        new_id = _insert(conn, clock, user_id=None, audience=audience, report=defn.code,
                         params=params, fmt=fmt, schedule=schedule, by=admin.username)
    record(engine, clock=clock, username=admin.username, role=admin.role, action="admin",
           report=defn.code, params=params, format=fmt, outcome="ok",
           message=f"Standard-Abonnement {new_id} für {audience}: {schedule.label()}",
           client=client)
    return new_id


def _insert(conn: Any, clock: Clock, *, user_id: int | None, audience: str | None, report: str,
            params: dict[str, str], fmt: str, schedule: Schedule, by: str) -> int:
    now = clock().astimezone(UTC).replace(tzinfo=None)
    result = conn.execute(insert(subscriptions).values(
        user_id=user_id, audience=audience, report=report,
        params=json.dumps(params, ensure_ascii=False, sort_keys=True), format=fmt,
        schedule=schedule.kind, weekday=schedule.weekday, month_day=schedule.day,
        created_by=by, created_at=now))
    return int(result.inserted_primary_key[0])


def unsubscribe(engine: Engine, sub_id: int, *, actor: Actor, user_id: int | None,
                clock: Clock = system_clock, client: str = "web") -> bool:
    """Delete one subscription: a user only their own (``user_id``), an admin (``user_id``
    None) only standard ones. False when there is no such subscription for them."""
    now = clock().astimezone(UTC).replace(tzinfo=None)
    own = (subscriptions.c.user_id == user_id) if user_id is not None \
        else subscriptions.c.audience.is_not(None)
    with engine.begin() as conn:
        done = conn.execute(update(subscriptions).where(
            subscriptions.c.id == sub_id, subscriptions.c.deleted_at.is_(None), own)
            .values(deleted_at=now)).rowcount
    record(engine, clock=clock, username=actor.username, role=actor.role,
           action="admin" if user_id is None else "subscribe", outcome="ok" if done else "denied",
           message=f"Abonnement {sub_id} " + ("gelöscht" if done else "nicht gefunden"),
           client=client)
    return bool(done)


def active(engine: Engine) -> list[Subscription]:
    """Every subscription not deleted."""
    with engine.connect() as conn:
        rows = conn.execute(select(subscriptions).where(subscriptions.c.deleted_at.is_(None))
                            .order_by(subscriptions.c.id)).all()
    return [_row(r) for r in rows]


def for_user(engine: Engine, user_id: int, role: str | None, team_id: str | None
             ) -> list[Subscription]:
    """A user's own subscriptions and the standard ones addressed to their role or team
    (a case manager's team is known only from the live data: those show on delivery)."""
    audiences = [f"role:{role}"] if role else []
    if team_id:
        audiences.append(f"team:{team_id}")
    with engine.connect() as conn:
        rows = conn.execute(select(subscriptions).where(
            subscriptions.c.deleted_at.is_(None),
            or_(subscriptions.c.user_id == user_id,
                and_(subscriptions.c.audience.is_not(None),
                     subscriptions.c.audience.in_(audiences or [""]))))
            .order_by(subscriptions.c.id)).all()
    return [_row(r) for r in rows]


def standard(engine: Engine) -> list[Subscription]:
    """Every standard subscription not deleted (/admin/subscriptions)."""
    with engine.connect() as conn:
        rows = conn.execute(select(subscriptions).where(
            subscriptions.c.deleted_at.is_(None), subscriptions.c.audience.is_not(None))
            .order_by(subscriptions.c.id)).all()
    return [_row(r) for r in rows]
