"""`python -m opal.demo.setup` (used by `make run`): secret, demo export, refresh, demo users.

Re-running reuses what exists: the secret, the export, a live generation and users already made
(their passwords were printed the first time and are not shown again).
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, bindparam, text

from config import Config, ConfigError
from opal.clock import system_clock
from opal.demo.writer import latest_exported_as_of

#: the demo accounts: name, role, what they are linked to
DEMO_USERS = (
    ("fallmanager", "case_manager", "Fallmanagement mit vollem Fallbestand"),
    ("vertretung", "case_manager", "Fallmanagement, vertritt eine Kollegin oder einen Kollegen"),
    ("teamleitung", "team_lead", "Teamleitung des Teams von fallmanager"),
    ("leitung", "office_lead",
     "Leitung des größten Jobcenters vor Ort: dessen Kennzahlen, anonymisiert, keine Namen"),
    ("controlling", "controlling", "kreisweite Kennzahlen, keine Namen"),
    ("admin", "admin", "Benutzer, Protokoll, Datenübernahmen; keine Falldaten"),
)
CASE_MANAGER_FUNCTIONS = ("FALLMANAGEMENT", "ARBEITSVERMITTLUNG")


@dataclass(frozen=True)
class Links:
    """Real ids of the live demo data the demo users are linked to."""

    case_manager: str
    stand_in: str
    team: str
    office: str = ""  # the largest office (most persons in its BG)


def ensure_secret(data_dir: Path) -> None:
    """Write ``var/secret_key`` once (0600); an existing key is kept."""
    key = data_dir / "secret_key"
    if key.is_file() and key.read_text().strip():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    key.touch(mode=0o600)
    key.write_text(secrets.token_urlsafe(48) + "\n")
    print(f"Schlüssel erzeugt: {key}")


def ensure_export(export_dir: Path, as_of: date, scale: str = "kreis") -> None:
    """Generate the demo export (Kreis scale, fixed seed) unless it exists."""
    if (export_dir / "manifest.json").is_file():
        return
    from opal.demo import generate

    print(f"Erzeuge den Demo-Export (Kreis Borken, Datenstand {as_of.isoformat()}) ...")
    generate(export_dir, scale=scale, seed=1, as_of=as_of)


def ensure_live(config: Config, export_dir: Path) -> None:
    """Refresh the export into the case DB when nothing is live yet."""
    from opal.refresh import live_generation, refresh

    if live_generation(config) is not None:
        return
    print("Spiele den Export in die Falldatenbank ein ...")
    result = refresh(config, export_dir)
    persons = result.counts.get("person", 0)
    print(f"Eingespielt: Datenstand {result.as_of.isoformat()}, {persons} Personen "
          f"({result.seconds:.0f} s).")


def find_links(case_db: Engine, as_of: date) -> Links:
    """Pick a case manager (the one holding most planted hostile names, then the busiest), a
    case manager with an active stand-in, the first one's team and the largest office (most
    persons whose BG it runs; ties by office id).

    The demo user should see the planted names (umlauts, ``=``-formulas, ``<script>``) so that
    escaping and formula neutralisation are visible in every format.
    """
    from opal.demo.catalogue import HOSTILE_PERSONS

    day = as_of.toordinal()
    functions = "('FALLMANAGEMENT', 'ARBEITSVERMITTLUNG')"
    hostile = [last for last, _first in HOSTILE_PERSONS]
    with case_db.connect() as conn:
        busy = conn.execute(text(
            "SELECT s.staff_id, s.team_id FROM staff s JOIN person p "
            f"ON p.case_manager_id = s.staff_id WHERE s.active = 1 AND s.function IN {functions} "
            "GROUP BY s.staff_id, s.team_id "
            "ORDER BY SUM(CASE WHEN p.last_name IN :hostile THEN 1 ELSE 0 END) DESC, "
            "COUNT(*) DESC, s.staff_id LIMIT 1").bindparams(
                bindparam("hostile", expanding=True)), {"hostile": hostile}).first()
        cover = conn.execute(text(
            "SELECT si.staff_id FROM stand_in si JOIN staff s ON s.staff_id = si.staff_id "
            f"WHERE s.function IN {functions} AND si.from_day <= :d "
            "AND (si.to_day IS NULL OR si.to_day >= :d) ORDER BY si.staff_id LIMIT 1"),
            {"d": day}).first()
        largest = conn.execute(text(
            "SELECT bu.office_id FROM person p JOIN benefit_unit bu ON bu.bg_id = p.bg_id "
            "GROUP BY bu.office_id ORDER BY COUNT(*) DESC, bu.office_id LIMIT 1")).first()
    if busy is None or largest is None:
        raise RuntimeError("the demo data has no active case manager with persons")
    stand_in = cover[0] if cover is not None else busy[0]
    return Links(case_manager=busy[0], stand_in=stand_in, team=busy[1], office=largest[0])


def upgrade_app_db(config: Config) -> None:
    """`opal db upgrade` for the demo: a new app database, or one of an older release."""
    from opal.appdb import migrate
    from opal.db import app_engine

    engine = app_engine(config)
    try:
        print(migrate.describe(migrate.upgrade(engine, config.app_db_schema)))
    finally:
        engine.dispose()


def ensure_users(config: Config, links: Links) -> list[tuple[str, str, str]]:
    """Create the demo users that do not exist yet; return (name, role, password) of new ones."""
    from opal.db import app_engine
    from opal.users import generate_password, get_user, upsert_user

    engine = app_engine(config)
    staff = {"fallmanager": links.case_manager, "vertretung": links.stand_in}
    teams = {"teamleitung": links.team}
    offices = {"leitung": links.office}
    made = []
    for name, role, what in DEMO_USERS:
        if get_user(engine, name) is not None:
            continue
        password = generate_password()
        upsert_user(engine, name, role, password=password, staff_id=staff.get(name),
                    team_id=teams.get(name), office_id=offices.get(name))
        linked = staff.get(name) or teams.get(name) or offices.get(name)
        made.append((name, password, f"{role}: {what}" + (f" ({linked})" if linked else "")))
    engine.dispose()
    return made


def main() -> int:
    """Prepare everything `make run` needs; print new demo passwords exactly once."""
    try:
        data_dir = Config.from_env().data_path
        ensure_secret(data_dir)
        config = Config.from_env()
    except ConfigError as exc:
        print(f"opal: configuration error: {exc}", file=sys.stderr)
        return 2
    export_dir = data_dir / "export"
    upgrade_app_db(config)
    try:
        ensure_export(export_dir, latest_exported_as_of(system_clock()))
        ensure_live(config, export_dir)
    except Exception as exc:  # a rejected refresh lists its problems; say so and stop
        problems = getattr(exc, "problems", None) or [exc]
        print("opal: the demo data could not be prepared:", file=sys.stderr)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    from opal.db import case_engine
    from opal.refresh import live_generation

    live = live_generation(config)
    assert live is not None
    engine = case_engine(config)
    links = find_links(engine, live.as_of)
    engine.dispose()
    made = ensure_users(config, links)
    if made:
        print("\nDemo-Benutzer (Passwörter werden nur jetzt angezeigt):")
        for name, password, what in made:
            print(f"  {name:<12} {password}   {what}")
        print()
    else:
        print("Demo-Benutzer existieren bereits (Passwörter wurden beim ersten Lauf angezeigt).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
