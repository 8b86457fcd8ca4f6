"""The analytics pages (/clv, /loyalty, /retention, /service, /programme) on one small demo
workspace with a monthly scoring run: who may open them, and numbers on each page equal to
what the facades give for the same workspace, formatted as the page formats them."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from conftest import write_csv
from cvm.cases.lifecycle import OPEN_STATUSES
from cvm.demo import DemoParams, build_demo
from cvm.i18n import catalogue
from cvm.web import create_site
from cvm.web.render import fmt_number, fmt_percent
from cvm.web.routes.clv import histogram, split
from cvm.web.routes.programme import members_by_tier
from cvm.web.routes.service import duration

DAY = dt.date(2024, 11, 30)
PASSWORD = "correct horse"
PAGES = ["/clv", "/loyalty", "/retention", "/service", "/programme"]
ROLES = {"admin": "root", "manager": "boss", "analyst": "ana", "staff": "li.wei"}
#: the stored satisfaction index the fixture saves (two constructs, three respondents)
INDEX = {"Satisfaction": [60.0, 70.0, 80.0], "Loyalty": [50.0, 50.0, 80.0]}


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _client(ws, username: str) -> TestClient:
    c = TestClient(create_site(ws), follow_redirects=False)
    r = c.post("/login", data={"username": username, "password": PASSWORD,
                               "csrf_token": _csrf(c.get("/login").text)})
    assert r.status_code == 303
    return c


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    ws, _ = build_demo(tmp_path_factory.mktemp("demo") / "ws", DemoParams(customers=800))
    ws.scoring.run(DAY)
    for role, name in [*ROLES.items(), ("analyst", "wang")]:
        ws.users.add(name, PASSWORD, role)
    clients = {name: _client(ws, name) for name in [*ROLES.values(), "wang"]}
    before = {p: clients["ana"].get(p).text for p in ("/programme", "/loyalty")}
    ws.save_result("satisfaction_index", pa.table({
        "survey": ["relationship"] * 3, "respondent_id": ["r1", "r2", "r3"],
        "customer_id": ["000001", "000002", "000003"], **INDEX}))
    ws.programme.init(demo=True, members=60)
    ws.cases.open(DAY)
    return ws, clients, before


def _row(html: str, table: str, attr: str, key: str) -> str:
    """The inner HTML of the row of ``table`` whose ``data-<attr>`` is ``key``."""
    body = re.search(rf'<table id="{table}">(.*?)</table>', html, re.S).group(1)
    return re.search(rf'<tr data-{attr}="{re.escape(key)}"[^>]*>(.*?)</tr>', body, re.S).group(1)


def _field(row: str, field: str) -> str:
    return re.search(rf'data-field="{field}">([^<]*)<', row).group(1)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", list(ROLES))
def test_analysts_managers_and_admins_open_the_pages_and_staff_may_not(site, page, role):
    _, clients, _ = site
    r = clients[ROLES[role]].get(page)
    assert r.status_code == (403 if role == "staff" else 200)


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_are_in_the_navigation_of_analysts_only(site, page):
    _, clients, _ = site
    assert f'href="{page}"' in clients["ana"].get("/clv").text
    assert f'href="{page}"' not in clients["li.wei"].get("/").text


@pytest.mark.parametrize("page, heading", [
    ("/clv", "客户终身价值"), ("/loyalty", "忠诚度与满意度"), ("/retention", "客户保持"),
    ("/service", "服务"), ("/programme", "会员计划")])
def test_each_page_renders_in_chinese(site, page, heading):
    _, clients, _ = site
    r = clients["wang"].get(page + "?lang=zh")
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in r.text
    assert f"<h1>{heading}" in r.text


def test_clv_total_and_tiers_are_the_stored_scores(site):
    ws, clients, _ = site
    scores = ws.scoring.list(DAY)
    html = clients["ana"].get("/clv").text
    clv = scores["revenue_potential"]
    assert f'id="clv-total">{fmt_number(clv.sum(), "en")}<' in html
    assert f'id="clv-customers">{fmt_number(clv.notna().sum(), "en")}<' in html
    for tier in ("vip", "small"):
        row = _row(html, "by-tier", "group", tier)
        want = clv[scores["value_tier"] == tier].sum()
        assert _field(row, "total") == fmt_number(want, "en")
    assert "<td>VIP</td>" in _row(html, "by-tier", "group", "vip")
    notes = ws.scoring.notes(DAY)
    assert len(re.findall(r"<tr data-score=", html)) == len(notes)
    assert "customers without a purchase are blank" in _row(html, "notes", "score",
                                                            "revenue_potential")
    checks = json.loads(notes.set_index("score").loc["propensity_aurora", "checks"])
    assert f"auc_model {fmt_number(checks['auc_model'], 'en', 3)}" in _row(
        html, "notes", "score", "propensity_aurora")


def test_clv_by_relationship_type_adds_up_to_the_total(site):
    ws, clients, _ = site
    html = clients["ana"].get("/clv").text
    body = re.search(r'<table id="by-relationship_type">(.*?)</table>', html, re.S).group(1)
    groups = re.findall(r'data-group="([^"]+)"', body)
    assert sorted(groups) == ["business", "channel", "consumer", "internal"]


def test_loyalty_nps_classes_and_stored_index(site):
    ws, clients, before = site
    html = clients["ana"].get("/loyalty").text
    overall = ws.survey.nps(min_n=0).iloc[0]
    assert f'id="nps-overall">{fmt_number(overall["nps"], "en", 1)}<' in html
    trend = ws.survey.nps(month=True, min_n=0).set_index("month")
    row = _row(html, "nps-trend", "month", "2024-11")
    assert _field(row, "nps") == fmt_number(trend.loc["2024-11", "nps"], "en", 1)
    assert 'data-month="2024-12"' not in html            # after the month shown
    groups = ws.survey.nps("segment", min_n=0).set_index("group")
    for segment, r in groups.iterrows():
        assert _field(_row(html, "nps-groups", "group", segment), "nps") == \
            fmt_number(r["nps"], "en", 1)
    # the trend per segment, up to the month shown: the facade's values in the figure
    figures = [json.loads(b) for b in re.findall(
        r'<script type="application/json" class="plot-data">(.*?)</script>', html, re.S)]
    traces = {t["name"]: t for t in figures[2]["data"]}
    assert sorted(traces) == sorted(groups.index)
    monthly = ws.survey.nps("segment", month=True, min_n=0)
    want = monthly[(monthly["group"] == "postpaid") & (monthly["month"] <= "2024-11")]
    assert traces["postpaid"]["x"] == list(want["month"])
    assert traces["postpaid"]["y"] == pytest.approx(list(want["nps"]))
    classes = ws.scoring.list(DAY)["loyalty_class"].value_counts()
    for name, n in classes.items():
        assert _field(_row(html, "loyalty-classes", "class", name), "customers") == \
            fmt_number(n, "en")
    # the stored index is shown, with no fit; before it was stored the page said how
    body = re.search(r'<table id="satisfaction-index">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"<td>(\w+)</td><td class=\"num\">([^<]+)<", body) == [
        ("Satisfaction", "70.0"), ("Loyalty", "60.0")]
    assert "cvm survey index --workspace DIR --save" in before["/loyalty"]
    assert 'id="satisfaction-index"' not in before["/loyalty"]


def test_loyalty_by_tier_orders_the_tiers(site):
    _, clients, _ = site
    html = clients["ana"].get("/loyalty?by=tier").text
    body = re.search(r'<table id="nps-groups">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r'data-group="([^"]+)"', body) == ["vip", "major", "ordinary", "small"]


def test_retention_reasons_and_survival_are_the_facades(site):
    ws, clients, _ = site
    html = clients["boss"].get("/retention").text
    summary = ws.churn.reasons(as_of=DAY).summary.to_pandas()
    for _, r in summary.iterrows():
        row = _row(html, "reasons", "reason", r["reason"])
        assert _field(row, "churned") == fmt_number(r["churned"], "en")
    ours = _row(html, "reasons", "reason", "active_our_fault")
    assert ">service recovery call<" in ours  # the response code shown as words
    median = ws.churn.survival(as_of=DAY).summary["median_tenure"].iloc[0]
    assert f'data-field="median">{fmt_number(median, "en", 1)}<' in html
    assert html.count('class="plot-data"') == 4     # rates, cohorts, survival, reasons


def test_service_compliance_breaches_and_cases_are_the_facades(site):
    ws, clients, _ = site
    html = clients["ana"].get("/service").text
    compliance = ws.service.compliance(DAY).to_pandas().set_index("standard")
    for standard, r in compliance.iterrows():
        row = _row(html, "compliance", "standard", standard)
        assert _field(row, "compliance") == fmt_percent(r["compliance"], "en")
    assert 'data-touchpoint="call_centre"' in html
    breaches = ws.service.breaches(DAY).to_pandas()
    in_month = breaches[pd.to_datetime(breaches["opened_at"]) >= pd.Timestamp("2024-11-01")]
    assert f'id="breaches-month">{fmt_number(len(in_month), "en")}<' in html
    assert f"{fmt_number(len(breaches), 'en')} in all" in html
    since = ws.service.breaches(DAY, since=dt.date(2024, 11, 1)).to_pandas()
    assert 0 < len(since) < len(breaches)
    assert sorted(since["interaction_id"] + since["standard"]) == sorted(
        in_month["interaction_id"] + in_month["standard"])
    cases = ws.cases.list(status=list(OPEN_STATUSES))
    assert len(cases) > 0
    assert f'id="cases-open">{fmt_number(len(cases), "en")}<' in html
    assert f'id="cases-overdue">{fmt_number(cases["overdue"].sum(), "en")}<' in html


def test_programme_members_by_tier_are_the_facades(site):
    ws, clients, before = site
    html = clients["ana"].get("/programme").text
    counts = Counter(m["tier"] for m in ws.programme.tier_progress())
    assert f'id="members">{fmt_number(sum(counts.values()), "en")}<' in html
    for t in ws.programme.tiers():
        row = _row(html, "tiers", "tier", t["code"])
        assert _field(row, "members") == fmt_number(counts.get(t["code"], 0), "en")
    assert _field(_row(html, "tiers", "tier", ""), "members") == fmt_number(counts[None], "en")
    points = sum(r["points"] for r in ws.programme.liability())
    assert f'id="points">{fmt_number(points, "en")}<' in html
    assert "fuelco" in html
    # before the programme was set up, the page said so and how to set it up
    assert "no loyalty programme yet" in before["/programme"]
    assert "cvm programme init --demo" in before["/programme"]


def test_split_histogram_tiers_and_durations_by_hand():
    clv = pd.Series([10.0, 30.0, 60.0, 100.0], index=list("abcd"))
    groups = pd.Series({"a": "small", "b": "small", "c": "vip"})
    rows = split(clv, groups, ("vip", "major", "ordinary", "small"))
    assert [(r["group"], r["customers"], r["total"], r["share"], r["median"]) for r in rows] == [
        ("vip", 1, 60.0, 0.3, 60.0), ("small", 2, 40.0, 0.2, 20.0),
        ("unknown", 1, 100.0, 0.5, 100.0)]
    h = histogram(pd.Series(range(101), dtype=float))     # 99th percentile 99
    assert h["top"] == 99.0 and sum(h["counts"]) == 101 and h["counts"][-1] == 5
    tiers = [{"code": "gold", "name": "Gold", "rank": 2},
             {"code": "silver", "name": "Silver", "rank": 1}]
    counts = {"gold": 1, None: 2, "silver": 1}
    assert [(r["tier"], r["members"], r["share"]) for r in members_by_tier(tiers, counts)] \
        == [(None, 2, 0.5), ("silver", 1, 0.25), ("gold", 1, 0.25)]
    assert [duration(s, "en") for s in (15, 300, 7200, 172800, 90000)] == [
        "15 s", "5.0 min", "2.0 h", "2.0 d", "1.0 d"]
    assert duration(172800, "zh-CN") == "2.0 天"


def test_labels_the_pages_look_up_from_data_have_chinese():
    labels = {"computed", "absent", "partial", "unknown", "loyal", "general", "drifting",
              "cognitive", "affective", "conative", "action", "none", "segment", "region",
              "touchpoint", "relationship_type", "tier", "active_natural",
              "active_competitive", "active_our_fault", "passive_non_malicious",
              "passive_retaliatory", "graceful_exit", "retention_offer",
              "service_recovery_call", "reminder_sequence_and_easy_payment",
              "dispute_resolution", "retention", "service", "billing", "detractor",
              "complaint", "breach", "low_satisfaction", "call_centre", "web", "on_site",
              "all"}
    zh = catalogue("zh-CN")
    assert sorted(m for m in labels if m not in zh) == []


def test_viewing_the_pages_stores_nothing_and_fits_no_model(site):
    ws, clients, _ = site
    manifest = ws.warehouse.manifest()
    models = sorted(p.name for p in (ws.path / "models").glob("*")) \
        if (ws.path / "models").exists() else []
    for page in PAGES:
        assert clients["root"].get(page + "?as_of=2024-11-30").status_code == 200
    assert ws.warehouse.manifest() == manifest
    assert (sorted(p.name for p in (ws.path / "models").glob("*"))
            if (ws.path / "models").exists() else []) == models


def test_a_month_without_a_stored_run_says_how_to_store_it(site):
    _, clients, _ = site
    assert 'id="months"' not in clients["ana"].get("/clv").text   # one run: no month links
    r = clients["ana"].get("/clv?as_of=2024-10-31")
    assert r.status_code == 200
    assert "cvm score run --as-of 2024-10-31" in r.text
    assert 'id="clv-total"' not in r.text


def test_scores_listed_by_name_are_those_of_the_whole_list(site):
    ws, _, _ = site
    full = ws.scoring.list(DAY).set_index("customer_id")
    part = ws.scoring.list(DAY, ["loyalty", "value_tier"]).set_index("customer_id")
    assert list(part.columns) == ["value_tier", "loyalty", "loyalty_class"]
    assert len(part) == len(full) == 800                 # every customer has a value tier
    pd.testing.assert_frame_equal(part, full[list(part.columns)])
    assert len(ws.scoring.history(DAY, ["revenue_potential"])) == \
        int(full["revenue_potential"].notna().sum())



def test_a_workspace_with_only_customers_and_purchases_gets_each_page_saying_what_is_missing(
        ws, tmp_path):
    write_csv(tmp_path / "c.csv", "customer_id,relationship_type\na,business\nb,consumer\n")
    write_csv(tmp_path / "t.csv", "customer_id,timestamp,amount\na,2024-10-01 10:00,100\n"
              "b,2024-10-02 10:00,20\n")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws.users.add("ana", PASSWORD, "analyst")
    c = _client(ws, "ana")
    said = {
        "/clv": "cvm score run --as-of YYYY-MM-DD",
        "/loyalty": "cvm survey index --workspace DIR --save",
        "/service": "no service interactions imported yet",
        "/programme": "cvm programme init --demo",
    }
    for page in PAGES:
        r = c.get(page)
        assert r.status_code == 200, page
        if page in said:
            assert said[page] in r.text, page
    retention = c.get("/retention").text
    assert "No complete month to measure yet." in retention
    assert retention.count("no contracts imported") == 2          # survival, reasons


def test_warm_prepares_each_page_under_the_key_the_page_reads(site, monkeypatch):
    """After `cvm.web.warm.warm`, the pages are served without computing again: each
    page's computation, replaced by one that fails, is not called."""
    from cvm.web import warm as warming
    from cvm.web.cache import _kept
    from cvm.web.routes import clv, loyalty, retention, service, value

    ws, clients, _ = site
    _kept.clear()
    assert warming.warm(ws) == ["value", "customers", "service", "loyalty", "retention",
                                "clv"]

    def boom(*_a, **_k):
        raise AssertionError("computed again")

    for module, name in [(value, "_value"), (service, "_service"), (loyalty, "_loyalty"),
                         (loyalty, "_groups"), (retention, "_retention"), (clv, "_clv")]:
        monkeypatch.setattr(module, name, boom)
    some = ws.value.customer_tiers().limit(1).to_pyarrow().column("customer_id")[0].as_py()
    monkeypatch.setattr(ws.value, "tiers", boom)  # what customers.tiers_of computes
    for path in ("/value", "/service", "/loyalty", "/retention", "/clv",
                 f"/customers/{some}"):
        assert clients["boss"].get(path).status_code == 200, path


def test_memo_makes_a_key_once_while_others_wait(tmp_path):
    import threading
    import time

    from cvm.web.cache import memo

    class Ws:  # what memo reads of a workspace: its path and warehouse folder
        path = tmp_path
        warehouse = type("W", (), {"dir": tmp_path})()

    calls = []

    def make():
        calls.append(1)
        time.sleep(0.2)
        return len(calls)

    got = []
    threads = [threading.Thread(target=lambda: got.append(memo(Ws, ("k",), make)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1] and got == [1, 1, 1, 1]
