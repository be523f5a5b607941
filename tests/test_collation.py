"""German collation (DIN 5007-1, then code point, ties by the first id column), the same on SQLite
and PostgreSQL: the engine orders text, never the database's locale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from config import Config
from opal.collation import din5007, text_key
from opal.query import sort_rows
from tests.fixtures.exports import base_rows
from tests.fixtures.web import Auth, Clock, build_portal, dispose


def test_din5007_key() -> None:
    assert din5007("Öztürk") == "ozturk"
    assert din5007("Groß") == din5007("GROSS") == "gross"
    assert din5007("Ça va, Éloïse") == "ca va, eloise"
    assert din5007("Ångström") == "angstrom"


def test_order_of_names_by_hand() -> None:
    names = ["Zimmermann", "zürn", "Öztürk", "Oz", "Ostermann", "Müller", "Muller", "Mueller",
             "Groß", "Grosz", "Gross", "äpfel", "Apfel", "Éva", "Eva"]
    assert sorted(names, key=text_key) == [
        "Apfel", "äpfel",  # equal keys: code point (A before ä)
        "Eva", "Éva", "Gross", "Groß", "Grosz",  # ß as ss, before sz
        "Mueller", "Muller", "Müller",  # ü is u, not ue
        "Ostermann", "Oz", "Öztürk",  # Ö is O: before Z, not after it
        "Zimmermann", "zürn",  # case ignored
    ]


def test_sort_rows_breaks_ties_by_the_first_column_and_keeps_gesamt_last() -> None:
    rows = [{"no": "K3", "name": "Müller"}, {"no": "K1", "name": "Zander"},
            {"no": "K2", "name": "Müller"}, {"no": "K0", "name": None},
            {"no": "Gesamt", "name": None}]
    up = sort_rows(rows, "name", False, "no")
    assert [r["no"] for r in up] == ["K2", "K3", "K1", "K0", "Gesamt"]
    down = sort_rows(rows, "name", True, "no")
    assert [r["no"] for r in down] == ["K1", "K2", "K3", "K0", "Gesamt"]


@pytest.fixture
def named_portal(config: Config) -> Iterator[Flask]:
    """The web data with team T1's case managers renamed so code point and DIN order differ."""
    rows = base_rows()
    staff = {s["staff_id"]: s for s in rows["staff"]}
    staff["S01"]["display_name"] = "Zimmermann, Zoe"
    staff["S02"]["display_name"] = "Öztürk, Ömer"
    rows["staff"] += [
        {**staff["S01"], "staff_id": "S09", "display_name": "Ostermann, Ole"},
        {**staff["S02"], "staff_id": "S10", "display_name": "oberhaus, Olaf"},
        {**staff["S01"], "staff_id": "S11", "display_name": "Ostermann, Ole"},
    ]
    person = next(p for p in rows["person"] if p["customer_no"] == "P001")
    person["last_name"] = "Zander"  # Zander after Öztürk, not before
    app = build_portal(config, Clock(), rows)
    yield app
    dispose(app)


def test_r01_and_sorted_lists_are_german_on_both_databases(named_portal: Flask) -> None:
    client = named_portal.test_client()
    Auth(client).login("team_lead")
    r01 = client.get("/reports/R01.json").get_json()["rows"]
    assert [(r["case_manager"], r["staff_id"]) for r in r01] == [
        ("oberhaus, Olaf", "S10"), ("Ostermann, Ole", "S09"), ("Ostermann, Ole", "S11"),
        ("Öztürk, Ömer", "S02"), ("Zimmermann, Zoe", "S01")]
    by_name = client.get("/reports/R02.json?n_days=1&sort=name").get_json()["rows"]
    assert [r["name"] for r in by_name] == ["Al-Hassan, Rana", "Öztürk, Ayşe", "Zander, Jürgen"]
    by_cm = client.get("/reports/R02.json?n_days=1&sort=case_manager&desc=1").get_json()
    assert [(r["case_manager"], r["customer_no"]) for r in by_cm["rows"]] == [
        ("Zimmermann, Zoe", "P001"), ("Zimmermann, Zoe", "P002"), ("Öztürk, Ömer", "P005")]
    form = client.get("/reports/R03").get_data(True)
    options = form.split('id="p-case_manager"', 1)[1].split("</select>", 1)[0]
    assert [o for o in ("oberhaus", "Ostermann", "Öztürk", "Zimmermann") if o in options]
    order = [options.index(o) for o in ("oberhaus", "Ostermann", "Öztürk", "Zimmermann")]
    assert order == sorted(order)
