"""The staff pages over HTTP: /opportunities (who sees which rows, the control group only
for analysts and admins, an outcome recorded in one click, once per form, with CSRF and
ownership checked), /opportunities/evaluation, /cases (visibility, moving a case on, the
life cycle's refusals on the page), /customers/{id} (the tier as `cvm value tiers
--customers` gives it, the programme balance, 404) and the Chinese labels.

One small demo company (800 customers) scored for 2024-11-30, its opportunities built and
its cases opened, with the east branch's queue shared by two staff (li.wei, wang.fang) whose
manager is zhao; sun manages the west branch (a queue without staff)."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from cvm.demo import DemoParams, build_demo
from cvm.opportunities import store as opp_store
from cvm.opportunities.rules import DEFAULT_RULES
from cvm.web import create_site

DAY = dt.date(2024, 11, 30)
PASSWORD = "correct horse"
EAST = "branch:east"
USERS = [("root", "admin", None), ("ana", "analyst", None), ("zhao", "manager", EAST),
         ("sun", "manager", "branch:west"), ("li.wei", "staff", EAST),
         ("wang.fang", "staff", EAST)]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("staff") / "ws"
    ws, _ = build_demo(path, DemoParams(customers=800))
    rules = DEFAULT_RULES.read_text(encoding="utf-8").replace(
        "[owners.staff]\n", f'[owners.staff]\n"{EAST}" = ["li.wei", "wang.fang"]\n', 1)
    (path / "opportunities.toml").write_text(rules, encoding="utf-8")
    ws.scoring.run(DAY)
    ws.opportunities.build(DAY)
    ws.cases.open(DAY)
    for name, role, team in USERS:
        ws.users.add(name, PASSWORD, role, team)
    return ws


@pytest.fixture(scope="module")
def app(ws):
    return create_site(ws)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def clients(app):
    """A logged-in test client per user (made on first use)."""
    made = {}

    def get(name: str) -> TestClient:
        if name not in made:
            c = TestClient(app, follow_redirects=False)
            form = c.get("/login")
            r = c.post("/login", data={"username": name, "password": PASSWORD,
                                       "csrf_token": csrf_of(form.text)})
            assert r.status_code == 303, r.text
            made[name] = c
        return made[name]

    return get


def row_ids(html: str, attr: str = "data-opportunity") -> list[str]:
    return re.findall(rf'<tr id="[^"]*" {attr}="([^"]+)"', html)


def all_opportunities(ws) -> pd.DataFrame:
    return ws.opportunities.list(DAY, include_control=True)


def mine(ws, owners, control=False) -> pd.DataFrame:
    df = all_opportunities(ws)
    return df[df["owner"].isin(owners) & (df["control"] == control)]


def outcomes_of(ws, opportunity_id: str) -> pd.DataFrame:
    df = opp_store.outcomes(ws.opportunities.store)
    return df[df["opportunity_id"] == opportunity_id]


def form_of(html: str, opportunity_id: str) -> dict[str, str]:
    """The hidden fields of one row's outcome form."""
    row = re.search(rf'<tr id="opp-{re.escape(opportunity_id)}".*?</tr>', html, re.S).group(0)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', row))


# -- who sees what ---------------------------------------------------------------------------
def test_the_fixture_gives_each_person_work_and_a_control_group(ws):
    df = all_opportunities(ws)
    for person in ("li.wei", "wang.fang"):
        assert len(mine(ws, [person])) >= 3, person
    # held back, yet owned by one of them
    assert len(mine(ws, ["li.wei", "wang.fang"], control=True)) >= 1
    assert not (df["owner"] == EAST).any()                 # the queue is shared out


def test_staff_see_their_own_list_and_never_the_control_group(ws, clients):
    held_back = set()
    for person in ("li.wei", "wang.fang"):
        html = clients(person).get("/opportunities").text
        shown = row_ids(html)
        expected = mine(ws, [person])
        assert shown == list(expected["opportunity_id"])       # highest priority first
        assert 'data-control="true"' not in html
        theirs = set(mine(ws, [person], control=True)["opportunity_id"])
        assert not theirs & set(shown)
        held_back |= theirs
        assert set(re.findall(r'data-owner="([^"]+)"', html)) == {person}
    assert held_back


