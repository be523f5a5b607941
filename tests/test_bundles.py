"""Bundles (reports.md, "Monatsbericht"): one PDF of several runs, read back with pdftotext and
pypdf; who sees and may run a bundle; one audit row per part and one for the bundle; a faulty
bundle definition stops the catalogue at load.

The steering export (tests/data/steering, as_of 2026-11-23) has three offices: Ahaus (O1),
Übach-Palenberg (O3) and Vreden (O2), so ``monatsbericht`` is R17 for the
county and each office by name, R18 for K2, K3 and K1E2, R12, R13, R14 and R16: eleven parts,
one page each but R18's two (its chart, then 24 months).
"""

from __future__ import annotations

import io
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result as CliResult
from pypdf import PdfReader
from sqlalchemy import select

from opal.appdb.schema import audit_log
from opal.catalogue import (
    CatalogueError,
    check_bundle,
    default_dirs,
    load_and_check,
    load_catalogue,
)
from opal.context import Context
from opal.renderers.pdf import ResultPdf
from opal.renderers.pdfbundle import Part, build_bundle
from opal.renderers.pdfpage import PageInfo
from opal.result import Result
from tests.fixtures.steering import STEERING_DIR
from tests.test_render_pdf import aggregate, pdf_text, person_list

COVER = PageInfo(title="Testmappe", unit="Gesamter Kreis", code="testmappe",
                 params=(("Berichtsmonat", "Oktober 2026"),), as_of="23.11.2026",
                 created="24.11.2026 07:12 MEZ")


def pages_of(body: bytes) -> int:
    return len(PdfReader(io.BytesIO(body)).pages)


def contents(cover_text: str) -> list[tuple[str, int]]:
    """The contents lines of the cover: (label, page number)."""
    return [(m[1].strip(), int(m[2])) for m in
            re.finditer(r"^(R\d\d .+?)\s+(\d+)$", cover_text, re.MULTILINE)]


# --------------------------------------------------------------------------- the document


def test_bundle_document_paginates_every_part_from_a_new_page() -> None:
    """Parts of 1 to n pages, portrait and landscape: the cover is page 1, each part starts
    where the contents say (its length as a PDF of its own), every page says "Seite n von m"."""
    results: list[Result] = [person_list(90), aggregate(), person_list(3, username="x")]
    alone = [pages_of(ResultPdf(r).build()) for r in results]
    assert alone[0] > 1  # a part of several pages
    labels = ["R02 Liste lang", "R10 Kennzahlen je Team", "R02 Liste kurz"]
    body = build_bundle(COVER, [Part(label, ResultPdf(r))
                                for label, r in zip(labels, results, strict=True)])
    total = 1 + sum(alone)
    assert pages_of(body) == total
    starts = [2 + sum(alone[:i]) for i in range(len(results))]
    cover = pdf_text(body, 1)
    assert contents(cover) == list(zip(labels, starts, strict=True))
    assert "Testmappe" in cover and "Inhalt" in cover
    assert "Datenstand: 23.11.2026" in cover and "Erstellt: 24.11.2026 07:12 MEZ" in cover
    for n in range(1, total + 1):
        assert re.findall(r"Seite \d+ von \d+", pdf_text(body, n)) == [f"Seite {n} von {total}"]
    reader = PdfReader(io.BytesIO(body))
    for i, (result, start) in enumerate(zip(results, starts, strict=True)):
        first = pdf_text(body, start)
        assert first.lstrip().startswith(result.title), (i, first[:200])
        assert f"OPAL {result.code}" in first
        last = start + alone[i] - 1
        assert pdf_text(body, last).count("Seite") == 1
        wide = result.orientation == "landscape"
        box = reader.pages[start - 1].mediabox
        assert (float(box.width) > float(box.height)) == wide
    assert "OPAL testmappe" in cover
    box = reader.pages[0].mediabox
    assert float(box.width) < float(box.height)  # the cover is portrait


# --------------------------------------------------------------------------- definitions


