"""Scoring's parts on hand-made data: names, lifecycle rules, PSI and transitions, the
as-of cut and the purchase features (every expected value worked out by hand)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from conftest import write_csv
from cvm.scoring.asof import AsOfView
from cvm.scoring.drift import EMPTY_SHARE, psi, psi_labels, reading, transitions
from cvm.scoring.features import purchase_features, purchase_labels
from cvm.scoring.lifecycle import lifecycle_stage
from cvm.scoring.registry import line_key, line_keys, score_def


@pytest.mark.parametrize("line, key", [
    ("Home & Garden", "home_garden"), ("Aurora", "aurora"), ("TV/Audio 2", "tv_audio_2"),
    ("  Kids' Wear ", "kids_wear"), ("家电", "家电"), ("a__b", "a_b"), ("&&", "_")])
def test_line_key(line, key):
    assert line_key(line) == key


def test_line_keys_distinct():
    assert line_keys(["A-B", "a b", "A&B"]) == {"A-B": "a_b", "a b": "a_b_2", "A&B": "a_b_3"}
    assert score_def("propensity_home_garden").name == "propensity"
    assert score_def("share_x").name == "share"
    with pytest.raises(KeyError):
        score_def("nonsense")


def test_lifecycle_rules():
    f = pd.DataFrame({
        # new, lapsed (recency), lapsed (never bought), growing (young), growing (up),
        # declining, mature, up by exactly 1.25x (growing), down by exactly 0.75x (declining)
        "tenure_days": [30, 500, 400, 200, 800, 800, 800, 800, 800],
        "recency_days": [5, 181, np.nan, 10, 10, 10, 10, 10, 10],
        "spend_180d": [10, 0, 0, 50, 130, 70, 100, 125, 75],
        "spend_prior_180d": [0, 100, 0, 0, 100, 100, 100, 100, 100],
    })
    got = lifecycle_stage(f, new_days=90, lapsed_days=180, trend=0.25)
    assert list(got) == ["new", "lapsed", "lapsed", "growing", "growing", "declining",
                         "mature", "growing", "declining"]


def test_psi_labels_by_hand():
    before = pd.Series(["a", "a", "b", "b"])
    after = pd.Series(["a", "b", "b", "b"])
    # p = (0.5, 0.5), q = (0.25, 0.75): (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5)
    want = -0.25 * math.log(0.5) + 0.25 * math.log(1.5)
    assert psi_labels(before, after) == pytest.approx(want, rel=1e-12)
    assert psi_labels(before, before) == 0.0
    # a level missing on one side counts as a share of EMPTY_SHARE
    got = psi_labels(pd.Series(["a", "a"]), pd.Series(["a", "c"]))
    want = (0.5 - 1) * math.log(0.5) + (0.5 - EMPTY_SHARE) * math.log(0.5 / EMPTY_SHARE)
    assert got == pytest.approx(want, rel=1e-12)
    assert reading(0.05) == "stable" and reading(0.2) == "moderate shift"
    assert reading(0.3) == "large shift"


def test_psi_numeric_bins_at_the_earlier_deciles():
    before = pd.Series(np.arange(100, dtype=float))  # deciles at 9.9, 19.8, ...
    assert psi(before, before) == 0.0
    # everyone moves into the top decile: q = (0, ..., 0, 1)
    after = pd.Series(np.full(50, 1000.0))
    p, q = np.full(10, 0.1), np.r_[np.full(9, EMPTY_SHARE), 1.0]
    assert psi(before, after) == pytest.approx(float(np.sum((q - p) * np.log(q / p))))
    assert math.isnan(psi(pd.Series([], dtype=float), after))


def test_transitions_counts():
    before = pd.Series({"c1": "vip", "c2": "major", "c3": "small"})
    after = pd.Series({"c1": "major", "c2": "major", "c4": "small"})
    t = transitions(before, after, ["vip", "major", "ordinary", "small"])
    assert t.loc["vip", "major"] == 1 and t.loc["major", "major"] == 1
    assert t.loc["small", "(none)"] == 1 and t.loc["(none)", "small"] == 1
    assert int(t.to_numpy().sum()) == 4
    assert list(t.index) == ["vip", "major", "small", "(none)"]


@pytest.fixture
def small_ws(ws, tmp_path):
    write_csv(tmp_path / "c.csv", """
customer_id,relationship_type,region,signup_date
a,consumer,north,2023-01-01
b,business,south,2024-06-01
z,consumer,north,2024-07-15
""")
    write_csv(tmp_path / "t.csv", """
transaction_id,customer_id,timestamp,amount,brand
t1,a,2023-06-01 10:00,100,X
t2,a,2024-03-01 10:00,50,Y
t3,a,2024-05-31 23:59,30,X
t4,b,2024-06-10 09:00,200,Y
t5,a,2024-06-01 00:00,70,Y
t6,b,2024-08-20 12:00,40,X
""")
    write_csv(tmp_path / "k.csv", """
