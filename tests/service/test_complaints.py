"""Complaint views hand-computed on a small company: rates per 1,000 customers and
transactions, categories, resolution within the standard, repeats within 30 days, churn
after a complaint against customers without one, moments of truth, silent
dissatisfaction; the command's views; the same tables from DuckDB and Spark."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import Settings, Workspace
from cvm.cli import app
from cvm.service.complaints import relative_risk

runner = CliRunner()
D = dt.date
AS_OF = "2024-06-30"
Z = 1.959963984540054

SETTINGS = {
    "service.standards": {
        "resolve": {"touchpoint": "all", "kinds": ["complaint"], "measure": "resolution",
                    "limit": "2d"},
        "call": {"touchpoint": "call_centre", "measure": "first_response", "limit": "1min"}},
    "service.complaint_standard": "resolve",
    "service.repeat_days": 30,
    "service.followup_days": 60,
}
CUSTOMERS = "customer_id,region\nA,north\nB,south\nC,north\nD,south\nE,north\nF,south\n"
CONTRACTS = """
customer_id,plan,start,end
A,basic,2024-01-01,2024-03-20
B,basic,2024-01-01,
C,basic,2024-01-01,2024-05-15
D,basic,2024-01-01,
"""
TRANSACTIONS = """
customer_id,timestamp,amount
A,2024-01-10,100
B,2024-01-15,50
B,2024-02-10,50
C,2024-02-20,30
E,2024-01-05,20
E,2024-02-25,20
F,2024-01-20,10
"""
# resolution times: c1 24h met, c2 120h breached (19 days after c1: a repeat), c3 never
# resolved (breached), c4 24h met (34 days after c3: not a repeat), c5 12h met, c6 72h
# breached (kind spelled Complaint), c7 24h met (exactly 30 days after c5: a repeat)
INTERACTIONS = """
interaction_id,customer_id,touchpoint,kind,opened_at,first_response_at,resolved_at,category
c1,A,branch,complaint,2024-02-01 10:00,2024-02-01 10:30,2024-02-02 10:00,billing
c2,A,branch,complaint,2024-02-20 10:00,2024-02-20 10:30,2024-02-25 10:00,billing
c3,B,web,complaint,2024-02-05 09:00,2024-02-05 09:10,,network
c4,B,web,complaint,2024-03-10 09:00,2024-03-10 09:10,2024-03-11 09:00,network
c5,E,branch,complaint,2024-02-10 12:00,2024-02-10 12:05,2024-02-11 00:00,product
c6,C,branch,Complaint,2024-03-01 08:00,2024-03-01 09:00,2024-03-04 08:00,billing
c7,E,branch,complaint,2024-03-11 12:00,2024-03-11 12:05,2024-03-12 12:00,product
n1,D,call_centre,inquiry,2024-02-15 10:00,2024-02-15 10:00:30,2024-02-15 10:10,account
n2,F,call_centre,inquiry,2024-02-12 10:00,2024-02-12 10:05,2024-02-12 10:10,account
"""
ITEMS = """
survey,item,construct,scale_min,scale_max
rel,nps,nps,0,10
rel,sat,satisfaction,1,5
"""
ANSWERS = """
respondent_id,customer_id,survey,item,answer,timestamp
R1,A,rel,nps,3,2024-02-10
R1,A,rel,sat,2,2024-02-10
R2,D,rel,nps,5,2024-02-20
R2,D,rel,sat,4,2024-02-20
R3,F,rel,nps,9,2024-02-20
R3,F,rel,sat,1,2024-02-20
R4,E,rel,nps,10,2024-03-01
R4,E,rel,sat,5,2024-03-01
R5,B,rel,nps,6,2024-01-20
R5,B,rel,sat,1,2024-01-20
R6,B,rel,nps,8,2024-04-01
R6,B,rel,sat,3,2024-04-01
"""


def build(path) -> Workspace:
    ws = Workspace.init(path, Settings().updated(**SETTINGS))
    for table, text in (("customers", CUSTOMERS), ("contracts", CONTRACTS),
                        ("transactions", TRANSACTIONS), ("interactions", INTERACTIONS),
                        ("survey_items", ITEMS), ("survey_responses", ANSWERS)):
        ws.import_file(table, write_csv(path.parent / f"{table}.csv", text))
    return ws


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return build(tmp_path_factory.mktemp("complaints") / "ws")


@pytest.fixture(scope="module")
def views(small):
    return small.service.complaints(as_of=AS_OF).tables


def by(table, key) -> dict:
    return {r[key]: r for r in table.to_pylist()}


def katz(a, n1, c, n0):
    """The relative risk's 95% interval on the log scale, written out (Katz et al. 1978)."""
    rr = (a / n1) / (c / n0)
    se = math.sqrt(1 / a - 1 / n1 + 1 / c - 1 / n0)
    return rr, rr * math.exp(-Z * se), rr * math.exp(Z * se)