def write_bundle(tmp_path: Path, name: str, body: str) -> Path:
    reports = tmp_path / "reports"
    if not reports.is_dir():
        shutil.copytree(default_dirs()[0], reports)
    (reports / "bundles" / f"{name}.toml").write_text(body, encoding="utf-8")
    return reports


BAD = '''name = "schlecht"
title = "Schlecht"
colour = "rot"
params = ["month", "colour"]

[[runs]]
report = "R99"

[[runs]]
report = "R12"
params = { group_by = "planet", month = "2026-10" }

[[runs]]
report = "R13"
for_each = "office"

[[runs]]
report = "R17"
for_each = "team"

[[runs]]
report = "R17"
for_each = "office"
params = { office = "O1", shoe_size = 44 }
'''


def test_a_faulty_bundle_names_every_fault_and_stops_the_catalogue(tmp_path: Path) -> None:
    reports = write_bundle(tmp_path, "schlecht", BAD)
    catalogue = load_catalogue(reports, default_dirs()[1])
    assert catalogue.problems == ["bundles/schlecht.toml: unknown key 'colour'"]
    problems = check_bundle(catalogue.bundles["schlecht"], catalogue)
    assert problems == [
        "bundle schlecht: runs[0] R99: no such report",
        "bundle schlecht: runs[1] R12: parameter 'group_by': "
        + problems[1].split("'group_by': ", 1)[1],
        "bundle schlecht: runs[2] R13: for_each 'office' needs an 'office' parameter",
        "bundle schlecht: runs[3] R17: for_each 'team' is not one of office",
        "bundle schlecht: runs[4] R17: 'office' both in params and for_each",
        "bundle schlecht: runs[4] R17: parameter 'shoe_size': "
        "Diesen Parameter gibt es für diesen Bericht nicht.",
        "bundle schlecht: params: 'month' is also set by a run",
        "bundle schlecht: params: no run's report declares 'colour'",
    ]
    with pytest.raises(CatalogueError) as caught:
        load_and_check(reports)
    assert set(problems) | {"bundles/schlecht.toml: unknown key 'colour'"} <= set(
        caught.value.problems)


def test_a_bundle_nobody_may_run_whole_is_refused(tmp_path: Path) -> None:
    """A person list and a controlling aggregate: no role may run both."""
    reports = write_bundle(tmp_path, "gemischt", 'name = "gemischt"\ntitle = "Gemischt"\n'
                           '[[runs]]\nreport = "R02"\n[[runs]]\nreport = "R12"\n')
    catalogue = load_catalogue(reports, default_dirs()[1])
    assert check_bundle(catalogue.bundles["gemischt"], catalogue) == [
        "bundle gemischt: no role may run every part"]


def test_the_file_name_is_the_bundle_name(tmp_path: Path) -> None:
    reports = write_bundle(tmp_path, "anders", 'name = "monat"\ntitle = "x"\n'
                           '[[runs]]\nreport = "R12"\n')
    assert load_catalogue(reports, default_dirs()[1]).problems == [
        "bundles/anders.toml: name 'monat' does not match the file name"]


def test_the_shipped_monatsbericht() -> None:
    """As reports.md lists it."""
    catalogue = load_catalogue()
    bundle = catalogue.bundles["monatsbericht"]
    runs = [(r.report, dict(r.params), r.for_each) for r in bundle.runs]
    r18 = [("R18", {"figure": f}, None) for f in ("K2", "K3", "K1E2")]
    expected = [("R17", {}, None), ("R17", {}, "office"), *r18, ("R12", {}, None),
                ("R13", {}, None), ("R14", {}, None), ("R16", {}, None)]
    assert runs == expected
    assert bundle.params == ("month",)
    assert check_bundle(bundle, catalogue) == []


# --------------------------------------------------------------------------- runs