def test_a_manager_sees_the_team_and_its_queue(ws, clients):
    shown = row_ids(clients("zhao").get("/opportunities").text)
    expected = mine(ws, [EAST, "li.wei", "wang.fang"])     # highest priority first
    assert shown == list(expected["opportunity_id"]) and len(expected) >= 6
    west = set(row_ids(clients("sun").get("/opportunities").text))
    assert west == set(mine(ws, ["branch:west"])["opportunity_id"]) and west


def test_analysts_and_admins_see_everyone_and_the_control_group_marked(ws, clients):
    df = all_opportunities(ws)
    for name in ("ana", "root"):
        html = clients(name).get(f"/opportunities?as_of={DAY}").text
        assert set(row_ids(html)) == set(df["opportunity_id"])
        marked = set(re.findall(r'data-opportunity="([^"]+)" data-owner="[^"]*" '
                                r'data-control="true"', html))
        assert marked == set(df.loc[df["control"], "opportunity_id"])
    # an analyst reads only: no outcome buttons
    assert 'name="outcome"' not in clients("ana").get("/opportunities").text
    assert 'name="outcome"' in clients("root").get("/opportunities").text


def test_a_long_list_shows_the_opportunities_of_highest_priority(ws, clients, monkeypatch):
    import cvm.web.routes.opportunities as page

    monkeypatch.setattr(page, "ROW_LIMIT", 5)
    df = all_opportunities(ws)
    html = clients("root").get("/opportunities?lang=en").text
    assert row_ids(html) == list(df["opportunity_id"][:5])
    assert "The 5 opportunities of highest priority" in html
    team = mine(ws, [EAST, "li.wei", "wang.fang"])
    assert row_ids(clients("zhao").get("/opportunities").text) == list(
        team["opportunity_id"][:5])
    theirs = df[df["owner"] == "branch:west"]
    html = clients("ana").get("/opportunities?owner=branch:west").text
    assert row_ids(html) == list(theirs["opportunity_id"][:5])


def test_the_list_of_one_customer_and_the_first_few(ws):
    df = all_opportunities(ws)
    customer = df["customer_id"].iloc[0]
    one = ws.opportunities.list(DAY, customer_id=customer)
    pd.testing.assert_frame_equal(one, df[df["customer_id"] == customer].reset_index(drop=True))
    assert ws.opportunities.list(DAY, customer_id="nobody").empty
    pd.testing.assert_frame_equal(ws.opportunities.list(DAY, limit=7), df.head(7))


def test_every_role_opens_the_three_pages_and_no_session_goes_to_the_login(ws, clients, app):
    customer = all_opportunities(ws)["customer_id"].iloc[0]
    for name, _, _ in USERS:
        for path in ("/opportunities", "/cases", f"/customers/{customer}", "/customers"):
            assert clients(name).get(path).status_code == 200, (name, path)
    anon = TestClient(app, follow_redirects=False)
    r = anon.get("/opportunities")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_the_evaluation_is_for_managers_analysts_and_admins(ws, clients):
    assert clients("li.wei").get("/opportunities/evaluation").status_code == 403
    html = clients("zhao").get("/opportunities/evaluation").text
    by_kind = ws.opportunities.evaluate().by_kind
    shown = re.findall(r'<tr data-kind="([^"]+)" data-as-of="([^"]+)">', html)
    assert sorted(shown) == sorted(zip(by_kind["kind"], by_kind["as_of"].astype(str),
                                       strict=True))
    assert f"pending until {DAY + dt.timedelta(days=90)}" in html