customer_id,start,end,end_reason
a,2023-01-01,2024-06-15,passive_non_malicious
b,2024-06-01,,
""")
    write_csv(tmp_path / "i.csv", """
customer_id,touchpoint,kind,opened_at,first_response_at,resolved_at,outcome
a,web,complaint,2024-05-20 10:00,2024-05-20 10:05,2024-06-02 10:00,refunded
""")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws.import_file("contracts", tmp_path / "k.csv")
    ws.import_file("interactions", tmp_path / "i.csv")
    return ws


def test_asof_view_cuts_at_the_end_of_the_day(small_ws):
    v = AsOfView(small_ws, "2024-05-31")
    tx = v.table("transactions").to_pyarrow().to_pandas()
    assert sorted(tx["transaction_id"]) == ["t1", "t2", "t3"]  # 23:59 belongs to the day
    k = v.table("contracts").to_pyarrow().to_pandas()
    assert list(k["customer_id"]) == ["a"]  # b started later
    assert k["end"].isna().all() and k["end_reason"].isna().all()  # ended later: unknown
    i = v.table("interactions").to_pyarrow().to_pylist()[0]
    assert i["first_response_at"] == dt.datetime(2024, 5, 20, 10, 5)
    assert i["resolved_at"] is None and i["outcome"] is None
    c = v.table("customers").to_pyarrow().to_pandas()
    assert list(c["customer_id"]) == ["a"]
    assert v.latest_day() == dt.date(2024, 5, 31)
    later = (AsOfView(small_ws, "2024-06-15").table("contracts").order_by("customer_id")
             .to_pyarrow().to_pylist())
    assert [r["end_reason"] for r in later] == ["passive_non_malicious", None]


def test_purchase_features_by_hand(small_ws):
    v = AsOfView(small_ws, "2024-08-31")
    cutoff = dt.date(2024, 6, 2)  # history: everything before 2 June
    f = purchase_features(v.table("transactions"), v.table("customers"),
                          v.table("interactions"), cutoff, ["X", "Y"])
    f = f.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    assert list(f.index) == ["a", "b"]  # z signed up later, b signed up on 1 June
    a = f.loc["a"]
    # a's purchases: 2023-06-01 (367 days before 2 June 2024), 2024-03-01 (93),
    # 2024-05-31 (2), 2024-06-01 (1); signup 2023-01-01 (518 days)
    assert a["tenure_days"] == 518 and a["recency_days"] == 1
    assert a["purchases_365d"] == 3 and a["spend_365d"] == 150
    assert a["spend_90d"] == 100 and a["spend_prior_90d"] == 50
    assert a["spend_180d"] == 150 and a["spend_prior_180d"] == 0
    assert a["lines_365d"] == 2
    assert a["l0_purchases_365d"] == 1 and a["l0_spend_365d"] == 30
    assert a["l0_days_since"] == 2 and a["l1_days_since"] == 1
    assert a["complaints_365d"] == 1 and a["relationship_type"] == "consumer"
    b = f.loc["b"]
    assert b["tenure_days"] == 1 and np.isnan(b["recency_days"])
    assert b["purchases_365d"] == 0 and np.isnan(b["l0_days_since"])
    lab = purchase_labels(v.table("transactions"), cutoff, ["X", "Y"], days=90)
    lab = lab.to_pyarrow().to_pandas().set_index("customer_id").sort_index()
    # in [2 June, 31 August): b bought Y on 10 June and X on 20 August; a nothing
    assert list(lab.index) == ["b"]
    assert lab.loc["b", "bought_any"] == 1
    assert lab.loc["b", "l0_bought"] == 1 and lab.loc["b", "l1_bought"] == 1


def test_contact_features_count_only_what_was_known_before_the_cutoff():
    from cvm.scoring.contacts import contact_features

    h = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "b", "c"],
        "as_of": pd.to_datetime(["2024-06-30", "2024-07-31", "2023-06-30", "2024-07-31",
                                 "2024-09-30", "2024-07-31"]),
        "control": [False, False, False, False, False, True],
        "outcome": ["accepted", "declined", "accepted", "declined", None, "accepted"],
        "outcome_at": pd.to_datetime(["2024-07-05", "2024-08-02", "2023-07-01",
                                      "2024-08-10", None, "2024-08-01"]),
    })
    got = contact_features(h, pd.Index(["a", "b", "c", "d"]), dt.date(2024, 8, 5))
    # a: two sent in the year before 5 August (2023-06-30 is older); the accept of 5 July
    # and the decline of 2 August are known. b: one sent, declined on 10 August: not yet
    # known; the September one is later. c: control, never sent. d: nothing.
    assert got.loc["a"].tolist() == [2, 1, 1]
    assert got.loc["b"].tolist() == [1, 0, 0]
    assert got.loc["c"].tolist() == [0, 0, 0] and got.loc["d"].tolist() == [0, 0, 0]
