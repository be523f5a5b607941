"""Adversarial suite, injection: hostile values in every parameter of every report, in the
login form and in the admin filters: 400 naming the field (or a plain failed login), never a 500,
never other rows. SQLite and PostgreSQL (NUL bytes, for one, only break PostgreSQL).

Security reference: shared/reference/security.md §6 items 1, 2, 16.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.fixtures.attack import (
    CATALOGUE,
    CODES,
    CUSTOMER,
    HM_USERS,
    LIST_ARGS,
    HmPortal,
    customers_in,
    definition,
    portal_per_backend,
    runner_for,
)
from tests.fixtures.web import PASSWORD, csrf_of

#: values no parameter of any type accepts (raw, before URL encoding)
HOSTILE = [
    "'", '"', "30'", "30;--", "' OR 1=1--", "30 OR 1=1", "1) OR (1=1", "A' OR 'A'='A",
    "30 UNION SELECT customer_no FROM person--", "' UNION SELECT name, 1 --",
    "30; DROP TABLE person;--", "30/**/OR/**/1=1", "ORDER BY 1", "1 ORDER BY 2--",
    "$(id)", "{{7*7}}", "${7*7}", "<script>alert(1)</script>", "%27", "0x1e", "1e3", "30.0",
    "３０", "٣٠", "A\u200b", "Ａ", "А",  # full-width, Arabic-Indic digits, zero width, Cyrillic A
    "B\u0301", "\u202eA", "x" * 10_000, "9" * 10_000, "\x00", "30\x00", "A\x00", "30\r\nX: y",
    "\ufffd", "2026-10\x00", "2026-1O", "2026-10-01' --", "-1", "99999999999999999999",
]
#: PostgreSQL leg: the values whose bytes could reach the database (NUL, encodings, length)
PG_HOSTILE = [v for v in HOSTILE if "\x00" in v or "'" in v or len(v) > 200 or not v.isascii()]
#: bad ``sort`` values (ORDER BY tricks): only the whitelist's column names are accepted
BAD_SORTS = ["name desc", "name DESC", "1", "1;--", "customer_no,(select 1)", "customer_no--",
             "(SELECT 1)", "customer_no COLLATE \"C\"", "CASE WHEN 1=1 THEN name END",
             "name;DROP TABLE person", "Name", "name ", "customer_no\x00", "password",
             "p.customer_no", "x" * 10_000]
#: raw query strings a browser never sends: broken encodings, repeated arguments
RAW_QUERIES = ["{p}=%ff%fe", "{p}=%c0%80", "{p}=%ed%a0%80", "{p}=%00", "{p}=1&{p}=2",
               "{p}=&{p}=30", "{p}[]=1", "{p}=%E2%80%AE30"]


@pytest.fixture(scope="module", params=["sqlite", "pg"])
def hm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[HmPortal]:
    yield from portal_per_backend(request, tmp_path_factory, "attack-inj",
                                  login_max_failures=1_000_000)


@pytest.fixture(scope="module")
def clients(hm: HmPortal) -> dict[str, FlaskClient]:
    return {user: hm.login(user) for user in ("albers", "lead_t1", "controlling", "admin")}


#: what an error page must never show: traces, SQL, driver names, file paths
LEAKS = ("Traceback", "sqlalchemy", "sqlite3", "psycopg", "SELECT ", " FROM ", "d_person",
         "d_list_scope", ".py", "/work/", "site-packages")


def assert_400_naming(response: object, field: str, sent: str = "") -> None:
    """400, the field named, no data and no internals (the user's own input may be echoed,
    escaped, in the form field)."""
    from markupsafe import escape
    from werkzeug.test import TestResponse

    assert isinstance(response, TestResponse)
    body = response.get_data(True)
    assert response.status_code == 400, (field, response.status_code, body[-300:])
    rest = body.replace(str(escape(sent)), "") if sent else body
    assert not any(leak in rest for leak in LEAKS), rest[-300:]
    assert not CUSTOMER.search(body), "a 400 must carry no data"
    if response.mimetype == "application/json":
        assert field in json.loads(body)["errors"], body
    else:  # the field's own error: beside its input, or listed by name (not a form field)
        named = (f'id="e-{escape(field)}"', f"<code>{escape(field)}</code>")
        assert any(mark in body for mark in named), (field, body[-500:])


def params_of(code: str) -> list[str]:
    return [p.name for p in definition(code).params]


PARAM_CASES = [(code, name) for code in CODES for name in params_of(code)]


@pytest.mark.parametrize(("code", "name"), PARAM_CASES)
def test_hostile_values_in_every_parameter_are_400_naming_it(
        hm: HmPortal, clients: dict[str, FlaskClient], code: str, name: str) -> None:
    client = clients[runner_for(code)]
    for value in HOSTILE if hm.backend == "sqlite" else PG_HOSTILE:
        for url in (f"/reports/{code}", f"/reports/{code}.json"):
            response = client.get(url, query_string={name: value})
            assert_400_naming(response, name, value)
    audit = hm.last_audit()
    assert audit["outcome"] == "invalid" and name in audit["message"]
    assert "\x00" not in (audit["params"] or "")  # control characters escaped in the log


@pytest.mark.parametrize(("code", "name"), PARAM_CASES)
def test_raw_encodings_and_repeated_arguments_are_400(clients: dict[str, FlaskClient],
                                                      code: str, name: str) -> None:
    client = clients[runner_for(code)]
    for template in RAW_QUERIES:
        query = template.format(p=name)
        for path in (f"/reports/{code}?", f"/reports/{code}.csv?", f"/reports/{code}.json?"):
            response = client.get(path + query)
            field = name + "[]" if "[]" in query else name
            assert_400_naming(response, field)


@pytest.mark.parametrize("code", CODES)
def test_repeated_parameter_never_picks_one_of_the_values(clients: dict[str, FlaskClient],
                                                          code: str) -> None:
    """HTTP parameter pollution: ``n_days=30&n_days=1`` is not "30" (nor "1"): it is a 400,
    for the control arguments as well."""
    client = clients[runner_for(code)]
    for name in ("sort", "desc"):
        good = definition(code).sort[0] if name == "sort" and definition(code).sort else "1"
        response = client.get(f"/reports/{code}.json?{name}={good}&{name}={good}")
        assert_400_naming(response, name)
    response = client.get(f"/reports/{code}?page=1&page=2")
    assert_400_naming(response, "page")
    for name in params_of(code):
        response = client.get(f"/reports/{code}.json?{name}=&{name}=")
        assert_400_naming(response, name)
        assert "nur einmal" in response.get_json()["errors"][name]


@pytest.mark.parametrize("code", [d.code for d in CATALOGUE if d.sort])
def test_bad_sort_values_are_400_and_the_whitelist_still_works(
        clients: dict[str, FlaskClient], code: str) -> None:
    client = clients[runner_for(code)]
    args = LIST_ARGS.get(code, {})
    for value in BAD_SORTS:
        for url in (f"/reports/{code}", f"/reports/{code}.json", f"/reports/{code}.pdf"):
            assert_400_naming(client.get(url, query_string={**args, "sort": value}), "sort",
                              value)
    for value in ("2", "true", "-1", "1;--", " 1"):
        assert_400_naming(client.get(f"/reports/{code}.json",
                                     query_string={**args, "desc": value}), "desc")
    baseline = client.get(f"/reports/{code}.json", query_string=args).get_json()["rows"]
    column = definition(code).sort[0]
    ordered = client.get(f"/reports/{code}.json",
                         query_string={**args, "sort": column, "desc": "1"}).get_json()["rows"]
    assert sorted(map(json.dumps, ordered)) == sorted(map(json.dumps, baseline))


@pytest.mark.parametrize("code", sorted(LIST_ARGS))
def test_a_valid_request_with_hostile_neighbours_is_refused_whole(
        clients: dict[str, FlaskClient], code: str) -> None:
    """One bad argument spoils the request: no partial result with the good ones."""
    client = clients["albers"]
    good = client.get(f"/reports/{code}.json", query_string=LIST_ARGS[code])
    assert good.status_code == 200
    for extra in ({"sort": "name desc"}, {"x' OR '1'='1": "1"}, {"n_days ": "1"},
                  {"N_DAYS": "1"}, {"\x00": "1"}, {"_viewer": "T:T1"}):
        response = client.get(f"/reports/{code}.json", query_string={**LIST_ARGS[code], **extra})
        assert response.status_code == 400, extra
        assert "rows" not in response.get_json()


@pytest.mark.parametrize("code", CODES)
def test_hostile_values_never_change_the_rows_of_the_valid_request(
        clients: dict[str, FlaskClient], code: str) -> None:
    """What is accepted is exactly the canonical value: padding spaces are the only slack."""
    client = clients[runner_for(code)]
    baseline = client.get(f"/reports/{code}.json")
    assert baseline.status_code == 200
    for name in params_of(code):
        for value in ("' OR '1'='1", "1 OR 1=1", "%", "*", "_", "A%", "' --"):
            response = client.get(f"/reports/{code}.json", query_string={name: value})
            assert response.status_code == 400, (name, value)


# --------------------------------------------------------------------------------------------
# the login form and the admin filters
# --------------------------------------------------------------------------------------------

LOGIN_NAMES = ["' OR 1=1--", "albers' --", "albers\x00", "\x00", "admin'/*", "x" * 10_000,
               "albers\r\nSet-Cookie: a=b", "ａｌｂｅｒｓ", "ALBERS", "%ff", "\ufffd",
               "albers\u200b", '"; DROP TABLE users;--']


@pytest.mark.parametrize("name", LOGIN_NAMES)
def test_hostile_login_names_fail_plainly(hm: HmPortal, name: str) -> None:
    client = hm.client()
    token = csrf_of(client.get("/login"))
    for password in (PASSWORD, "' OR '1'='1", "\x00", "x" * 10_000):
        response = client.post("/login", data={"username": name, "password": password,
                                               "csrf_token": token})
        body = response.get_data(True)
        assert response.status_code == 401, (name[:20], response.status_code, body[-300:])
        assert "Anmeldung fehlgeschlagen" in body and "Traceback" not in body
        assert "a=b" not in str(response.headers)
        assert client.get("/reports").status_code == 302  # still anonymous
        audit = hm.last_audit()
        assert (audit["action"], audit["outcome"]) == ("login", "denied")
        assert "\x00" not in (audit["username"] or "")


def test_padding_is_the_only_slack_in_a_login_name(hm: HmPortal) -> None:
    client = hm.client()
    token = csrf_of(client.get("/login"))
    response = client.post("/login", data={"username": " albers ", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302


def test_hostile_login_fields_of_other_shapes(hm: HmPortal) -> None:
    for data in ({"username": ["albers", "admin"], "password": PASSWORD},
                 {"username": ["admin", "albers"], "password": PASSWORD},
                 {"username": "albers", "password": [PASSWORD, "x"]},
                 {"username": "albers", "password": ["x", PASSWORD]},
                 {"username": "albers"}, {"password": PASSWORD}, {},
                 {"username": "albers", "password": "x" * 60_000},
                 {"username": "albers", "password": "x" * 70_000}):
        client = hm.client()
        token = csrf_of(client.get("/login"))
        response = client.post("/login", data={**data, "csrf_token": token})
        assert response.status_code in (302, 401, 413), (list(data), response.status_code)
        assert "Traceback" not in response.get_data(True)
        if response.status_code == 302:  # the first value counts, with its own password
            first = data["username"][0] if isinstance(data["username"], list) else "albers"
            assert data["password"] in (PASSWORD, [PASSWORD, "x"])
            assert client.get("/admin/users").status_code == (200 if first == "admin" else 403)
    client = hm.client()
    token = csrf_of(client.get("/login"))
    raw = client.post("/login", data=f"username=%ff%fe&password=%00&csrf_token={token}",
                      content_type="application/x-www-form-urlencoded")
    assert raw.status_code == 401


ADMIN_QUERIES = ["username=%00", "username=albers%00", "username=' OR 1=1--", "report=%00",
                 "report=R02' OR '1'='1", "action=%ff%fe", "outcome=ok' --", "from=%00",
                 "to=2026-11-24' OR 1=1--", "from=2026-13-45", "page=%C2%B2", "page=%D9%A3",
                 "page=99999999999999999999999", "page=-1", "page=0", "page=1e9",
                 "username=" + "x" * 10_000, "username=a&username=b", "page=1&page=2",
                 "username=%E2%80%AEadmin"]


@pytest.mark.parametrize("query", ADMIN_QUERIES)
def test_hostile_admin_filters_never_500(hm: HmPortal, clients: dict[str, FlaskClient],
                                         query: str) -> None:
    response = clients["admin"].get("/admin/audit?" + query)
    body = response.get_data(True)
    assert response.status_code in (200, 400), (query, response.status_code, body[-300:])
    assert "Traceback" not in body and "sqlalchemy" not in body.lower()
    # the page's own deferred script is the only one: nothing from the query became markup
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/opal.js" defer>']
    if response.status_code == 200 and ("OR" in query or "--" in query):
        # the injected condition matched nothing: no audit row shown at all
        assert "Keine Einträge" in body or "<tbody></tbody>" in body.replace("\n", "") \
            or body.count("<tr") <= 1


def test_hostile_arguments_never_reach_other_users_rows(clients: dict[str, FlaskClient]
                                                        ) -> None:
    """Whatever albers sends, no row of a person outside albers' scope comes back."""
    from tests.fixtures.attack import allowed_customers

    allowed = allowed_customers("albers")
    client = clients["albers"]
    for code, args in LIST_ARGS.items():
        for name in params_of(code) + ["sort", "staff_id"]:
            for value in HOSTILE[:12]:
                response = client.get(f"/reports/{code}.csv", query_string={**args, name: value})
                found = set(customers_in("csv", response.data)) if response.status_code == 200 \
                    else set(CUSTOMER.findall(response.get_data(True)))
                assert found <= allowed
    assert set(HM_USERS) >= {"albers"}


