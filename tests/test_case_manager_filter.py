"""The optional ``case_manager`` filter of R02–R08 (reports.md, Scope): its truth table.

Hand-made data (tests/data/handmade): team T1 has S01 Anna Albers (FM), S02 Bernd Brandt (AV),
S03 Carla Çelik (FM, inactive), S04 (Teamleitung), S06 (Leistung), S07 Özlem Aydın (AV); S05
Jürgen Weiß is in T2. Stand-ins on as_of 2026-11-23: S01 covers S03 (open); S02 covers S05 that
very day, covered S01 until the day before and covers S03 from the day after.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from opal.access import Actor, case_manager_choices
from opal.errors import ParameterError
from opal.params import BAD_STAFF
from opal.pipeline import run_report
from tests.fixtures.handmade import USERS, HandmadeLive
from tests.fixtures.web import Auth

LISTS = ("R02", "R03", "R04", "R05", "R06", "R07", "R08")
NAMES = {"S01": "Anna Albers", "S02": "Bernd Brandt", "S03": "Carla Çelik",
         "S05": "Jürgen Weiß", "S07": "Özlem Aydın"}
#: user -> the case managers they may choose, in the order the form offers them (DIN 5007)
ALLOWED = {
    "lead_t1": ["S01", "S02", "S03", "S07"],  # FM/AV of the team, inactive S03 included
    "albers": ["S01", "S03"],  # themself and the colleague covered on as_of
    "brandt": ["S02", "S05"],  # the stand-in of that very day only
    "weiss": ["S05"],  # no stand-in: only themself
    "aydin": ["S07"],
}
#: user -> ids refused with 400: teammates not covered, other teams, other functions, unknown
REFUSED = {
    "lead_t1": ["S04", "S05", "S06", "S99", "s01", "S01x"],
    "albers": ["S02", "S05", "S07", "S04", "S99"],
    "brandt": ["S01", "S03", "S07", "S99"],  # expired yesterday, begins tomorrow
    "weiss": ["S01", "S99"],
    "aydin": ["S01", "S02"],
}


def _actor(user: str) -> Actor:
    role, staff_id, team_id = USERS[user]
    return Actor(user, role, staff_id, team_id)


@pytest.mark.parametrize("user", sorted(ALLOWED))
def test_choices_are_exactly_the_spec(handmade_module: HandmadeLive, user: str) -> None:
    from opal import dates
    from tests.fixtures.handmade import AS_OF

    with handmade_module.ctx.case_db.connect() as conn:
        found = case_manager_choices(conn, _actor(user), dates.day(AS_OF))
    assert list(found) == ALLOWED[user]
    assert found == {s: NAMES[s] for s in ALLOWED[user]}


@pytest.mark.parametrize("code", LISTS)
@pytest.mark.parametrize("user", sorted(ALLOWED))
def test_filter_narrows_the_scope_to_one_case_manager(handmade_module: HandmadeLive,
                                                      user: str, code: str) -> None:
    whole = handmade_module.rows(user, code)
    parts: list[dict[str, Any]] = []
    for staff in ALLOWED[user]:
        rows = handmade_module.rows(user, code, case_manager=staff)
        assert {r["case_manager"] for r in rows} <= {NAMES[staff]}
        parts += rows
    # the parts are the rows of the whole scope whose case manager is offered (a team lead's
    # scope also holds the persons of a Leistung member, K060, whom no filter offers)
    offered = {NAMES[s] for s in ALLOWED[user]}
    assert sorted(map(repr, parts)) == \
        sorted(repr(r) for r in whole if r["case_manager"] in offered)
    assert handmade_module.rows(user, code, case_manager="") == whole  # empty: not given


def test_stand_in_sees_the_covered_colleague_apart(handmade_module: HandmadeLive) -> None:
    own = handmade_module.rows("albers", "R02", case_manager="S01")
    covered = handmade_module.rows("albers", "R02", case_manager="S03")
    assert own and covered
    assert {r["case_manager"] for r in own} == {"Anna Albers"}
    assert {r["case_manager"] for r in covered} == {"Carla Çelik"}


@pytest.mark.parametrize("user", sorted(REFUSED))
def test_any_other_id_is_a_400_naming_the_field(handmade_module: HandmadeLive,
                                                user: str) -> None:
    for code in LISTS:
        for staff in REFUSED[user]:
            with pytest.raises(ParameterError) as info:
                run_report(handmade_module.ctx, code, _actor(user), {"case_manager": staff},
                           "json")
            # the same words for a foreign and an unknown id: nothing confirmed or denied
            assert info.value.errors == {"case_manager": BAD_STAFF}, (code, staff)


def test_aggregates_take_no_case_manager(handmade_module: HandmadeLive) -> None:
    with pytest.raises(ParameterError) as info:
        run_report(handmade_module.ctx, "R01", _actor("lead_t1"), {"case_manager": "S01"},
                   "json")
    assert "case_manager" in info.value.errors


def _options(html: str) -> list[tuple[str, str]]:
    select = html.split('<select id="p-case_manager"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select)


def test_form_offers_exactly_those_by_display_name(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("team_lead")  # T1 of the web data: S01 FM, S02 AV, S04 Teamleitung
    page = client.get("/reports/R02").get_data(True)
    assert _options(page) == [("", "(alle)"), ("S01", "Anna Arendt"), ("S02", "Bernd Böll")]
    bad = client.get("/reports/R02?case_manager=S03")  # another team's case manager
    assert bad.status_code == 400
    html = bad.get_data(True)
    assert 'aria-invalid="true" aria-describedby="e-case_manager"' in html
    assert "<table" not in html
    assert client.get("/reports/R02.json?case_manager=S03").status_code == 400
    Auth(client).logout()
    Auth(client).login("stand_in")  # S02 covers S01 in November 2026
    page = client.get("/reports/R05").get_data(True)
    assert _options(page) == [("", "(alle)"), ("S01", "Anna Arendt"), ("S02", "Bernd Böll")]
    shown = client.get("/reports/R02?case_manager=S01&n_days=1").get_data(True)
    assert "<dt>Fallmanagement</dt><dd>Anna Arendt</dd>" in shown  # as run, by name


def test_team_lead_catalogue_does_not_say_mein_fallbestand(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("team_lead")
    page = client.get("/reports").get_data(True)
    assert "Mein Fallbestand" not in page and "Fallbestand" in page


def test_r01_rows_open_the_lists_of_that_case_manager(shared_web: Flask) -> None:
    client = shared_web.test_client()
    Auth(client).login("team_lead")
    r01 = client.get("/reports/R01").get_data(True)
    assert '<a href="/reports?case_manager=S01">Anna Arendt</a>' in r01
    assert '<a href="/reports?case_manager=S02">Bernd Böll</a>' in r01
    lists = client.get("/reports?case_manager=S01")
    assert lists.status_code == 200
    html = lists.get_data(True)
    assert "Listen für Anna Arendt" in html
    links = re.findall(r'href="(/reports/R[0-9]{2}[^"]*)"', html)
    # the catalogue of lists for them: R02-R08, each with the filter that reproduces it
    assert links == [f"/reports/{c}?case_manager=S01" for c in LISTS]
    assert "Anna Arendt" in client.get(links[0]).get_data(True)
    for foreign in ("S03", "S04", "S99"):  # another team, Teamleitung, unknown: one answer
        assert client.get(f"/reports?case_manager={foreign}").status_code == 400
    Auth(client).logout()
    Auth(client).login("case_manager")  # a case manager's own R01 row opens their own lists
    own = client.get("/reports/R01").get_data(True)
    assert '<a href="/reports?case_manager=S01">' in own
    assert client.get("/reports?case_manager=S02").status_code == 400  # not covered
