"""`opal demo-export`: byte-identical per seed, a manifest that matches its files, every row valid
for refresh, and Kreis-scale figures that look like Kreis Borken (so every report has data).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from opal.casedb.schema import CATEGORIES, EXPORT_TABLES, LEGAL_BASES
from opal.cli import CliState, main
from opal.clock import fixed_clock
from opal.demo import generate
from opal.demo.catalogue import HOSTILE_PERSONS, HOSTILE_STAFF, PROVIDERS
from opal.demo.writer import exported_at, latest_exported_as_of
from opal.refresh.manifest import read_manifest
from opal.refresh.validate import ProblemLog, TableReader

AS_OF = date(2026, 11, 23)
A = AS_OF.toordinal()
FLUCHT = {"GESTATTUNG", "AE_FLUCHT", "DULDUNG", "UKRAINE_24"}


def _rows(d: Path, table: str) -> Iterator[dict[str, str]]:
    with (d / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _day(raw: str) -> int | None:
    return date.fromisoformat(raw).toordinal() if raw else None


def _covers(f: int, t: int | None, d: int) -> bool:
    return f <= d and (t is None or d <= t)


def _age(birth: str, on: int) -> int:
    b, d = date.fromisoformat(birth), date.fromordinal(on)
    return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


def _validator_problems(d: Path) -> list[str]:
    manifest = read_manifest(d)
    log, keys = ProblemLog(), {}
    for spec in EXPORT_TABLES:
        for _ in TableReader(d, spec, manifest.tables[spec.name], manifest.as_of, keys,
                             log).rows():
            pass
    return [str(p) for p in log.listing()]


class Facts:
    """The stock facts of an export on a day, computed from the files as reports.md defines."""

    def __init__(self, d: Path) -> None:
        self.dir = d
        self.units = {r["bg_id"]: r for r in _rows(d, "benefit_unit")}
        self.persons = {r["customer_no"]: r for r in _rows(d, "person")}
        self.spells: dict[str, list[tuple[str, int, int | None]]] = defaultdict(list)
        for r in _rows(d, "benefit_spell"):
            f = _day(r["from_date"])
            assert f is not None
            self.spells[r["customer_no"]].append((r["status"], f, _day(r["to_date"])))
        self.main = {p["bg_id"]: p for p in self.persons.values() if p["bg_role"] == "HAUPTPERSON"}

    def first_day(self, cno: str) -> int:
        return min(f for _, f, _ in self.spells[cno])

    def elb_on(self, cno: str, d: int) -> bool:
        return any(s == "ELB" and _covers(f, t, d) for s, f, t in self.spells[cno])

    def elb(self, d: int = A) -> list[str]:
        return [c for c in self.persons if self.elb_on(c, d)]

    def nef(self, d: int = A) -> list[str]:
        return [c for c in self.persons if not self.elb_on(c, d) and any(
            s == "NEF" and _covers(f, t, d) for s, f, t in self.spells[c])]

    def units_on(self, d: int = A) -> list[dict[str, str]]:
        out = []
        for u in self.units.values():
            f = _day(u["start_date"])
            assert f is not None
            if _covers(f, _day(u["end_date"]), d):
                out.append(u)
        return out

    def elb_days_730(self, cno: str) -> int:
        lo, covered = A - 729, 0
        cursor = lo - 1
        for f, t in sorted((max(f, lo), A if t is None else min(t, A))
                           for s, f, t in self.spells[cno] if s == "ELB"):
            f = max(f, cursor + 1)
            if t >= f:
                covered += t - f + 1
                cursor = t
        return covered

    def refugee_share(self, d: int) -> float:
        units = self.units_on(d)
        return sum(self.main[u["bg_id"]]["residence_status"] in FLUCHT for u in units) / len(units)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("small") / "export"
    generate(d, "small", 1, AS_OF, hostile_names=True)  # the suite's data: with test strings
    return d


@pytest.fixture(scope="module")
def kreis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("kreis") / "export"
    generate(d, "kreis", 1, AS_OF)
    return d


@pytest.fixture(scope="module")
def kreis_facts(kreis: Path) -> Facts:
    return Facts(kreis)


# ----- files and manifest -------------------------------------------------------------------


def test_same_arguments_give_byte_identical_files(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, "small", 1, AS_OF, hostile_names=True)
    names = sorted(p.name for p in small.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (small / name).read_bytes() == (again / name).read_bytes(), name


def test_identical_across_processes_and_hash_seeds(small: Path, tmp_path: Path) -> None:
    opal = Path(sys.executable).with_name("opal")
    for hash_seed in ("0", "4711"):
        out = tmp_path / hash_seed
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([str(opal), "demo-export", str(out), "--scale", "small", "--as-of",
                        AS_OF.isoformat(), "--hostile-names"], check=True, capture_output=True,
                       env=env)
        assert (out / "manifest.json").read_bytes() == (small / "manifest.json").read_bytes()


def test_another_seed_gives_other_data(small: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, "small", 2, AS_OF)
    assert (other / "person.csv").read_bytes() != (small / "person.csv").read_bytes()
    assert (other / "contact.csv").read_bytes() != (small / "contact.csv").read_bytes()


def test_manifest_describes_the_files(small: Path) -> None:
    manifest = json.loads((small / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == 2
    assert manifest["source"] == "Fachanwendung Kreis Borken"
    assert manifest["as_of"] == "2026-11-23"
    assert manifest["exported_at"] == "2026-11-24T01:30:00Z"
    assert list(manifest["tables"]) == [t.name for t in EXPORT_TABLES]
    for spec in EXPORT_TABLES:
        entry = manifest["tables"][spec.name]
        data = (small / entry["file"]).read_bytes()
        assert entry["file"] == f"{spec.name}.csv"
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        with (small / entry["file"]).open(encoding="utf-8", newline="") as fh:
            assert sum(1 for _ in csv.reader(fh)) - 1 == entry["rows"]
        assert entry["rows"] > 0, spec.name


def test_files_are_utf8_without_bom_with_the_exact_header(small: Path) -> None:
    for spec in EXPORT_TABLES:
        data = (small / f"{spec.name}.csv").read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf")
        assert b"\r\n" not in data.replace(b'"\r\n', b"")
        header = data.decode("utf-8").split("\n", 1)[0]
        assert header == ",".join(spec.column_names)


def test_small_and_kreis_pass_the_refresh_validator(small: Path, kreis: Path) -> None:
    assert _validator_problems(small) == []
    assert _validator_problems(kreis) == []


def test_cli_defaults_to_yesterday_utc(tmp_path: Path) -> None:
    # 00:30 on 24 Nov in UTC+2 is still 23 Nov in UTC: the data date is 22 Nov
    local = datetime(2026, 11, 24, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    result = CliRunner().invoke(main, ["demo-export", str(tmp_path / "x"), "--scale", "small"],
                                obj=CliState(fixed_clock(local.astimezone(UTC))))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["as_of"] == "2026-11-22"
    assert manifest["exported_at"] == "2026-11-23T01:30:00Z"
    assert "office BOR Borken" in result.stderr and "Borken" not in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert "scale small, seed 1, as_of 2026-11-22" in summary
    assert f"person {manifest['tables']['person']['rows']}" in summary


def test_cli_rejects_a_bad_date_and_scale(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(main, ["demo-export", str(tmp_path), "--as-of", "2026-02-30"])
    assert bad.exit_code == 2 and "--as-of" in bad.output
    bad = runner.invoke(main, ["demo-export", str(tmp_path), "--scale", "welt"])
    assert bad.exit_code == 2
    bad = runner.invoke(main, ["demo-export", str(tmp_path), "--as-of", "2004-12-31"])
    assert bad.exit_code == 2 and "2005-01-01" in bad.output
    assert not (tmp_path / "manifest.json").exists()


# ----- what the lists rely on ---------------------------------------------------------------


def test_without_the_flag_every_name_looks_like_a_person(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    generate(plain, "small", 1, AS_OF)  # what `make run` shows a demo audience
    odd = re.compile(r"^[=+\-@\t\uff1d\uff0b\uff0d\uff20]|[<>&\"]")
    names = [f"{p['last_name']}, {p['first_name']}" for p in _rows(plain, "person")]
    names += [s["display_name"] for s in _rows(plain, "staff")]
    names += [r["provider"] for r in _rows(plain, "measure_participation") if r["provider"]]
    assert names and not [n for n in names if odd.search(n) and n != "Fahrschule Groß & Söhne"]
    assert not set(HOSTILE_STAFF) & {s["display_name"] for s in _rows(plain, "staff")}
    assert any("ä" in n or "ö" in n or "ü" in n or "ß" in n for n in names)  # still German


def test_hostile_names_are_planted_in_the_case_loads(small: Path) -> None:
    persons = {(p["last_name"], p["first_name"]): p for p in _rows(small, "person")}
    facts = Facts(small)
    for name in HOSTILE_PERSONS:
        assert name in persons, name
        p = persons[name]
        assert p["case_manager_id"] and facts.elb_on(p["customer_no"], A)
    staff_names = {s["display_name"] for s in _rows(small, "staff")}
    assert set(HOSTILE_STAFF) & staff_names
    providers = {r["provider"] for r in _rows(small, "measure_participation")}
    assert {'=HYPERLINK("http://x","Träger")', "Smith & Sons <Training> GmbH"} <= providers
    assert set(PROVIDERS) >= providers - {""}


def test_small_has_one_office_two_teams_and_stand_ins(small: Path) -> None:
    assert len(list(_rows(small, "office"))) == 1
    teams = list(_rows(small, "team"))
    assert sorted(t["focus"] for t in teams) == ["U25", "UE25"]
    facts = Facts(small)
    assert 240 <= len(facts.elb()) + len(facts.nef()) <= 380
    spans = [(_day(s["from_date"]), _day(s["to_date"])) for s in _rows(small, "stand_in")]
    assert any(f is not None and f <= A and (t is None or t >= A) for f, t in spans)
    assert any(t is not None and t < A for _, t in spans)
    assert any(f is not None and f > A for f, _ in spans)


# ----- Kreis scale: the published structure -------------------------------------------------


@pytest.mark.slow
def test_kreis_stock_near_kreis_borken(kreis_facts: Facts) -> None:
    elb, nef = kreis_facts.elb(), kreis_facts.nef()
    units = kreis_facts.units_on()
    assert 8500 * 0.85 <= len(units) <= 8500 * 1.15
    assert 12000 * 0.85 <= len(elb) <= 12000 * 1.15
    assert 17000 * 0.85 <= len(elb) + len(nef) <= 17000 * 1.15
    assert 1.3 <= len(elb) / len(units) <= 1.5
    assert 1.8 <= (len(elb) + len(nef)) / len(units) <= 2.2


@pytest.mark.slow
def test_kreis_shares(kreis_facts: Facts, kreis: Path) -> None:
    f = kreis_facts
    units, elb = f.units_on(), f.elb()
    single_parent = sum(u["bg_type"] == "ALLEINERZIEHEND" for u in units) / len(units)
    assert 0.17 <= single_parent <= 0.25
    u25 = sum(_age(f.persons[c]["birth_date"], A) < 25 for c in elb) / len(elb)
    assert 0.18 <= u25 <= 0.26
    lzb = sum(f.elb_days_730(c) >= 638 for c in elb) / len(elb)
    assert 0.50 <= lzb <= 0.70
    unemployed: set[str] = set()
    for r in _rows(kreis, "unemployment_spell"):
        start = _day(r["from_date"])
        assert start is not None
        if r["status"] == "ARBEITSLOS" and _covers(start, _day(r["to_date"]), A):
            unemployed.add(r["customer_no"])
    assert 0.38 <= len(unemployed & set(elb)) / len(elb) <= 0.50
    stock = elb + f.nef()
    assert 0.002 <= sum(f.persons[c]["protected"] == "1" for c in stock) / len(stock) <= 0.01
    ages = [_age(f.persons[c]["birth_date"], A) for c in elb]
    assert min(ages) >= 15 and max(ages) <= 67
    assert sum(f.persons[c]["case_manager_id"] == "" for c in elb) < 0.03 * len(elb)
    kids = [c for c in f.nef() if _age(f.persons[c]["birth_date"], A) < 15]
    assert len(kids) > 0.8 * len(f.nef())
    assert all(f.persons[c]["case_manager_id"] == "" for c in kids)


@pytest.mark.slow
def test_kreis_refugee_share_rises_2017_2018(kreis_facts: Facts) -> None:
    early = kreis_facts.refugee_share(date(2017, 1, 31).toordinal())
    late = kreis_facts.refugee_share(date(2018, 12, 31).toordinal())
    assert 0.07 <= early <= 0.17
    assert 0.19 <= late <= 0.30
    assert late - early >= 0.07
    countries: dict[str, int] = defaultdict(int)
    for p in kreis_facts.persons.values():
        if p["residence_status"] in FLUCHT:
            countries[p["citizenship"]] += 1
    top = sorted(countries, key=lambda c: -countries[c])[:4]
    assert set(top) == {"SY", "IQ", "AF", "UA"}


@pytest.mark.slow
def test_ukraine_only_from_june_2022(kreis_facts: Facts) -> None:
    june = date(2022, 6, 1).toordinal()
    ukrainians = [c for c, p in kreis_facts.persons.items()
                  if p["residence_status"] == "UKRAINE_24"]
    assert len(ukrainians) > 500
    assert all(kreis_facts.first_day(c) >= june for c in ukrainians)


@pytest.mark.slow
def test_no_event_before_the_first_spell_or_after_as_of(kreis_facts: Facts, kreis: Path) -> None:
    first = {c: kreis_facts.first_day(c) for c in kreis_facts.persons}
    assert all(first.values())  # everyone in person has a spell
    events = (("contact", "contact_date"), ("integration_plan", "signed_date"),
              ("measure_participation", "entry_date"), ("employment_spell", "start_date"),
              ("unemployment_spell", "from_date"), ("profile", "valid_from"))
    for table, column in events:
        early = 0
        for r in _rows(kreis, table):
            d = _day(r[column])
            assert d is not None
            early += d < first[r["customer_no"]]
            if table == "contact" and d > A:
                assert r["outcome"] == "OFFEN"
        assert early == 0, table


@pytest.mark.slow
def test_kreis_offices_teams_and_case_loads(kreis: Path, kreis_facts: Facts) -> None:
    offices = {o["office_id"]: o["name"] for o in _rows(kreis, "office")}
    assert len(offices) == 17 and {"Bocholt", "Schöppingen", "Südlohn"} <= set(offices.values())
    per_office: dict[str, int] = defaultdict(int)
    for u in kreis_facts.units_on():
        per_office[offices[u["office_id"]]] += 1
    largest = sorted(per_office, key=lambda o: -per_office[o])[:4]
    assert set(largest) == {"Bocholt", "Gronau", "Borken", "Ahaus"}
    teams = {t["team_id"]: t for t in _rows(kreis, "team")}
    staff = list(_rows(kreis, "staff"))
    leads: dict[str, int] = defaultdict(int)
    fte: dict[str, float] = defaultdict(float)
    for s in staff:
        if s["function"] == "TEAMLEITUNG":
            leads[s["team_id"]] += 1
        if s["function"] in ("FALLMANAGEMENT", "ARBEITSVERMITTLUNG") and s["active"] == "1":
            fte[s["team_id"]] += float(s["fte"])
    assert all(leads[t] == 1 for t in teams)
    assert {"0.5", "0.75", "0.8", "1.0"} <= {s["fte"] for s in staff}
    assert any(s["active"] == "0" for s in staff)
    cm_team = {s["staff_id"]: s["team_id"] for s in staff}
    load: dict[str, int] = defaultdict(int)
    for c in kreis_facts.elb():
        cm = kreis_facts.persons[c]["case_manager_id"]
        if cm:
            load[cm_team[cm]] += 1
    for team_id, team in teams.items():
        ratio = load[team_id] / fte[team_id]
        limit = 75 * 1.35 if team["focus"] in ("U25", "FM") else 150 * 1.1
        assert 25 <= ratio <= limit, (team["name"], ratio)
    assert {t["focus"] for t in teams.values()} == {"U25", "UE25", "FM"}


@pytest.mark.slow
def test_kreis_histories_feed_every_report(kreis: Path) -> None:
    plans = list(_rows(kreis, "integration_plan"))
    egv_last, koop_first = date(2023, 6, 30).isoformat(), date(2023, 7, 1).isoformat()
    assert all(p["signed_date"] <= egv_last for p in plans if p["plan_type"] == "EGV")
    assert all(p["signed_date"] >= koop_first for p in plans
               if p["plan_type"] == "KOOPERATIONSPLAN")
    active = [p for p in plans if p["status"] == "AKTIV"]
    assert len({p["customer_no"] for p in active}) == len(active)
    assert any(p["next_review_date"] < AS_OF.isoformat() for p in active)  # overdue
    assert {"ERSETZT", "ABGELAUFEN"} <= {p["status"] for p in plans}
    parts = list(_rows(kreis, "measure_participation"))
    soon = (AS_OF + timedelta(days=30)).isoformat()
    assert any(p["exit_date"] == "" and AS_OF.isoformat() <= p["planned_end_date"] <= soon
               for p in parts)
    assert {"REGULAER", "ABBRUCH", "INTEGRATION", "SONSTIGES"} <= {p["exit_reason"]
                                                                   for p in parts}
    types = {t["measure_code"]: t for t in _rows(kreis, "measure_type")}
    assert 25 <= len(types) <= 35
    assert {t["legal_basis"] for t in types.values()} == set(LEGAL_BASES)
    assert {t["category"] for t in types.values()} == set(CATEGORIES)
    assert {p["measure_code"] for p in parts} == set(types)
    assert all(t["counts_for_activation"] == "0" for t in types.values()
               if t["legal_basis"] == "P16_EGZ" or t["category"] == "BESCHAEFTIGUNGSBEGLEITEND")
    jobs = list(_rows(kreis, "employment_spell"))
    sections: dict[str, int] = defaultdict(int)
    for j in jobs:
        if j["kind"] in ("SVB", "AUSBILDUNG", "SELBSTAENDIG"):
            sections[j["wz_section"]] += 1
    assert set(sorted(sections, key=lambda s: -sections[s])[:4]) == {"N", "G", "C", "Q"}
    assert {"GERINGFUEGIG", "OEFF_GEFOERDERT"} <= {j["kind"] for j in jobs}
    assert any(j["subsidised"] == "1" and j["kind"] == "SVB" for j in jobs)
    outcomes: dict[str, int] = defaultdict(int)
    for c in _rows(kreis, "contact"):
        outcomes[c["outcome"]] += 1
    assert outcomes["WAHRGENOMMEN"] > 0.7 * sum(outcomes.values())
    assert min(outcomes[o] for o in ("NICHT_ERSCHIENEN", "ABGESAGT", "OFFEN")) > 1000


@pytest.mark.parametrize(("now", "as_of"), [
    (datetime(2026, 11, 24, 1, 29, 59, tzinfo=UTC), date(2026, 11, 22)),  # tonight's not run yet
    (datetime(2026, 11, 24, 1, 30, tzinfo=UTC), date(2026, 11, 23)),      # it ran this minute
    (datetime(2026, 11, 24, 2, 29, tzinfo=timezone(timedelta(hours=1))), date(2026, 11, 22)),
    (datetime(2027, 3, 28, 3, 30, tzinfo=timezone(timedelta(hours=2))), date(2027, 3, 27)),
])
def test_make_run_never_uses_an_export_from_the_future(now: datetime, as_of: date) -> None:
    assert latest_exported_as_of(now) == as_of
    assert exported_at(as_of) <= now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_payments_cover_every_month_of_benefit_at_2026_rates(small: Path) -> None:
    units = {r["bg_id"]: r for r in _rows(small, "benefit_unit")}
    members: dict[str, list[dict[str, str]]] = defaultdict(list)
    for p in _rows(small, "person"):
        members[p["bg_id"]].append(p)
    paid: dict[str, set[str]] = defaultdict(set)
    nov: dict[str, tuple[float, float]] = {}
    for r in _rows(small, "benefit_payment"):
        paid[r["bg_id"]].add(r["month"])
        assert float(r["llu"]) >= 0 and float(r["luh"]) >= 0
        if r["month"] == "2026-11":
            nov[r["bg_id"]] = (float(r["llu"]), float(r["luh"]))
    for bg_id, u in units.items():
        start = date.fromisoformat(u["start_date"])
        end = min(date.fromisoformat(u["end_date"]), AS_OF) if u["end_date"] else AS_OF
        months = {f"{y:04d}-{m:02d}" for y in range(start.year, end.year + 1)
                  for m in range(1, 13) if (start.year, start.month) <= (y, m)
                  <= (end.year, end.month)}
        assert paid[bg_id] <= months, bg_id
        assert len(paid[bg_id]) >= len(months) - 1, bg_id  # a member-less month may be missing
    singles = [nov[b] for b, u in units.items() if b in nov and u["bg_type"] == "SINGLE"
               and len(members[b]) == 1]
    assert singles and max(llu for llu, _ in singles) == 563.0  # Regelbedarf 2026 without income
    assert 400 <= sorted(luh for _, luh in singles)[len(singles) // 2] <= 650