# -- recording an outcome ----------------------------------------------------------------------
def test_one_click_records_the_outcome_once_and_answers_the_row(ws, clients):
    c = clients("li.wei")
    html = c.get("/opportunities").text
    oid = mine(ws, ["li.wei"])["opportunity_id"].iloc[0]
    form = {**form_of(html, oid), "outcome": "accepted"}
    assert form["as_of"] == DAY.isoformat() and form["once"]
    r = c.post(f"/opportunities/{oid}/outcome", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.lstrip().startswith(f'<tr id="opp-{oid}"') and "<html" not in r.text
    assert re.search(r'data-field="outcome"[^>]*>accepted<', r.text)
    assert len(outcomes_of(ws, oid)) == 1
    listed = ws.opportunities.list(DAY, owner="li.wei").set_index("opportunity_id")
    assert listed.loc[oid, "outcome"] == "accepted"
    # the same form again (a double click) records nothing more
    again = c.post(f"/opportunities/{oid}/outcome", data=form, headers={"HX-Request": "true"})
    assert again.status_code == 200
    got = outcomes_of(ws, oid)
    assert len(got) == 1 and got["recorded_by"].tolist() == ["li.wei"]
    # the row it answered carries a new token: the next click is a new outcome
    fresh = {**form_of(r.text, oid), "outcome": "contacted"}
    assert fresh["once"] != form["once"]
    c.post(f"/opportunities/{oid}/outcome", data=fresh, headers={"HX-Request": "true"})
    assert outcomes_of(ws, oid)["outcome"].tolist() == ["accepted", "contacted"]


def test_declined_keeps_its_coded_reason_and_a_plain_post_goes_back_to_the_list(ws, clients):
    c = clients("wang.fang")
    html = c.get("/opportunities").text
    assert '<option value="price">' in html
    oid = mine(ws, ["wang.fang"])["opportunity_id"].iloc[1]
    r = c.post(f"/opportunities/{oid}/outcome",
               data={**form_of(html, oid), "outcome": "declined", "reason_code": "price"})
    assert r.status_code == 303 and r.headers["location"] == f"/opportunities?as_of={DAY}"
    got = outcomes_of(ws, oid)
    assert got[["outcome", "reason_code"]].values.tolist() == [["declined", "price"]]


def test_the_decline_reasons_offered_and_taken_are_the_settings(ws, clients):
    site = create_site(ws.with_settings(**{"web.decline_reasons": ["too_dear", "moving"]}))
    c = TestClient(site, follow_redirects=False)
    c.cookies = clients("li.wei").cookies
    html = c.get("/opportunities?lang=en").text
    assert re.findall(r'<option value="(\w+)">', html)[:2] == ["too_dear", "moving"]
    assert '<option value="price">' not in html
    oid = mine(ws, ["li.wei"])["opportunity_id"].iloc[4]
    form = {**form_of(html, oid), "outcome": "declined"}
    r = c.post(f"/opportunities/{oid}/outcome", data={**form, "reason_code": "price"})
    assert r.status_code == 422 and "web.decline_reasons" in r.text
    assert outcomes_of(ws, oid).empty
    r = c.post(f"/opportunities/{oid}/outcome", data={**form, "reason_code": "moving"})
    assert r.status_code == 303
    assert outcomes_of(ws, oid)["reason_code"].tolist() == ["moving"]


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_a_missing_or_wrong_csrf_token_is_refused_and_stores_nothing(ws, clients, token):
    c = clients("li.wei")
    html = c.get("/opportunities").text
    oid = mine(ws, ["li.wei"])["opportunity_id"].iloc[2]
    form = {**form_of(html, oid), "outcome": "contacted"}
    form.pop("csrf_token")
    if token is not None:
        form["csrf_token"] = token
    r = c.post(f"/opportunities/{oid}/outcome", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 403
    assert outcomes_of(ws, oid).empty
    # htmx shows the message above the list and leaves the row as it was
    assert (r.headers["HX-Retarget"], r.headers["HX-Reswap"]) == ("#flash", "innerHTML")
    assert "security token is missing or out of date" in r.text and "<html" not in r.text


def test_an_htmx_click_without_a_session_sends_the_page_to_the_login(ws, app):
    oid = mine(ws, ["li.wei"])["opportunity_id"].iloc[0]
    anon = TestClient(app, follow_redirects=False)
    r = anon.post(f"/opportunities/{oid}/outcome", data={"outcome": "accepted"},
                  headers={"HX-Request": "true",
                           "HX-Current-URL": f"http://testserver/opportunities?as_of={DAY}"})
    assert r.status_code == 204
    assert r.headers["HX-Redirect"] == f"/login?next=%2Fopportunities%3Fas_of%3D{DAY}"
    plain = anon.post(f"/opportunities/{oid}/outcome", data={"outcome": "accepted"})
    assert plain.status_code == 303 and plain.headers["location"].startswith("/login?next=")


def test_only_the_owner_their_manager_and_an_admin_record(ws, clients):
    theirs = mine(ws, ["wang.fang"])["opportunity_id"].iloc[3]
    html = clients("wang.fang").get("/opportunities").text
    form = {**form_of(html, theirs), "outcome": "no_answer"}
    for name in ("li.wei", "sun", "ana"):
        c = clients(name)
        r = c.post(f"/opportunities/{theirs}/outcome",
                   data={**form, "csrf_token": csrf_of(c.get("/opportunities").text)})
        assert r.status_code == 403, name
    assert outcomes_of(ws, theirs).empty
    for n, name in enumerate(("zhao", "root"), start=1):
        c = clients(name)
        r = c.post(f"/opportunities/{theirs}/outcome",
                   data={**form, "once": name, "csrf_token": csrf_of(c.get("/cases").text)})
        assert r.status_code == 303, name
        assert outcomes_of(ws, theirs)["recorded_by"].tolist()[-1] == name
        assert len(outcomes_of(ws, theirs)) == n


def test_a_control_opportunity_takes_no_outcome(ws, clients):
    held = mine(ws, ["li.wei", "wang.fang"], control=True)["opportunity_id"].iloc[0]
    c = clients("root")
    r = c.post(f"/opportunities/{held}/outcome",
               data={"csrf_token": csrf_of(c.get("/cases").text), "once": "x",
                     "outcome": "contacted", "as_of": str(DAY)})
    assert r.status_code == 422 and "control group" in r.text
    assert outcomes_of(ws, held).empty


# -- cases -------------------------------------------------------------------------------------
def waiting(ws, owner=None) -> pd.DataFrame:
    return ws.cases.list(owner, ["open", "in_progress", "reopened"])


def case_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="case-\d+" data-case="(\d+)"', html)]


def test_cases_each_sees_their_own_the_team_or_all(ws, clients):
    mine_ = waiting(ws, "li.wei")
    assert len(mine_) >= 1
    assert case_ids(clients("li.wei").get("/cases").text) == mine_["case_id"].tolist()
    team = waiting(ws)
    team = team[team["owner"].isin([EAST, "li.wei", "wang.fang"])]
    assert set(case_ids(clients("zhao").get("/cases").text)) == set(team["case_id"])
    assert set(case_ids(clients("ana").get("/cases").text)) == set(waiting(ws)["case_id"])
    overdue = ws.cases.list(overdue=True)
    assert set(case_ids(clients("root").get("/cases?show=overdue").text)) == set(
        overdue["case_id"])


def test_a_long_list_of_cases_shows_those_due_first(ws, clients, monkeypatch):
    import cvm.web.routes.cases as page

    monkeypatch.setattr(page, "ROW_LIMIT", 3)
    everyone = waiting(ws)
    html = clients("root").get("/cases?lang=en").text
    assert case_ids(html) == everyone["case_id"].tolist()[:3]
    assert f"{len(everyone)} cases; the 3 due first are shown" in html


def test_moving_a_case_on_with_and_without_a_root_cause(ws, clients):
    c = clients("li.wei")
    case = int(waiting(ws, "li.wei")["case_id"].iloc[0])
    token = csrf_of(c.get("/cases").text)
    r = c.post(f"/cases/{case}", data={"csrf_token": token, "status": "in_progress",
                                       "note": "called back"})
    assert r.status_code == 303 and r.headers["location"] == f"/cases?show=waiting&done={case}"
    assert ws.cases.list().set_index("case_id").loc[case, "status"] == "in_progress"
    # resolving without a root cause: refused, said on the page beside the case, not a 500
    r = c.post(f"/cases/{case}", data={"csrf_token": token, "status": "resolved",
                                       "action": "refunded the fee"})
    assert r.status_code == 422
    row = re.search(rf'<tr id="case-{case}".*?</tr>', r.text, re.S).group(0)
    assert "resolving needs a root cause" in row
    assert ws.cases.list().set_index("case_id").loc[case, "status"] == "in_progress"
    r = c.post(f"/cases/{case}", data={"csrf_token": token, "status": "resolved",
                                       "root_cause": "billing", "action": "refunded the fee"})
    assert r.status_code == 303
    got = ws.cases.list().set_index("case_id").loc[case]
    assert (got["status"], got["root_cause"], got["action_taken"]) == (
        "resolved", "billing", "refunded the fee")
    history = ws.cases.history(case)
    assert history["to_status"].tolist()[-2:] == ["in_progress", "resolved"]
    assert history["by"].tolist()[-1] == "li.wei"
    # a resolved case has left the waiting list
    assert case not in case_ids(c.get("/cases").text)


def test_a_case_is_moved_only_by_its_owner_or_team_with_the_token(ws, clients):
    case = int(waiting(ws, "wang.fang")["case_id"].iloc[0])
    for name in ("li.wei", "sun", "ana"):
        c = clients(name)
        r = c.post(f"/cases/{case}", data={"csrf_token": csrf_of(c.get("/cases").text),
                                           "status": "in_progress"})
        assert r.status_code == 403, name
    c = clients("wang.fang")
    assert c.post(f"/cases/{case}", data={"status": "in_progress"}).status_code == 403
    assert ws.cases.list().set_index("case_id").loc[case, "status"] == "open"
    z = clients("zhao")
    r = z.post(f"/cases/{case}", data={"csrf_token": csrf_of(z.get("/cases").text),
                                       "status": "in_progress"})
    assert r.status_code == 303
    assert ws.cases.history(case)["by"].tolist()[-1] == "zhao"


# -- one customer ------------------------------------------------------------------------------
def test_the_customer_page_shows_the_tier_of_cvm_value_tiers(ws, clients):
    tiers = ws.value.tiers(customers=True).to_pandas().set_index("customer_id")["tier"]
    c = clients("li.wei")
    for tier in ("vip", "small"):
        customer = tiers[tiers == tier].index[0]
        html = c.get(f"/customers/{customer}?lang=en").text
        assert re.search(rf'id="tier" data-tier="{tier}">'
                         rf'{"VIP" if tier == "vip" else tier}<', html)
    scores = ws.scoring.list(DAY).set_index("customer_id")
    customer = tiers[tiers == "vip"].index[0]
    html = c.get(f"/customers/{customer}").text
    clv = f'{scores.loc[customer, "revenue_potential"]:,.0f}'
    assert f'<div class="big" id="clv">{clv}</div>' in html
    row = re.search(r'<tr data-score="churn_probability">.*?</tr>', html, re.S).group(0)
    assert f'{scores.loc[customer, "churn_probability"]:.2f}' in row


def test_the_customer_page_lists_every_complaint_and_the_survey_answers(ws, clients):
    contacts = ws.table("interactions").to_pandas()
    answers = ws.table("survey_responses").to_pandas()
    complaints = contacts[(contacts["kind"] == "complaint")
                          & contacts["customer_id"].isin(answers["customer_id"])]
    counts = complaints["customer_id"].value_counts()
    customer = counts.index[0]          # the most complaints of those who answered a survey
    html = clients("li.wei").get(f"/customers/{customer}?lang=en").text
    assert f'id="complaints" data-count="{counts.iloc[0]}">' in html
    for table_id, df in (("interactions", contacts), ("answers", answers)):
        table = re.search(rf'<table id="{table_id}">.*?</table>', html, re.S).group(0)
        assert table.count("<tr") - 1 == min(int((df["customer_id"] == customer).sum()), 50)


def test_the_customer_page_shows_a_members_balance_and_404_for_nobody(ws, clients):
    customer = all_opportunities(ws)["customer_id"].iloc[0]
    c = clients("sun")
    assert "Not a member of the loyalty programme." in c.get(
        f"/customers/{customer}?lang=en").text
    ws.programme.create_member(customer)
    ws.programme.adjust(customer, 250, "welcome", actor="root")
    html = c.get(f"/customers/{customer}").text
    assert '<div class="big" id="points">250</div>' in html
    assert "welcome (by root)" in html
    # its opportunities and cases are listed
    theirs = all_opportunities(ws)
    theirs = theirs[(theirs["customer_id"] == customer) & ~theirs["control"]]
    assert set(re.findall(r'<tr data-opportunity="([^"]+)">', html)) == set(
        theirs["opportunity_id"])
    r = c.get("/customers/no-such-customer")
    assert r.status_code == 404 and "no customer 'no-such-customer'" in unescape(r.text)
    found = c.get(f"/customers?id={customer}")
    assert found.status_code == 303 and found.headers["location"] == f"/customers/{customer}"


# -- Chinese -----------------------------------------------------------------------------------
def test_zh_shows_the_pages_in_chinese(ws, clients):
    c = clients("li.wei")
    html = c.get("/opportunities?lang=zh").text
    assert "记录结果" in html and "record the outcome" not in html
    assert "挽留电话" in html or "交叉销售" in html
    assert ">已联系</button>" in html
    cases = c.get("/cases").text            # the language is remembered
    assert "推进处理" in cases and "move on" not in cases
    customer = all_opportunities(ws)["customer_id"].iloc[0]
    page = c.get(f"/customers/{customer}").text
    assert "价值等级" in page and "Value tier" not in page
    c.get("/opportunities?lang=en")