@dataclass
class World:
    ctx: Context
    env: dict[str, str]

    def audit(self) -> list[Any]:
        with self.ctx.app_db.connect() as conn:
            return list(conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings())

    def cli(self, *args: str) -> CliResult:
        from opal.cli import CliState, main
        from opal.clock import fixed_clock
        from tests.conftest import FIXED_NOW

        return CliRunner().invoke(main, ["run", *args], env=self.env,
                                  obj=CliState(fixed_clock(FIXED_NOW)))


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """``opal refresh`` of the steering export; a controller and an office lead."""
    from opal.clock import fixed_clock
    from opal.db import app_engine, case_engine, init_app_db
    from opal.refresh import refresh
    from opal.users import upsert_user
    from tests.conftest import FIXED_NOW, drop_pg_schemas, make_config, require_pg

    if request.param == "pg":
        require_pg()
    tmp: Path = tmp_path_factory.mktemp(f"bundles_{request.param}")
    config, prefix = make_config(tmp, request.param)
    (tmp / "var").mkdir(exist_ok=True)
    apps = app_engine(config)
    try:
        init_app_db(apps, config.app_db_schema)
        refresh(config, STEERING_DIR, clock=fixed_clock(FIXED_NOW))
        upsert_user(apps, "ctl", "controlling", clock=fixed_clock(FIXED_NOW))
        upsert_user(apps, "ol1", "office_lead", office_id="O1", clock=fixed_clock(FIXED_NOW))
        ctx = Context(config, case_engine(config), apps, load_catalogue(),
                      fixed_clock(FIXED_NOW))
        env = {"OPAL_" + name.upper(): str(getattr(config, name))
               for name in ("case_db_url", "app_db_url", "case_db_schema", "app_db_schema",
                            "data_dir", "secret_key") if getattr(config, name) is not None}
        yield World(ctx, env)
        ctx.case_db.dispose()
    finally:
        apps.dispose()
        if prefix:
            drop_pg_schemas(prefix)


R17 = "R17 Kennzahlen nach § 48a SGB II"
PARTS = [  # label in the contents, the page's parameter line
    (f"{R17} – Gesamter Kreis", "Dienststelle: alle"),
    (f"{R17} – Ahaus", "Dienststelle: Ahaus"),
    (f"{R17} – Übach-Palenberg", "Dienststelle: Übach-Palenberg"),
    (f"{R17} – Vreden", "Dienststelle: Vreden"),
    ("R12 Integrationsquote K2", "Gliederung: Dienststelle"),
    ("R13 LZB-Entwicklung (K3, K3E1, K3E2)", "LZB-Entwicklung"),
    ("R14 Bestand und Dynamik (K1E2–K1E4)", "Bestand und Dynamik"),
    ("R16 Strukturbericht", "Strukturbericht"),
]


def expected_parts() -> list[tuple[str, str]]:
    r18 = [(f"R18 Kennzahl im Zeitverlauf – {label}", f"Kennzahl: {figure} – ")
           for figure, label in (("K2", "K2 Integrationsquote"),
                                 ("K3", "K3 Bestand an Langzeitleistungsbeziehenden"),
                                 ("K1E2", "K1E2 Zahl der eLb"))]
    return PARTS[:4] + r18 + PARTS[4:]


