"""The planner, rules, reasons and the uplift interval on hand-made data: every count and
value worked out by hand."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from cvm.errors import ConfigError
from cvm.opportunities.evaluate import evaluate
from cvm.opportunities.plan import plan
from cvm.opportunities.reasons import reason
from cvm.opportunities.rules import load_rules

DAY = dt.date(2024, 9, 30)


def _rules(tmp_path, body: str, policy: str = "", owners: str = ""):
    path = tmp_path / "opportunities.toml"
    path.write_text(f"[policy]\n{policy}\n[owners]\n{owners}\n{body}", encoding="utf-8")
    return load_rules(path)


CALL = """
[[rules]]
kind = "{kind}"
action = "Call"
channel = "{channel}"
due_days = 7
weight = {weight}
propensity = "p"
value = "v"
all = [{{ score = "p", ge = 0.3 }}]
"""


def _frame(n: int, **cols) -> pd.DataFrame:
    ids = [f"c{i:03d}" for i in range(n)]
    base = {"p": np.full(n, 0.5), "v": np.full(n, 100.0), "relationship_type": "consumer",
            "region": "north"}
    base.update(cols)
    return pd.DataFrame(base, index=pd.Index(ids, name="customer_id"))


def test_default_rules_load_and_a_bad_file_names_the_option(tmp_path):
    rules = load_rules()
    assert [r.kind for r in rules.rules] == ["retention_call", "cross_sell", "win_back",
                                             "service_recovery", "payment_reminder",
                                             "tier_upgrade"]
    assert rules.policy.control_share == 0.10
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nkind = "x"\naction = "a"\nchannel = "pigeon"\ndue_days = 1\n'
                   'weight = 1\npropensity = 1\nvalue = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.toml: rules.0.channel"):
        load_rules(bad)
    two = tmp_path / "two.toml"
    two.write_text('[[rules]]\nkind = "x"\naction = "a"\nchannel = "sms"\ndue_days = 1\n'
                   'weight = 1\npropensity = 1\nvalue = 1\nall = [{score = "p", ge = 1, '
                   'le = 2}]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs exactly one of"):
        load_rules(two)


def test_eligibility_priority_due_and_ids(tmp_path):
    rules = _rules(tmp_path, CALL.format(kind="call", channel="phone", weight=2.0),
                   "control_share = 0.0")
    f = _frame(3, p=[0.2, 0.3, 0.9], v=[100.0, 50.0, np.nan])
    out, held = plan(f, rules, DAY)
    assert list(out["customer_id"]) == ["c001", "c002"]  # c000 below 0.3
    # priority = propensity x value x weight; a blank value counts as 0
    assert out["priority"].tolist() == [0.3 * 50.0 * 2.0, 0.0]
    assert (out["due"] == DAY + dt.timedelta(days=7)).all()
    assert out["opportunity_id"].tolist() == ["20240930-call-c001", "20240930-call-c002"]
    assert held.empty


def test_control_share_is_exact_per_kind_and_repeatable(tmp_path):
    body = (CALL.format(kind="a", channel="phone", weight=1.0)
            + CALL.format(kind="b", channel="email", weight=1.0))
    rules = _rules(tmp_path, body, "control_share = 0.1\nmax_open_per_customer = 5")
    f = _frame(15)
    out, _ = plan(f, rules, DAY)
    counts = out.groupby("kind")["control"].sum()
    assert counts.to_dict() == {"a": 2, "b": 2}  # round(0.1 x 15) = round(1.5) = 2
    again, _ = plan(f, rules, DAY)
    assert again["control"].tolist() == out["control"].tolist()
    other, _ = plan(f, rules, DAY + dt.timedelta(days=31))
    assert other["control"].sum() == 4
    big, _ = plan(_frame(100), rules, DAY)
    assert big.groupby("kind")["control"].sum().to_dict() == {"a": 10, "b": 10}
    assert set(out.loc[out["control"], "status"]) == {"control"}


def test_contact_policy_limits_and_suppression(tmp_path):
    body = (CALL.format(kind="a", channel="phone", weight=3.0)
            + CALL.format(kind="b", channel="phone", weight=2.0)
            + CALL.format(kind="c", channel="email", weight=1.0)
            + CALL.format(kind="d", channel="visit", weight=0.5))
    rules = _rules(tmp_path, body, "control_share = 0.0\nmax_open_per_customer = 2\n"
                   "max_contacts_per_channel_month = 1\nsuppress_days_after_decline = 90")
    f = _frame(4)
    history = pd.DataFrame([
        # c001 declined kind a 10 days ago: suppressed; c002 declined it 100 days ago: not
        {"as_of": dt.date(2024, 8, 31), "customer_id": "c001", "kind": "a",
         "channel": "phone", "control": False, "expires": dt.date(2024, 9, 10),
         "outcome": "declined", "outcome_day": dt.date(2024, 9, 20)},
        {"as_of": dt.date(2024, 5, 31), "customer_id": "c002", "kind": "a",
         "channel": "phone", "control": False, "expires": dt.date(2024, 6, 30),
         "outcome": "declined", "outcome_day": dt.date(2024, 6, 22)},
        # c003 was phoned earlier this month (closed) and has one still open by sms
        {"as_of": dt.date(2024, 9, 15), "customer_id": "c003", "kind": "x",
         "channel": "phone", "control": False, "expires": dt.date(2024, 10, 15),
         "outcome": "accepted", "outcome_day": dt.date(2024, 9, 16)},
        {"as_of": dt.date(2024, 9, 15), "customer_id": "c003", "kind": "y",
         "channel": "sms", "control": False, "expires": dt.date(2024, 10, 15),
         "outcome": "contacted", "outcome_day": dt.date(2024, 9, 16)},
    ])
    out, held = plan(f, rules, DAY, history)
    got = {(r.customer_id, r.kind) for r in out.itertuples()}
    # c000: a (phone, highest), b would be a second phone call this month: held; c: email
    # c001: a suppressed, b phone, c email; c002: a, c; c003: phone used, 1 open -> c only
    assert got == {("c000", "a"), ("c000", "c"), ("c001", "b"), ("c001", "c"),
                   ("c002", "a"), ("c002", "c"), ("c003", "c")}
    why = {(r.customer_id, r.kind): r.held_back for r in held.itertuples()}
    assert why == {("c000", "b"): "contact limit for the channel this month",
                   ("c001", "a"): "declined recently",
                   ("c002", "b"): "contact limit for the channel this month",
                   ("c003", "a"): "contact limit for the channel this month",
                   ("c003", "b"): "contact limit for the channel this month",
                   # everyone has two open (c003: one from before), so no visit
                   **{(c, "d"): "open opportunity limit"
                      for c in ("c000", "c001", "c002", "c003")}}
    # with one open already, c003 may get one more (2 at most)
    assert (out["customer_id"] == "c003").sum() == 1


def test_owners_round_robin_within_capacity(tmp_path):
    owners = ('capacity = 2\n[owners.staff]\n"branch:north" = ["li", "wang"]\n')
    rules = _rules(tmp_path, CALL.format(kind="a", channel="phone", weight=1.0),
                   "control_share = 0.0", owners)
    f = _frame(7, p=[0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.35],
               relationship_type=["consumer"] * 5 + ["business", "consumer"],
               region=["north"] * 5 + ["north", None])
    f["account_manager"] = [None] * 5 + ["zhao", None]
    out, _ = plan(f, rules, DAY)
    got = dict(zip(out["customer_id"], zip(out["owner"], out["status"], strict=True),
                   strict=True))
    assert got["c000"] == ("li", "open") and got["c001"] == ("wang", "open")
    assert got["c002"] == ("li", "open") and got["c003"] == ("wang", "open")
    assert got["c004"] == ("", "over_capacity")  # both at capacity 2
    assert got["c005"] == ("zhao", "open")  # a business customer's account manager
    assert got["c006"] == ("call-centre", "open")  # no region


def test_reasons_in_english_and_chinese():
    e = {"churn_probability": 0.3125, "churn_probability_before": 0.081,
         "revenue_potential": 2340.4, "revenue_potential_top": 0.05, "complaints_30d": 2}
    assert reason(e, "en") == ("Likelihood to cancel rose from 0.08 to 0.31 since the last "
                               "run; 2 complaints in the last 30 days; CLV 2,340, top 5% of "
                               "customers")
    assert reason(e, "zh-CN") == ("流失概率自上次评分以来从 0.08 升至 0.31；近30天投诉 2 次；"
                                  "客户终身价值 2,340，位列前 5%")
    x = {"line": "Home & Garden", "best_propensity": 0.42, "line_mean_propensity": 0.06,
         "revenue_potential": 900.0, "revenue_potential_top": 0.5}
    assert reason(x, "en") == ("Home & Garden: 0.42 likely to buy in the next 90 days, 7.0 "
                               "times the line's average; CLV 900")
    assert reason({"detractor_30d": 3.0, "detractor_day": "2024-09-12"}, "zh") == (
        "2024-09-12 评分 3/10")


def test_newcombe_interval_matches_the_paper():
    """Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10:
    56/70 - 48/80 gives 0.0524 to 0.3339; 9/10 - 3/10 gives 0.1705 to 0.8090."""
    rows = []
    for day, (yt, nt, yc, nc) in {"2024-01-31": (56, 70, 48, 80),
                                  "2024-02-29": (9, 10, 3, 10)}.items():
        for n, y, control in ((nt, yt, False), (nc, yc, True)):
            rows += [{"as_of": day, "kind": "k", "control": control, "status": "open",
                      "outcome": None, "_y": float(i < y)} for i in range(n)]
    opps = pd.DataFrame(rows)
    got = evaluate(opps.drop(columns="_y"), opps["_y"])
    assert got["ci_low"].round(4).tolist() == [0.0524, 0.1705]
    assert got["ci_high"].round(4).tolist() == [0.3339, 0.8090]
    assert got["uplift"].tolist() == pytest.approx([56 / 70 - 48 / 80, 0.6])
    assert got["status"].tolist() == ["measured", "measured"]
    pending = evaluate(opps.drop(columns="_y"), opps["_y"].where(opps["as_of"] != "2024-02-29"))
    assert pending["status"].tolist() == ["measured", "pending until 2024-05-29"]
    assert math.isnan(pending["uplift"].iloc[1])
