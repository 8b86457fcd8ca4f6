"""The REST lists of work (GET /api/v1/opportunities and /cases) for a logged-in user of
the pages, by session cookie: staff their own, a manager their team's (the team queue and
its members), analysts all with the control group; API keys as before."""

from __future__ import annotations

import datetime as dt

import pytest

from cvm.demo import DemoParams, build_demo
from page_helpers import PASSWORD, client, login

DAY = dt.date(2024, 11, 30)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ws, _ = build_demo(tmp_path_factory.mktemp("rest") / "demo", DemoParams(customers=600))
    rules = ws.opportunities.write_rules()
    text = rules.read_text().replace(
        '# "branch:north" = ["li.wei", "wang.fang"]', '"branch:north" = ["li.wei", "wang.fang"]')
    rules.write_text(text)
    ws.scoring.run(DAY)
    ws.opportunities.build(DAY)
    ws.cases.open(DAY)
    for name, role, team in [("li.wei", "staff", "branch:north"),
                             ("wang.fang", "staff", "branch:north"),
                             ("boss", "manager", "branch:north"), ("ana", "analyst", None)]:
        ws.users.add(name, PASSWORD, role, team)
    return ws


def rows(c, path):
    r = c.get(path)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_user_reads_the_work_their_role_allows(site):
    every = site.opportunities.list(DAY)
    north = every[every["owner"].isin(["li.wei", "wang.fang"])]
    assert len(north[~north["control"]]) > 0 and set(north["owner"]) == {"li.wei", "wang.fang"}
    path = f"/api/v1/opportunities?as_of={DAY}"
    seen = {}
    for name in ("li.wei", "boss", "ana"):
        c = client(site)
        login(c, name)
        seen[name] = rows(c, path)
    mine = every[(every["owner"] == "li.wei") & ~every["control"]]
    assert sorted(r["opportunity_id"] for r in seen["li.wei"]) == sorted(
        mine["opportunity_id"])
    team = every[every["owner"].isin(["branch:north", "boss", "li.wei", "wang.fang"])
                 & ~every["control"]]
    assert sorted(r["opportunity_id"] for r in seen["boss"]) == sorted(team["opportunity_id"])
    assert len(seen["ana"]) == len(every) and any(r["control"] for r in seen["ana"])


def test_cases_by_session(site):
    every = site.cases.list()
    c = client(site)
    login(c, "ana")
    assert len(rows(c, "/api/v1/cases")) == len(every)
    c = client(site)
    login(c, "li.wei")
    assert [r["case_id"] for r in rows(c, "/api/v1/cases")] == list(
        every[every["owner"] == "li.wei"]["case_id"])


def test_no_session_or_an_ended_one_is_401(site):
    c = client(site)
    assert c.get(f"/api/v1/opportunities?as_of={DAY}").status_code == 401
    c.cookies.set("cvm_session", "made-up")
    r = c.get(f"/api/v1/opportunities?as_of={DAY}")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