NEXT_TARGETS = ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\x00/evil.example",
                "\t//evil.example", "/\\evil.example", "/x\\..\\\\evil.example", "//evil.example",
                "https://evil.example", "/\u2028/evil.example", "/reports\r\nSet-Cookie: a=b",
                "javascript:alert(1)", "/\x0b/evil.example"]


@pytest.mark.parametrize("target", NEXT_TARGETS)
def test_login_next_never_leaves_the_portal_nor_breaks_the_header(hm: HmPortal,
                                                                  target: str) -> None:
    """Browsers drop TAB/CR/LF inside URLs: ``/<TAB>/evil`` must not become ``//evil``."""
    from urllib.parse import urlsplit

    client = hm.client()
    token = csrf_of(client.get("/login", query_string={"next": target}))
    login = client.post("/login", query_string={"next": target},
                        data={"username": "albers", "password": PASSWORD, "csrf_token": token})
    again = client.get("/login", query_string={"next": target})  # already logged in
    for response in (login, again):
        assert response.status_code == 302, response.get_data(True)[-300:]
        location = response.headers["Location"]
        cleaned = "".join(ch for ch in location if ch not in "\t\r\n")
        parts = urlsplit(cleaned.replace("\\", "/"))
        assert not parts.scheme and not parts.netloc, location
        assert cleaned.startswith("/") and not cleaned.replace("\\", "/").startswith("//")
        assert "a=b" not in str(response.headers)