def test_rates_per_1000_customers_and_transactions(views):
    r = by(views["rates"], "period_start")
    assert list(r) == [D(2024, m, 1) for m in range(2, 7)]  # from the first interaction
    got = {p: (x["customers"], x["transactions"], x["complaints"], x["complainants"])
           for p, x in r.items()}
    # active: contracts running, purchases, interactions; A's contract ends 03-20, C's 05-15
    assert got == {D(2024, 2, 1): (6, 3, 4, 3), D(2024, 3, 1): (5, 0, 3, 3),
                   D(2024, 4, 1): (3, 0, 0, 0), D(2024, 5, 1): (3, 0, 0, 0),
                   D(2024, 6, 1): (2, 0, 0, 0)}
    assert r[D(2024, 2, 1)]["per_1000_customers"] == pytest.approx(4000 / 6)
    assert r[D(2024, 2, 1)]["per_1000_transactions"] == pytest.approx(4000 / 3)
    assert r[D(2024, 3, 1)]["per_1000_customers"] == pytest.approx(600)
    assert r[D(2024, 3, 1)]["per_1000_transactions"] is None


def test_repeat_complaints_within_30_days(views):
    r = by(views["repeats"], "period_start")
    assert {p: (x["complaints"], x["complainants"], x["repeat_complaints"],
                x["repeat_customers"]) for p, x in r.items()} == {
        D(2024, 2, 1): (4, 3, 1, 1), D(2024, 3, 1): (3, 3, 1, 1)}  # c2; c7 at exactly 30 days
    assert r[D(2024, 2, 1)]["repeat_share"] == 0.25


def test_resolution_and_categories(views):
    r = by(views["resolution"], "period_start")
    feb, mar = r[D(2024, 2, 1)], r[D(2024, 3, 1)]
    assert (feb["complaints"], feb["resolved"], feb["unresolved"], feb["met"],
            feb["breached"], feb["pending"]) == (4, 3, 1, 2, 2, 0)
    assert (feb["median_hours"], feb["p90_hours"]) == (24, pytest.approx(24 + 0.8 * 96))
    assert feb["within_standard"] == 0.5 and feb["limit_hours"] == 48
    assert (mar["met"], mar["breached"], mar["median_hours"]) == (2, 1, 24)
    assert mar["p90_hours"] == pytest.approx(24 + 0.8 * 48)
    c = views["categories"].to_pylist()
    assert [(x["category"], x["complaints"], x["complainants"], x["repeats"], x["resolved"],
             x["median_hours"]) for x in c] == [
        ("billing", 3, 2, 1, 3, 72), ("network", 2, 1, 0, 1, 24), ("product", 2, 1, 1, 2, 18)]
    assert [x["within_standard"] for x in c] == pytest.approx([1 / 3, 1 / 2, 1])
    assert c[0]["share"] == pytest.approx(3 / 7)


def test_churn_after_a_complaint(views):
    r = by(views["churn"], "group")
    # from the first complaint, 60 days: A churns (contract ends 03-20); B, C, E stay;
    # without complaints D stays (open contract), F buys nothing after 02-12: churned
    assert {g: (x["customers"], x["churned"]) for g, x in r.items()} == {
        "complaint, resolved within standard": (2, 1),  # A (c1 met), E
        "complaint, not resolved within standard": (2, 0),  # B (c3), C (c6)
        "complaint": (4, 1), "no complaint": (2, 1)}
    rr = r["complaint"]
    assert (rr["relative_risk"], rr["rr_ci_low"], rr["rr_ci_high"]) == pytest.approx(
        katz(1, 4, 1, 2))
    assert r["complaint, resolved within standard"]["relative_risk"] == pytest.approx(1.0)
    assert r["complaint, not resolved within standard"]["relative_risk"] == 0
    assert r["complaint, not resolved within standard"]["rr_ci_low"] is None  # no events
    assert r["no complaint"]["relative_risk"] is None


