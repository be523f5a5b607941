"""Locust scenario for bench/http_load.py: 50 portal users (40 case managers, 6 team leads, 4
controlling).

Run through ``bench/http_load.py`` (it creates the accounts, starts the portal and passes
``OPAL_BENCH_ACCOUNTS``, a JSON file ``{"accounts": {"case_manager": [[name, password], ...],
...}, "months": ["2026-10", ...]}``).
Each simulated user logs in once (GET /login for the CSRF token, POST /login) with its own
account, then runs a mix of HTML lists with varying parameters, sorts and pages, and a few
downloads. Request names group by kind: ``HTML R02``, ``PDF R12``, ``login`` ...

Not imported by the project: locust lives in its own venv (bench/.venv-locust).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

import gevent  # type: ignore[import-not-found]
from locust import HttpUser, between, task  # type: ignore[import-not-found]

with open(os.environ["OPAL_BENCH_ACCOUNTS"], encoding="utf-8") as _file:
    _SETUP = json.load(_file)
ACCOUNTS: dict[str, list[list[str]]] = _SETUP["accounts"]
MONTHS: list[str] = _SETUP["months"]  # complete months before the data date, "YYYY-MM"
_NEXT = {role: itertools.count() for role in ACCOUNTS}
#: measure steady traffic: restart the statistics once every user is logged in (the logins,
#: argon2id, are deliberately slow), then stop after OPAL_BENCH_SECONDS
USERS = int(os.environ.get("OPAL_BENCH_USERS", "50"))
SECONDS = float(os.environ.get("OPAL_BENCH_SECONDS", "180"))
_logged_in = itertools.count(1)
RESULT = "<dt>Zeilen</dt>"  # on every page with a result (an empty list has no <table>)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
WAIT = (float(os.environ.get("OPAL_BENCH_WAIT_MIN", "0.5")),
        float(os.environ.get("OPAL_BENCH_WAIT_MAX", "2.5")))

LIST_PARAMS: dict[str, dict[str, list[str]]] = {
    "R02": {"n_days": ["30", "60", "90", "90", "180", "365"],
            "profile_group": ["", "", "A", "B", "C"]},
    "R03": {"lead_days": ["7", "14", "30", "30", "60", "90"]},
    "R06": {"threshold_days": ["365", "450", "548", "548", "637"]},
    "R08": {"period_days": ["30", "60", "90", "90", "180"], "min_count": ["1", "2", "2", "3"]},
}
LIST_SORTS = {"R02": ["name", "days_since_contact", "last_contact"], "R03": [], "R06": [],
              "R08": []}


class PortalUser(HttpUser):
    """One logged-in portal user; subclasses fix the role and the task mix."""

    abstract = True
    role = ""
    wait_time = between(*WAIT)

    def on_start(self) -> None:
        accounts = ACCOUNTS[self.role]
        name, password = accounts[next(_NEXT[self.role]) % len(accounts)]
        with self.client.get("/login", name="login form", catch_response=True) as page:
            found = CSRF.search(page.text or "")
            if page.status_code != 200 or not found:
                page.failure(f"login form: {page.status_code}")
                return
        with self.client.post("/login", name="login", allow_redirects=False, catch_response=True,
                              data={"username": name, "password": password,
                                    "csrf_token": found.group(1), "next": "/reports"}) as resp:
            if resp.status_code != 302 or "opal_session" not in resp.headers.get("Set-Cookie", ""):
                resp.failure(f"login as {name}: {resp.status_code}")
        if next(_logged_in) == USERS:
            runner = self.environment.runner
            runner.stats.reset_all()
            print(f"all {USERS} users logged in: statistics restarted, {SECONDS:.0f} s to go",
                  flush=True)
            gevent.spawn_later(SECONDS, runner.quit)

    def get(self, path: str, name: str, params: dict[str, str] | None = None,
            expect: str | None = None) -> None:
        """GET and count anything but a 200 (with ``expect`` in the body) as a failure."""
        with self.client.get(path, params=params, name=name, catch_response=True,
                             allow_redirects=False) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
            elif expect is not None and expect not in resp.text:
                resp.failure(f"{expect!r} not in the page")

    def list_params(self, code: str, *, html: bool) -> dict[str, str]:
        """Random but valid parameters; HTML sometimes sorts or turns the page."""
        params = {key: random.choice(values) for key, values in LIST_PARAMS[code].items()}
        if html and LIST_SORTS[code] and random.random() < 0.25:
            params["sort"] = random.choice(LIST_SORTS[code])
            params["desc"] = random.choice(["0", "1"])
        if html and random.random() < 0.15:
            params["page"] = "2"
        return params

    def html_list(self, code: str) -> None:
        self.get(f"/reports/{code}", f"HTML {code}", self.list_params(code, html=True),
                 expect=RESULT)

    def download(self, code: str, fmt: str, params: dict[str, str]) -> None:
        self.get(f"/reports/{code}.{fmt}", f"{fmt.upper()} {code}", params)


class CaseManager(PortalUser):
    """Mostly the own case load's lists, now and then a PDF, XLSX or CSV of one of them."""

    role = "case_manager"
    fixed_count = 40

    @task(3)
    def catalogue(self) -> None:
        self.get("/reports", "HTML catalogue", expect="R02")

    @task(12)
    def r02(self) -> None:
        self.html_list("R02")

    @task(8)
    def r03(self) -> None:
        self.html_list("R03")

    @task(6)
    def r06(self) -> None:
        self.html_list("R06")

    @task(6)
    def r08(self) -> None:
        self.html_list("R08")

    @task(2)
    def pdf(self) -> None:
        code = random.choice(["R02", "R03", "R06", "R08"])
        self.download(code, "pdf", self.list_params(code, html=False))

    @task(1)
    def xlsx(self) -> None:
        code = random.choice(["R02", "R08"])
        self.download(code, "xlsx", self.list_params(code, html=False))

    @task(1)
    def csv(self) -> None:
        self.download("R02", "csv", self.list_params("R02", html=False))


class TeamLead(PortalUser):
    """The team's lists (larger than one case load) and their PDFs."""

    role = "team_lead"
    fixed_count = 6

    @task(4)
    def r02(self) -> None:
        self.html_list("R02")

    @task(2)
    def r06(self) -> None:
        self.html_list("R06")

    @task(2)
    def r08(self) -> None:
        self.html_list("R08")

    @task(1)
    def pdf(self) -> None:
        self.download("R02", "pdf", self.list_params("R02", html=False))


class Controlling(PortalUser):
    """County-wide key figures R12-R14: HTML and PDF, for the latest and earlier months."""

    role = "controlling"
    fixed_count = 4

    def month(self) -> dict[str, str]:
        """Half the time the latest complete month (empty = default), else an earlier one."""
        return {"month": random.choice(MONTHS) if random.random() < 0.5 else ""}

    @task(3)
    def html(self) -> None:
        code = random.choice(["R12", "R13", "R14"])
        self.get(f"/reports/{code}", f"HTML {code}", self.month(),
                 expect=RESULT)

    @task(2)
    def pdf(self) -> None:
        code = random.choice(["R12", "R13", "R14"])
        self.download(code, "pdf", self.month())
