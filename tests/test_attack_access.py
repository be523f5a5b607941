"""Adversarial suite, access: horizontal and vertical, every report, every format, web and CLI.

Runs on the hand-made export (``tests/data/handmade``: stand-ins, protected persons, two teams)
on SQLite and PostgreSQL. The oracle of who may see whom is computed from the CSV files and the
scope rules of interface.md (``tests.fixtures.attack.allowed_customers``), not from the code
under test. Security reference: shared/reference/security.md §6 items 3, 4, 5, 7, 12.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from opal.cli import main
from opal.refresh import refresh
from tests.fixtures.attack import (
    CODES,
    CUSTOMER,
    DOWNLOADS,
    FORMATS,
    HM_USERS,
    LIST_ARGS,
    HmPortal,
    allowed_customers,
    customers_in,
    export_without,
    html_all_pages,
    own_protected,
    portal_per_backend,
    protected,
    runner_for,
    runs,
    start,
)
from tests.fixtures.exports import config_env

LISTS = sorted(LIST_ARGS)
CASE_LOAD_USERS = ("albers", "brandt", "celik", "weiss", "aydin", "lead_t1", "lead_t2")
#: the grid of every format: own load + stand-in, stand-in across teams, inactive, both leads
GRID_USERS = ("albers", "brandt", "celik", "lead_t1", "lead_t2")
#: arguments an attacker might hope select someone else's case load: none is declared anywhere
SMUGGLED = ("staff_id", "case_manager_id", "case_manager", "team_id", "team", "viewer", "user",
            "username", "_viewer", "_staff_id", "_team_id", "_office_id", "office_id",
            "_county", "_as_of", "_user")


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def hm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HmPortal]:
    yield from portal_per_backend(request, tmp_path_factory, "attack-access")


@pytest.fixture(scope="module")
def clients(hm: HmPortal) -> dict[str, FlaskClient]:
    return {user: hm.login(user) for user in HM_USERS}


def cli(hm: HmPortal, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, list(args), env=config_env(hm.config))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


def cli_pairs(args: dict[str, str]) -> list[str]:
    return [x for k, v in args.items() for x in ("-p", f"{k}={v}")]


# --------------------------------------------------------------------------------------------
# horizontal: a case load never leaks, in any format, through any client
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", LISTS)
@pytest.mark.parametrize("user", GRID_USERS)
def test_every_format_lists_exactly_the_html_rows_and_nothing_out_of_scope(
        hm: HmPortal, clients: dict[str, FlaskClient], user: str, code: str) -> None:
    client, args = clients[user], LIST_ARGS[code]
    status, in_html = html_all_pages(client, code, args)
    assert status == 200
    allowed = allowed_customers(user)
    assert set(in_html) <= allowed, f"foreign rows for {user}: {set(in_html) - allowed}"
    assert len(in_html) == len(set(in_html))
    for fmt in DOWNLOADS:
        response = client.get(f"/reports/{code}.{fmt}", query_string=args)
        assert response.status_code == 200, fmt
        assert customers_in(fmt, response.data) == in_html, fmt
    for fmt in FORMATS if user in ("albers", "lead_t1") else ("json",):  # opal run: same rows
        exit_code, out, err = cli(hm, "run", code, "--user", user, "--format", fmt,
                                  *cli_pairs(args))
        assert exit_code == 0, err
        assert customers_in(fmt, out) == in_html, fmt


def test_the_oracle_is_not_vacuous(hm: HmPortal, clients: dict[str, FlaskClient]) -> None:
    """The lists above really show persons, incl. protected ones to their own case manager."""
    seen: dict[str, set[str]] = {}
    for user in CASE_LOAD_USERS:
        for code in LISTS:
            body = clients[user].get(f"/reports/{code}.json", query_string=LIST_ARGS[code])
            seen.setdefault(user, set()).update(customers_in("json", body.data))
    assert len(seen["albers"]) > 30 and len(seen["lead_t1"]) > 30
    assert {"K006"} <= seen["albers"]  # a non-protected person of the covered colleague S03
    assert "K030" in seen["brandt"] and "K030" in seen["lead_t2"]  # stand-in, other team
    for user in ("albers", "celik", "weiss"):
        assert own_protected(user) and own_protected(user) <= seen[user], user


def test_protected_persons_never_reach_stand_in_or_team_lead(
        hm: HmPortal, clients: dict[str, FlaskClient]) -> None:
    """§35 SGB I: K007/K058 (S03, covered by albers), K031 (S05, covered by brandt today) and
    K008/K055 (S01) appear for nobody but their own case manager, with any parameters (every
    format shows the HTML rows: test above)."""
    for user in CASE_LOAD_USERS:
        foreign = protected() - own_protected(user)
        for code in LISTS:
            for args in (LIST_ARGS[code], {}, {"sort": "name", "desc": "1"}):
                _, found = html_all_pages(clients[user], code, args)
                found += customers_in("json", clients[user].get(
                    f"/reports/{code}.json", query_string=args).data)
                assert not foreign & set(found), (user, code, args)


def test_aggregates_count_only_the_own_unit(clients: dict[str, FlaskClient]) -> None:
    r01 = {u: [r["staff_id"] for r in clients[u].get("/reports/R01.json").get_json()["rows"]]
           for u in ("albers", "brandt", "weiss", "aydin", "lead_t1", "lead_t2")}
    assert set(r01.pop("lead_t1")) == {"S01", "S02", "S07"}  # active case managers of T1
    assert r01 == {"albers": ["S01"], "brandt": ["S02"], "weiss": ["S05"], "aydin": ["S07"],
                   "lead_t2": ["S05"]}
    for user, team in (("lead_t1", "T1"), ("lead_t2", "T2")):
        r09 = clients[user].get("/reports/R09.json").get_json()["rows"]
        assert [r["team_id"] for r in r09] == [team]
        r10 = clients[user].get("/reports/R10.json").get_json()["rows"]
        total = next(r for r in r10 if r["profile_group"] == "Gesamt")
        # Gesamt eLb of the team: T2 has two eLb persons (K030, K031; protected still counted)
        if team == "T2":
            assert total["elb"] == 2


@pytest.mark.parametrize("code", CODES)
def test_undeclared_arguments_are_400_in_every_format_and_never_select_rows(
        hm: HmPortal, clients: dict[str, FlaskClient], code: str) -> None:
    """No parameter selects a case manager or team: every such attempt is a 400 naming it."""
    user = runner_for(code)
    client = clients[user]
    for i, name in enumerate(SMUGGLED):
        value = ("S03", "T2", "S:S03", "T:T2", "1")[i % 5]
        response = client.get(f"/reports/{code}.json", query_string={name: value})
        assert response.status_code == 400, name
        assert name in response.get_json()["errors"] and "rows" not in response.get_json()
        audit = hm.last_audit()
        assert (audit["outcome"], audit["username"], audit["report"]) == ("invalid", user, code)
    everything = {name: "S03" for name in SMUGGLED}
    page = client.get(f"/reports/{code}", query_string=everything)
    assert page.status_code == 400
    assert all(name in page.get_data(True) for name in SMUGGLED)
    assert not CUSTOMER.search(page.get_data(True))
    for fmt in ("pdf", "csv", "xlsx"):
        response = client.get(f"/reports/{code}.{fmt}", query_string=everything)
        assert response.status_code == 400, fmt
        assert "attachment" not in response.headers.get("Content-Disposition", "")
        body = response.get_data(True)
        assert all(name in body for name in SMUGGLED) and not CUSTOMER.search(body)
    for fmt in FORMATS:
        exit_code, out, err = cli(hm, "run", code, "--user", user, "--format", fmt,
                                  *cli_pairs(everything))
        assert (exit_code, out) == (2, b""), fmt
        assert all(name in err for name in SMUGGLED), err


# --------------------------------------------------------------------------------------------
# vertical and default deny: 403, exit 3, and an audit row "denied" for every attempt
# --------------------------------------------------------------------------------------------

#: one user per kind of refusal: wrong role, no case data at all, no role, unlinked
DENYING = ("albers", "lead_t1", "controlling", "admin", "ohne.rolle", "geist", "geist_tl")
DENIED = [(user, code) for code in CODES for user in DENYING
          if not runs(user, code) or user in ("geist", "geist_tl")]


@pytest.mark.parametrize(("user", "code"), DENIED)
def test_denied_everywhere_and_every_denial_audited(hm: HmPortal, clients: dict[str, FlaskClient],
                                                    user: str, code: str) -> None:
    client = clients[user]
    role = HM_USERS[user][0]
    args = LIST_ARGS.get(code, {})
    for fmt in FORMATS:
        url = f"/reports/{code}" + ("" if fmt == "html" else f".{fmt}")
        queries = [args] + ([{"n_days": "'; DROP TABLE person;--"}, {"_viewer": "S:S01"}]
                            if fmt in ("html", "json") else [])
        for query in queries:
            response = client.get(url, query_string=query)
            assert response.status_code == 403, (fmt, query)  # access first, then parameters
            assert not CUSTOMER.search(response.get_data(True))
            assert "attachment" not in response.headers.get("Content-Disposition", "")
            audit = hm.last_audit()
            assert (audit["outcome"], audit["username"], audit["role"], audit["report"]) == \
                ("denied", user, role, code), (fmt, audit)
            assert audit["format"] == fmt
    # opal run: every format for the unlinked users, one (in turn) for the others
    turn = FORMATS[CODES.index(code) % len(FORMATS)]
    for fmt in FORMATS if user.startswith("geist") else (turn,):
        exit_code, out, err = cli(hm, "run", code, "--user", user, "--format", fmt,
                                  *cli_pairs(args))
        assert (exit_code, out) == (3, b""), (fmt, err)
        assert "verweigert" in err
        audit = hm.last_audit()
        assert (audit["outcome"], audit["username"], audit["client"]) == ("denied", user, "cli")


def test_catalogue_offers_nothing_to_unlinked_users(clients: dict[str, FlaskClient]) -> None:
    for user in ("geist", "geist_tl", "ohne.rolle", "admin"):
        html = clients[user].get("/reports").get_data(True)
        assert not any(f'href="/reports/{code}"' in html for code in CODES), user


def test_cli_for_an_unknown_user_is_denied(hm: HmPortal) -> None:
    exit_code, out, err = cli(hm, "run", "R02", "--user", "niemand", "--format", "csv")
    assert (exit_code, out) == (3, b"")
    assert hm.last_audit()["outcome"] == "denied"


@pytest.mark.parametrize("url", ["/admin/users", "/admin/audit", "/admin/refresh",
                                 "/admin/audit?username=albers"])
def test_admin_pages_deny_and_audit_every_other_role(hm: HmPortal,
                                                     clients: dict[str, FlaskClient],
                                                     url: str) -> None:
    for user in ("albers", "lead_t1", "controlling", "ohne.rolle", "geist"):
        response = clients[user].get(url)
        assert response.status_code == 403
        audit = hm.last_audit()
        assert (audit["action"], audit["outcome"], audit["username"]) == ("admin", "denied", user)


# --------------------------------------------------------------------------------------------
# a refresh that removes a user's staff or team: deny at once, also in a running session
# --------------------------------------------------------------------------------------------

@pytest.fixture
def changing(tmp_path: Path, backend: str) -> Iterator[HmPortal]:
    portal = start(tmp_path / "portal", backend)
    yield portal
    portal.close()


def test_vanished_staff_or_team_sees_nothing_after_the_refresh(changing: HmPortal,
                                                               tmp_path: Path) -> None:
    weiss, lead_t2, albers = (changing.login(u) for u in ("weiss", "lead_t2", "albers"))
    assert weiss.get("/reports/R02.json", query_string={"n_days": "1"}).status_code == 200
    assert lead_t2.get("/reports/R09.json").status_code == 200
    export = export_without(tmp_path / "export2", staff={"S05"}, teams={"T2"}, move_to="S01")
    refresh(changing.config, export, clock=changing.clock, accept_shrink=True)
    for user, client in (("weiss", weiss), ("lead_t2", lead_t2)):
        for code in CODES:
            if not runs(user, code):
                continue
            for fmt in ("html", "json", DOWNLOADS[CODES.index(code) % 3]):
                url = f"/reports/{code}" + ("" if fmt == "html" else f".{fmt}")
                response = client.get(url, query_string=LIST_ARGS.get(code, {}))
                assert response.status_code == 403, (user, code, fmt)
                assert not CUSTOMER.search(response.get_data(True))
                audit = changing.last_audit()
                assert (audit["outcome"], audit["username"], audit["report"]) == \
                    ("denied", user, code)
        exit_code, out, _ = cli(changing, "run", "R01", "--user", user)
        assert (exit_code, out) == (3, b"")
        assert not any(f'href="/reports/{c}"' in client.get("/reports").get_data(True)
                       for c in CODES)
    # the persons moved to S01 now belong to albers: the control that the refresh went live
    rows = albers.get("/reports/R02.json", query_string={"n_days": "1"}).get_json()["rows"]
    assert "K030" in {r["customer_no"] for r in rows}


def test_json_error_bodies_of_denials_carry_no_data(clients: dict[str, FlaskClient]) -> None:
    body = clients["controlling"].get("/reports/R02.json", query_string={"n_days": "1"})
    assert body.status_code == 403
    doc = json.loads(body.data)
    assert doc["ok"] is False and "rows" not in doc and not CUSTOMER.search(body.get_data(True))
