"""Retention views of a workspace and ``cvm retention``: hand-computed on a small company,
properties on the demo company, the same tables from DuckDB and Spark."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm._time import DAYS_PER_MONTH
from cvm.churn.cohorts import customer_tenure
from cvm.churn.history import training_frame
from cvm.churn.retention import (
    as_of_date,
    churn_reasons,
    cohort_matrix,
    cohort_table,
    customer_groups,
    retention_rates,
    survival_by,
)
from cvm.churn.survival import cox
from cvm.cli import app
from cvm.demo import DemoParams, build_demo
from cvm.errors import InputError

D = dt.date
AS_OF = D(2024, 4, 30)
runner = CliRunner()

# Relationship spans (first start .. last end):
#   A consumer  2024-01-10 .. 2024-03-05 (active_competitive)
#   B business  2024-01-20 .. open (a second contract, another plan, from 2024-03-01:
#               contracts of one customer and plan may not overlap)
#   C consumer  2024-02-01 .. 2024-02-29 ("arrears": passive_non_malicious)
#   D consumer  2024-02-15 .. 2024-05-31 (no reason recorded)
#   F consumer  no contract: a non-contractual buyer
CUSTOMERS = """
customer_id,relationship_type,region
A,consumer,north
B,business,south
C,consumer,south
D,consumer,north
F,consumer,north
"""
CONTRACTS = """
contract_id,customer_id,plan,start,end,end_reason
c1,A,basic,2024-01-10,2024-03-05,active_competitive
c2,B,plus,2024-01-20,,
c3,C,basic,2024-02-01,2024-02-29,arrears
c4,D,plus,2024-02-15,2024-05-31,
c5,B,addon,2024-03-01,,
"""
TRANSACTIONS = """
customer_id,timestamp,amount
A,2024-01-15,10
A,2024-02-15,10
A,2024-03-01 09:00,5
B,2024-01-25,20
B,2024-01-28,20
B,2024-04-10,30
C,2024-02-02,7
D,2024-02-20,15
D,2024-03-20,15
D,2024-04-20,15
F,2024-01-05,3
F,2024-02-07,4
F,2024-04-02,6
F,2024-04-25,6
"""


def _small(root):
    from cvm import Workspace

    ws = Workspace.init(root / "small")
    for table, text in (("customers", CUSTOMERS), ("contracts", CONTRACTS),
                        ("transactions", TRANSACTIONS)):
        ws.import_file(table, write_csv(root / f"{table}.csv", text))
    return ws


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _small(tmp_path_factory.mktemp("small"))


def _tuples(table: pa.Table, cols) -> list[tuple]:
    return [tuple(r[c] for c in cols) for r in table.to_pylist()]


def test_default_as_of_is_the_latest_known_day(small):
    # latest transaction 2024-04-25, latest start 2024-03-01, latest end 2024-05-31 (D):
    # D's end is the latest event
    assert as_of_date(small) == D(2024, 5, 31)
    assert as_of_date(small, "2024-04-30") == AS_OF


def test_retention_rates_by_hand(small):
    got = retention_rates(small, as_of=AS_OF)
    cols = ["basis", "group", "period_start", "active_start", "retained", "churned", "new",
            "retention_rate"]
    # contracts: Jan nobody covers 01-01 (new A, B); Feb A, B, C cover 02-01, A, B still
    # on 03-01 (new C, D); Mar A, B, D -> B, D (A ended 03-05); Apr B, D -> B, D.
    # purchases, F only (no contract): Jan -> Feb again: 1/1; Feb -> Mar no: 0/1;
    # F did not buy in March; April is the last month with purchases (next unseen).
    c, p = "contract", "purchase"
    assert _tuples(got, cols) == [
        (c, "all", D(2024, 1, 1), 0, 0, 0, 2, None),
        (c, "all", D(2024, 2, 1), 3, 2, 1, 2, pytest.approx(2 / 3)),
        (c, "all", D(2024, 3, 1), 3, 2, 1, 0, pytest.approx(2 / 3)),
        (c, "all", D(2024, 4, 1), 2, 2, 0, 0, 1.0),
        (p, "all", D(2024, 1, 1), 1, 1, 0, None, 1.0),
        (p, "all", D(2024, 2, 1), 1, 0, 1, None, 0.0),
    ]


def test_retention_rates_by_group_by_hand(small):
    got = retention_rates(small, as_of=AS_OF, by="relationship_type")
    cols = ["basis", "group", "period_start", "active_start", "retained", "churned", "new"]
    # business {B}: new in Jan, then active and retained every month.
    # consumer {A, C, D}: Jan new A; Feb A, C cover 02-01, A still on 03-01, new C, D;
    # Mar A, D -> D; Apr D -> D (its end 05-31 is after as_of). F: purchases.
    c = "contract"
    assert _tuples(got, cols) == [
        (c, "business", D(2024, 1, 1), 0, 0, 0, 1),
        (c, "business", D(2024, 2, 1), 1, 1, 0, 0),
        (c, "business", D(2024, 3, 1), 1, 1, 0, 0),
        (c, "business", D(2024, 4, 1), 1, 1, 0, 0),
        (c, "consumer", D(2024, 1, 1), 0, 0, 0, 1),
        (c, "consumer", D(2024, 2, 1), 2, 1, 1, 2),
        (c, "consumer", D(2024, 3, 1), 2, 1, 1, 0),
        (c, "consumer", D(2024, 4, 1), 1, 1, 0, 0),
        ("purchase", "consumer", D(2024, 1, 1), 1, 1, 0, None),
        ("purchase", "consumer", D(2024, 2, 1), 1, 0, 1, None),
    ]
    # plan of the latest contract: A, C basic; B addon; D plus
    by_plan = retention_rates(small, as_of=AS_OF, by="plan").to_pandas()
    feb = by_plan[(by_plan.basis == "contract") & (by_plan.period_start == D(2024, 2, 1))]
    assert feb.set_index("group")[["active_start", "retained"]].to_dict("index") == {
        "basic": {"active_start": 2, "retained": 1}, "addon": {"active_start": 1, "retained": 1},
        "plus": {"active_start": 0, "retained": 0}}  # D starts mid-February


def test_cohort_table_by_hand(small):
    got = cohort_table(small, as_of=AS_OF)
    # Jan cohort {A, B}: on 01-31, 02-29 both; 03-31, 04-30 only B. Feb {C, D}: 02-29 C (its
    # last day) and D; then D. Revenue of the cohort in month cohort + k (F is no cohort
    # member: no contract): Jan 10 + 40, A 10, A 5, B 30; Feb 7 + 15, 15, 15.
    jan, feb = D(2024, 1, 1), D(2024, 2, 1)
    assert _tuples(got, ["cohort", "k", "customers", "active", "rate", "revenue"]) == [
        (jan, 0, 2, 2, 1.0, 50.0), (jan, 1, 2, 2, 1.0, 10.0), (jan, 2, 2, 1, 0.5, 5.0),
        (jan, 3, 2, 1, 0.5, 30.0),
        (feb, 0, 2, 2, 1.0, 22.0), (feb, 1, 2, 1, 0.5, 15.0), (feb, 2, 2, 1, 0.5, 15.0)]
    m = cohort_matrix(got, "active")
    assert m.column_names == ["cohort", "customers", "k0", "k1", "k2", "k3"]
    assert m.to_pylist()[1] == {"cohort": feb, "customers": 2, "k0": 2.0, "k1": 1.0,
                                "k2": 1.0, "k3": None}


def test_survival_by_group_by_hand(small):
    s = survival_by(small, "relationship_type", as_of=AS_OF, unit="days")
    # tenure in days to 04-30: A 55 (left), B 101 (open), C 28 (left), D 75 (open).
    # consumer {28 x, 55 x, 75 o}: S = 2/3 after 28, 1/3 after 55 -> median 55; restricted
    # mean to the longest tenure 101: 28 + 27 * 2/3 + 46 * 1/3 = 61.333...
    # business {101 o}: never at 0.5 -> median infinite; restricted mean 101.
    rows = s.summary.set_index("group")
    assert rows.loc["consumer", "median_tenure"] == 55.0
    assert rows.loc["consumer", "restricted_mean_tenure"] == pytest.approx(28 + 18 + 46 / 3)
    assert rows.loc["business", "median_tenure"] == float("inf")
    assert rows.loc["business", "restricted_mean_tenure"] == pytest.approx(101)
    # log-rank, consumer as group 1: at 28 n = 4, n1 = 3, d = 1 -> E = 3/4,
    # V = 1*3*3*1/(16*3); at 55 n = 3 (A, B, D), n1 = 2 -> E = 2/3, V = 1*2*2*1/(9*2).
    e = Fraction(3, 4) + Fraction(2, 3)
    v = Fraction(9, 48) + Fraction(4, 18)
    assert s.logrank["statistic"] == pytest.approx(float((2 - e) ** 2 / v), rel=1e-12)
    assert s.logrank["df"] == 1
    # no business customer left: no Cox hazard ratios (business's would be 0)
    assert s.reference is None and "two or more groups in which someone left" in s.note
    assert pd.isna(rows.loc["consumer", "hazard_ratio"])


def test_facade_views_and_months(small, tmp_path):
    # the same by-hand survival as above through ws.churn, in months of 365.2425/12 days:
    # consumer median 55 days = 55 * 12 / 365.2425 = 1.80702 months
    v = small.churn.views(["survival", "rates"], by="relationship_type", as_of=AS_OF,
                          heatmap=tmp_path / "h.html")
    assert v.views == ["rates", "survival"] and v.skipped == []
    assert set(v.tables) == {"rates", "survival", "cohorts"}  # cohorts for the heatmap
    rows = v.survival.summary.set_index("group")
    assert rows.loc["consumer", "median_tenure"] == pytest.approx(1.8070187, abs=1e-7)
    assert "Retention by start cohort" in (tmp_path / "h.html").read_text()
    doc = v.to_dict()
    assert doc["as_of"] == "2024-04-30" and doc["survival"]["unit"] == "months"
    assert doc["rates"] == v.tables["rates"].to_pylist()
    with pytest.raises(InputError, match="views must be 'all' or among rates"):
        small.churn.views("heatmap")


def test_churn_reasons_by_hand(small):
    r = churn_reasons(small, as_of=AS_OF)
    rows = {x["reason"]: x for x in r.summary.to_pylist()}
    # C ("arrears") left 02-29 having spent 7; A (competitive) 03-05 having spent 25
    assert list(rows) == ["active_natural", "active_competitive", "active_our_fault",
                          "passive_non_malicious", "passive_retaliatory"]
    assert (rows["active_competitive"]["churned"], rows["active_competitive"]["share"],
            rows["active_competitive"]["revenue_lost"]) == (1, 0.5, 25.0)
    assert (rows["passive_non_malicious"]["churned"],
            rows["passive_non_malicious"]["revenue_lost"]) == (1, 7.0)
    assert rows["passive_non_malicious"]["response"] == "reminder_sequence_and_easy_payment"
    assert rows["active_our_fault"]["churned"] == 0
    assert rows["active_natural"]["preventable"] is False
    assert all(x["clv_lost"] is None for x in rows.values())  # no clv_scores result
    assert _tuples(r.by_period, ["period_start", "reason", "churned"]) == [
        (D(2024, 2, 1), "passive_non_malicious", 1), (D(2024, 3, 1), "active_competitive", 1)]
    # at the default as_of (05-31) D has left too, without a reason: 15 * 3 spent
    unknown = churn_reasons(small).summary.to_pylist()[-1]
    assert (unknown["reason"], unknown["churned"], unknown["revenue_lost"],
            unknown["response"]) == ("unknown", 1, 45.0, "record_the_reason")


def test_clv_lost_from_the_clv_scores_result(tmp_path):
    ws = _small(tmp_path)
    ws.save_result("clv_scores", pa.table({"customer_id": ["A", "B", "C"],
                                           "clv": [120.5, 500.0, 30.0]}))
    rows = {x["reason"]: x["clv_lost"] for x in churn_reasons(ws, as_of=AS_OF).summary
            .to_pylist()}
    assert rows == {"active_natural": 0.0, "active_competitive": 120.5,
                    "active_our_fault": 0.0, "passive_non_malicious": 30.0,
                    "passive_retaliatory": 0.0}


# ---- the demo company ---------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws, _ = build_demo(tmp_path_factory.mktemp("demo") / "ws", DemoParams(customers=2000))
    return ws


def test_demo_cohorts_match_the_contracts(demo):
    day = as_of_date(demo)
    c = demo.table("contracts").to_pandas()  # one contract per demo customer
    c["start"], c["end"] = pd.to_datetime(c["start"]), pd.to_datetime(c["end"])
    c["cohort"] = c["start"].dt.to_period("M").dt.start_time.dt.date
    month_end = c["start"] + pd.offsets.MonthEnd(0)
    c["left_in_first_month"] = c["end"].notna() & (c["end"] < month_end)
    got = cohort_table(demo).to_pandas()
    first = got[got.k == 0].set_index("cohort")
    # k = 0: the cohort's size less those who left before the last day of their first month
    expected = c.groupby("cohort").agg(n=("customer_id", "size"),
                                       gone=("left_in_first_month", "sum"))
    assert first["customers"].to_dict() == expected["n"].to_dict()
    assert first["active"].to_dict() == (expected["n"] - expected["gone"]).to_dict()
    assert first["customers"].sum() == len(c) == 2000
    # no one comes back (one contract each): active never rises with k
    assert (got.groupby("cohort")["active"].diff().dropna() <= 0).all()
    # revenue: every purchase of a customer falls in some (cohort, k) cell
    t = demo.table("transactions").to_pandas()
    assert got["revenue"].sum() == pytest.approx(
        t.loc[t.timestamp.dt.date < D(day.year, day.month, 1), "amount"].sum())


def test_demo_groups_add_up_and_survival_counts(demo):
    overall = retention_rates(demo).to_pandas().set_index("period_start")
    by = retention_rates(demo, by="region").to_pandas()
    summed = by.groupby("period_start")[["active_start", "retained", "new"]].sum()
    pd.testing.assert_frame_equal(summed, overall[["active_start", "retained", "new"]],
                                  check_dtype=False)
    c = demo.table("contracts").to_pandas()
    s = survival_by(demo, "tier")
    assert s.summary["customers"].sum() == 2000
    assert s.summary["churned"].sum() == c["end"].notna().sum()
    assert set(s.summary["group"]) <= {"vip", "major", "ordinary", "small", "(unknown)"}
    # hazard ratios against the largest tier; refitted against another reference level,
    # each ratio is the old one divided by that level's old ratio (one categorical covariate)
    hr = s.summary.set_index("group")["hazard_ratio"]
    assert s.reference == s.summary.sort_values("customers")["group"].iloc[-1]
    assert hr[s.reference] == 1.0
    t = s.summary  # refit with lifelines' own reference: the alphabetically first tier
    df = customer_tenure(demo.table("contracts"), as_of_date(demo)).to_pandas().merge(
        customer_groups(demo, "tier").to_pandas(), on="customer_id")
    df["tenure"] = df["tenure_days"] / DAYS_PER_MONTH
    alt = cox(df, ["group"]).set_index("covariate")["hazard_ratio"]
    first = sorted(t["group"])[0]
    for g in sorted(t["group"])[1:]:
        assert alt[f"group={g}"] == pytest.approx(hr[g] / hr[first], rel=1e-4)
    r = churn_reasons(demo).summary.to_pandas().set_index("reason")
    assert r["churned"].to_dict() == c["end_reason"].value_counts().to_dict()


# ---- engines ---------------------------------------------------------------------------

@pytest.mark.slow
def test_same_tables_on_duckdb_and_spark(small, engine):
    ws = small.with_settings(engine=engine)

    def frames(w):
        reasons = churn_reasons(w, "quarter", as_of=AS_OF)
        return {"rates": retention_rates(w, as_of=AS_OF, by="region"),
                "cohorts": cohort_table(w, as_of=AS_OF),
                "reasons": reasons.summary, "by_period": reasons.by_period,
                "survival": pa.Table.from_pandas(survival_by(w, "region", as_of=AS_OF)
                                                 .summary),
                "training": pa.Table.from_pandas(training_frame(w, "2024-03-01", 30))}

    got, ref = frames(ws), frames(small)
    for name in ref:
        a = got[name].to_pandas()
        b = ref[name].to_pandas()
        a = a.sort_values(list(a.columns[:3])).reset_index(drop=True)
        b = b.sort_values(list(b.columns[:3])).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=name)
    assert got["cohorts"].num_rows == 7  # and not empty
    # active on 2024-03-01: A, B, D (C left 02-29); within 30 days only A leaves (03-05)
    assert _tuples(got["training"], ["customer_id", "churned"]) == [("A", 1), ("B", 0),
                                                                     ("D", 0)]


# ---- the command -----------------------------------------------------------------------

def _cli(*args):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_cli_rates_and_cohorts(small, tmp_path):
    res = _cli("retention", "-w", str(small.path), "--as-of", "2024-04-30", "--view", "rates",
               "--by", "relationship_type", "--format", "json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    feb = [r for r in rows if r["period_start"] == "2024-02-01" and r["basis"] == "contract"]
    assert [(r["group"], r["active_start"], r["retained"]) for r in feb] == [
        ("business", 1, 1), ("consumer", 2, 1)]
    res = _cli("retention", "-w", str(small.path), "--as-of", "2024-04-30", "--view",
               "cohorts", "--format", "csv")
    lines = res.stdout.splitlines()
    assert lines[0] == '"basis","cohort","k","customers","active","rate","revenue"'
    assert lines[1] == '"contract",2024-01-01,0,2,2,1,50'
    heat = tmp_path / "heat.html"
    res = _cli("retention", "-w", str(small.path), "--as-of", "2024-04-30", "--heatmap",
               str(heat), "--out", str(tmp_path / "t.csv"))
    assert res.exit_code == 0, res.output
    assert "Retention by start cohort" in heat.read_text()
    assert "% of each month's starters" in res.stdout
    assert "log-rank" not in res.stdout  # no --by: one group
    assert sorted(p.name for p in tmp_path.glob("t-*.csv")) == [
        "t-cohorts.csv", "t-rates.csv", "t-reasons.csv", "t-reasons_by_period.csv",
        "t-survival.csv"]


def test_cli_all_views_json_and_report(small, tmp_path):
    report = tmp_path / "r.html"
    res = _cli("retention", "-w", str(small.path), "--as-of", "2024-04-30", "--by",
               "relationship_type", "--unit", "days", "--format", "json", "--report",
               str(report))
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) == {"as_of", "period", "by", "rates", "cohorts", "survival", "reasons",
                        "reasons_by_period"}
    groups = {g["group"]: g for g in doc["survival"]["groups"]}
    assert groups["consumer"]["median_tenure"] == 55.0
    assert groups["business"]["median_tenure"] is None  # infinite: never reached
    assert doc["survival"]["logrank"]["df"] == 1
    assert doc["survival"]["hazard_ratio_reference"] is None
    html = report.read_text()
    for title in ("Retention by start cohort", "Survival of tenure", "Retention rate",
                  "Churned customers by reason"):
        assert title in html


def test_cli_errors(small):
    res = runner.invoke(app, ["retention", "-w", str(small.path), "--format", "csv"])
    assert res.exit_code == 2 and "choose it with --view" in res.output
    res = runner.invoke(app, ["retention", "-w", str(small.path), "--unit", "fortnights",
                              "--view", "survival"])
    assert res.exit_code == 2 and "unit must be one of" in res.output


def test_cli_buyers_only_workspace(tmp_path):
    from cvm import Workspace

    ws = Workspace.init(tmp_path / "shop")
    ws.import_file("transactions", write_csv(tmp_path / "t.csv", (
        "customer_id,timestamp,amount\nF,2024-01-05,3\nF,2024-02-07,4\nG,2024-03-07,4\n")))
    res = _cli("retention", "-w", str(ws.path), "--format", "json")
    doc = json.loads(res.stdout)
    # no contracts: purchase retention and first-purchase cohorts only. F bought in Jan and
    # again in Feb (1/1), not in Mar (0/1); G's March is the last month (next unseen).
    assert set(doc) == {"as_of", "period", "by", "rates", "cohorts"}
    assert [(r["basis"], r["period_start"], r["active_start"], r["retained"])
            for r in doc["rates"]] == [("purchase", "2024-01-01", 1, 1),
                                       ("purchase", "2024-02-01", 1, 0)]
    assert [(r["cohort"], r["k"], r["active"], r["revenue"]) for r in doc["cohorts"]] == [
        ("2024-01-01", 0, 1, 3.0), ("2024-01-01", 1, 1, 4.0), ("2024-01-01", 2, 0, 0.0),
        ("2024-03-01", 0, 1, 4.0)]
    res = _cli("retention", "-w", str(ws.path))
    assert "first-time buyers" in res.stdout
    assert "no contracts imported" in " ".join(res.stdout.split())
    res = runner.invoke(app, ["retention", "-w", str(ws.path), "--view", "survival"])
    assert res.exit_code == 2 and "no contracts imported" in res.output