def test_monatsbericht_from_the_command_line(world: World, tmp_path: Path) -> None:
    """One PDF: cover with the contents, every part on its own page(s), numbered throughout;
    one audit row per part (as a run of that report) and one for the bundle."""
    before = len(world.audit())
    out = tmp_path / "m.pdf"
    done = world.cli("monatsbericht", "--user", "ctl", "--format", "pdf", "-o", str(out))
    assert done.exit_code == 0, done.output
    body = out.read_bytes()
    parts = expected_parts()
    total = pages_of(body)
    assert total == 15  # cover, one page per part, two for each R18 (chart and 24 months)
    cover = pdf_text(body, 1)
    toc = contents(cover)
    assert [label for label, _ in toc] == [label for label, _ in parts]
    assert [page for _, page in toc] == [2, 3, 4, 5, 6, 8, 10, 12, 13, 14, 15]
    assert "Monatsbericht" in cover and "Datenstand: 23.11.2026" in cover
    assert "Berichtsmonat: Oktober 2026" in cover
    # the footer's long code stands clear of the dates (one line, not drawn over them)
    assert re.search(r"Erstellt: 24\.11\.2026 07:12 MEZ +OPAL monatsbericht +Seite 1 von 15",
                     cover)
    for n in range(1, total + 1):
        assert f"Seite {n} von {total}" in pdf_text(body, n)
    ends = [page for _, page in toc[1:]] + [total + 1]
    for (label, marker), (_, start), end in zip(parts, toc, ends, strict=True):
        assert end > start  # a part has at least one page of its own
        first = pdf_text(body, start)
        assert marker in first, (label, first[:300])
        assert f"OPAL {label[:3]}" in first
    rows = world.audit()[before:]
    codes = [label[:3] for label, _ in parts]
    assert [(r["report"], r["format"], r["outcome"]) for r in rows] == [
        *((code, "pdf", "ok") for code in codes), ("monatsbericht", "pdf", "ok")]
    assert rows[-1]["message"] == f"Bündel monatsbericht: {len(parts)} Teile"
    assert rows[-1]["data_as_of"] == "2026-11-23"
    assert {r["username"] for r in rows} == {"ctl"}
    offices = [json.loads(r["params"]).get("office") for r in rows[:4]]
    assert offices == [None, "O1", "O3", "O2"]


def test_the_month_reaches_every_part_that_has_one(world: World, tmp_path: Path) -> None:
    out = tmp_path / "m.pdf"
    done = world.cli("monatsbericht", "--user", "ctl", "--format", "pdf", "-o", str(out),
                     "-p", "month=2026-09")
    assert done.exit_code == 0, done.output
    body = out.read_bytes()
    assert "Berichtsmonat: September 2026" in pdf_text(body, 1)
    assert "Berichtsmonat: September 2026" in pdf_text(body, 2)


@pytest.mark.parametrize(("args", "message"), [
    (("--format", "json"), "format: Ein Bündel gibt es nur als PDF."),
    (("--format", "pdf", "-p", "office=O1"),
     "office: Diesen Parameter gibt es für dieses Bündel nicht."),
    (("--format", "pdf", "-p", "month=2027-01"), "month: "),
])
def test_a_bad_call_exits_2_and_is_audited_as_invalid(world: World, args: tuple[str, ...],
                                                      message: str) -> None:
    before = len(world.audit())
    done = world.cli("monatsbericht", "--user", "ctl", *args)
    assert done.exit_code == 2, done.output
    assert message in done.stderr
    rows = world.audit()[before:]
    assert rows[-1]["report"] == "monatsbericht" and rows[-1]["outcome"] == "invalid"


def test_a_role_missing_a_part_is_denied_before_any_part_runs(world: World) -> None:
    """The office lead may run R17, R12-R14 and R16 for their office, but not R17 for every
    office: no bundle, exit 3, one denial in the audit log and no part run."""
    before = len(world.audit())
    done = world.cli("monatsbericht", "--user", "ol1", "--format", "pdf")
    assert done.exit_code == 3, done.output
    assert done.stdout == ""
    assert [(r["report"], r["outcome"], r["message"]) for r in world.audit()[before:]] == [
        ("monatsbericht", "denied", "Rolle nicht berechtigt")]


# --------------------------------------------------------------------------- the portal


def test_the_catalogue_lists_the_bundle_for_controlling_only(
        role_clients: dict[str, Any]) -> None:
    link = b'href="/reports/monatsbericht.pdf"'
    for key, client in role_clients.items():
        page = client.get("/reports")
        assert page.status_code == 200
        assert (link in page.data) == (key == "controlling"), key


def test_the_bundle_download(role_clients: dict[str, Any]) -> None:
    got = role_clients["controlling"].get("/reports/monatsbericht.pdf")
    assert got.status_code == 200
    assert got.mimetype == "application/pdf"
    assert re.fullmatch(r'attachment; filename="OPAL_monatsbericht_\d{4}-\d\d-\d\d_'
                        r'\d{8}T\d{6}Z\.pdf"', got.headers["Content-Disposition"])
    assert pages_of(got.data) >= 1 + len(expected_parts()) - 3  # the hand-made offices
    assert contents(pdf_text(got.data, 1))[0] == (f"{R17} – Gesamter Kreis", 2)