def test_moments_of_truth_ranked(views):
    m = views["moments"].to_pylist()
    churn = [(x["rank"], x["moment"], x["name"], x["customers"], x["events"],
              x["reference_customers"]) for x in m if x["outcome"] == "churn"]
    assert churn == [(1, "complaint", "billing", 2, 1, 2),  # A churns after c1; C stays
                     (2, "complaint", "network", 1, 0, 2), (3, "complaint", "product", 1, 0, 2),
                     (4, "breach", "call", 1, 1, 1),  # F, against D
                     (5, "breach", "resolve", 3, 1, 1)]  # A (c2), B, C against E
    det = [(x["rank"], x["name"], x["customers"], x["events"], x["reference_customers"],
            x["relative_risk"]) for x in m if x["outcome"] == "detractor"]
    assert det[:4] == [(1, "billing", 1, 1, 2, 2.0),  # A answers 3; D 5 and F 9 without
                       (2, "call", 1, 0, 1, 0.0), (3, "network", 1, 0, 2, 0.0),
                       (4, "product", 1, 0, 2, 0.0)]
    assert det[4][:4] == (5, "resolve", 1, 0)  # B answers 8 after c3; A and C not after


def test_silent_dissatisfaction(views):
    s = by(views["silent"], "group")
    # latest answers: A 3 / 2 of 1-5, B 8 / 3, D 5 / 4, E 10 / 5, F 9 / 1; A complained
    assert {g: (x["respondents"], x["unhappy"], x["complained"], x["silent"])
            for g, x in s.items()} == {"detractor": (5, 2, 1, 1), "dissatisfied": (5, 2, 1, 1),
                                       "detractor or dissatisfied": (5, 3, 1, 2)}
    either = s["detractor or dissatisfied"]
    assert either["silent_share"] == pytest.approx(2 / 3)
    assert either["silent_per_complainer"] == 2
    assert either["customers"] == 6 and either["estimated_silent"] == pytest.approx(6 * 2 / 5)


def test_relative_risk_against_the_formula():
    assert relative_risk(12, 40, 5, 50) == pytest.approx(katz(12, 40, 5, 50))
    assert math.isnan(relative_risk(3, 10, 0, 10)[0])


def test_the_command(small):
    res = runner.invoke(app, ["service", "complaints", "-w", str(small.path), "--as-of", AS_OF,
                              "--view", "repeats", "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert [r["repeat_complaints"] for r in json.loads(res.output)] == [1, 1]
    res = runner.invoke(app, ["service", "complaints", "-w", str(small.path), "--as-of", AS_OF,
                              "--format", "json"], catch_exceptions=False)
    assert set(json.loads(res.output)) == {"rates", "categories", "resolution", "repeats",
                                           "churn", "moments", "silent"}
    res = runner.invoke(app, ["service", "complaints", "-w", str(small.path), "--format", "csv"])
    assert res.exit_code == 2 and "choose it with --view" in res.output
    res = runner.invoke(app, ["service", "complaints", "-w", str(small.path), "--as-of", AS_OF,
                              "--view", "rates", "--period", "quarter", "--format", "csv"])
    assert res.output.splitlines()[1].startswith("2024-01-01,6,7,7,4,")


@pytest.mark.slow
def test_same_tables_on_duckdb_and_spark(small, engine):
    """Complaint views, compliance on an elapsed and a business clock, and breaches."""
    business = {**SETTINGS, "service.clocks": {"office": {"hours": "09:00-17:00",
                                                          "holidays": ["2024-02-12"]}},
                "service.standards": {**SETTINGS["service.standards"], "branch": {
                    "touchpoint": "branch", "measure": "first_response", "limit": "20min",
                    "clock": "office"}}}
    ref = small.with_settings(**business)
    ws = ref.with_settings(engine=engine)

    def tables(w):
        out = dict(w.service.complaints(as_of=AS_OF).tables)
        out["compliance"] = w.service.compliance(AS_OF, by=["month", "region"])
        out["breaches"] = w.service.breaches(AS_OF)
        return out

    got, want = tables(ws), tables(ref)
    for name, table in want.items():
        a, b = got[name].to_pandas(), table.to_pandas()
        assert len(b) > 0, name
        pd.testing.assert_frame_equal(a, b, obj=name)
    # 20 minutes on 09:00-17:00 weekdays: c1, c2 answered after 30 minutes (breached); c5 on
    # a Saturday and c6 before opening take no open time; c7 5 minutes (met)
    branch = {(r["period_start"], r["region"]): (r["n"], r["met"], r["breached"], r["pending"])
              for r in got["compliance"].to_pylist() if r["standard"] == "branch"}
    assert branch == {(D(2024, 2, 1), "north"): (3, 1, 2, 0),
                      (D(2024, 3, 1), "north"): (2, 2, 0, 0)}