@pytest.mark.parametrize(("key", "path", "status"), [
    ("office_lead", "/reports/monatsbericht.pdf", 403),
    ("case_manager", "/reports/monatsbericht.pdf", 403),
    ("admin", "/reports/monatsbericht.pdf", 403),
    ("controlling", "/reports/monatsbericht.csv", 404),
    ("controlling", "/reports/monatsbericht.json", 404),
    ("controlling", "/reports/monatsbericht.pdf?figure=K2", 400),
    ("controlling", "/reports/nichtda.pdf", 404),
])
def test_the_bundle_download_refusals(role_clients: dict[str, Any], key: str, path: str,
                                      status: int) -> None:
    assert role_clients[key].get(path).status_code == status


def test_an_anonymous_bundle_download_is_401(shared_web: Any) -> None:
    assert shared_web.test_client().get("/reports/monatsbericht.pdf").status_code == 401


# --------------------------------------------------------------------------- delivery


def test_a_bundle_is_subscribed_delivered_and_fetched_like_a_report(web_app: Any,
                                                                    clock: Any) -> None:
    """Controlling subscribes from the catalogue card; `opal deliver` makes one PDF into the
    inbox (audited: every part and the bundle, client deliver); the office lead may not
    subscribe (403, audited) and an admin cannot address the office leads with it (400)."""
    from tests.fixtures.web import csrf_of
    from tests.test_delivery import audits, login, rows_of, run_deliver

    client = login(web_app, "controlling")
    page = client.get("/reports")
    text = page.get_data(True)
    assert 'name="report" value="monatsbericht"' in text and "Abonnieren" in text
    form = {"csrf_token": csrf_of(page), "report": "monatsbericht", "format": "pdf",
            "schedule": "refresh"}
    assert client.post("/subscriptions", data={**form, "format": "csv"}).status_code == 400
    assert client.post("/subscriptions", data={**form, "p.office": "O1"}).status_code == 400
    made = client.post("/subscriptions", data=form)
    assert made.status_code == 303, made.get_data(True)
    assert "Monatsbericht" in client.get("/subscriptions").get_data(True)
    result = run_deliver(web_app, clock)
    assert (result.delivered, result.failed, result.skipped) == (1, 0, 0)
    (row,) = rows_of(web_app)
    assert (row.username, row.status, row.report, row.format) == (
        "controlling", "ok", "monatsbericht", "pdf")
    assert row.data_as_of == "2026-11-23"
    assert json.loads(row.params)["shown"] == [["Berichtsmonat", "Oktober 2026"]]
    got = client.get(f"/inbox/{row.id}")
    body = got.data
    got.close()
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert contents(pdf_text(body, 1))[0] == (f"{R17} – Gesamter Kreis", 2)
    runs = audits(web_app, client="deliver")
    assert runs[-1].report == "monatsbericht" and runs[-1].outcome == "ok"
    assert {a.report for a in runs[:-1]} == {"R12", "R13", "R14", "R16", "R17", "R18"}

    lead = login(web_app, "office_lead")
    denied = lead.post("/subscriptions", data={**form, "csrf_token": csrf_of(
        lead.get("/subscriptions"))})
    assert denied.status_code == 403
    assert audits(web_app, action="subscribe", outcome="denied")[-1].report == "monatsbericht"
    admin = login(web_app, "admin")
    token = csrf_of(admin.get("/admin/subscriptions"))
    standard = {"csrf_token": token, "report": "monatsbericht", "params": "", "format": "pdf",
                "schedule": "refresh", "audience_kind": "role"}
    assert admin.post("/admin/subscriptions",
                      data={**standard, "role": "office_lead"}).status_code == 400
    assert admin.post("/admin/subscriptions",
                      data={**standard, "role": "controlling"}).status_code == 303
