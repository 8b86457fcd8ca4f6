"""Says vs does and loyalty classes on a workspace: hand-made customers, and the demo company."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm.cli import app
from cvm.demo import DemoParams, build_demo
from cvm.errors import InputError
from cvm.survey.outcomes import (
    class_summary,
    respondent_behaviour,
    workspace_loyalty_classes,
    workspace_loyalty_levels,
    workspace_says_vs_does,
)

# Six customers answer on 2024-03-15; the latest transaction is 2024-06-30 (the as-of day).
#   c1 nps 10: buys 01-05, 02-05, 04-10, 06-30 (30.0); contract open
#   c2 nps  9: buys 01-10; contract ended 2024-05-01 (after answering: churned)
#   c3 nps  7: buys 01-01, 03-20; contract open
#   c4 nps  3: buys 02-01; contract ended 2024-04-01 (churned)
#   c5 nps  5: buys 2023-12-01, 2023-12-02; contract ended 2024-02-01 (before answering)
#   c6 nps  0: never bought, no contract
# Every purchase is 10.0 except c1's last (30.0).
ANSWERS = {  # nps, recommend, repurchase, switch (1-5, reversed)
    "c1": (10, 5, 5, 1), "c2": (9, 5, 4, 2), "c3": (7, 3, 3, 3),
    "c4": (3, 1, 2, 5), "c5": (5, 4, 4, 2), "c6": (0, 2, 2, 4),
}
PURCHASES = {"c1": ["2024-01-05", "2024-02-05", "2024-04-10", "2024-06-30"],
             "c2": ["2024-01-10"], "c3": ["2024-01-01", "2024-03-20"], "c4": ["2024-02-01"],
             "c5": ["2023-12-01", "2023-12-02"]}


@pytest.fixture
def behaviour_ws(ws, tmp_path):
    write_csv(tmp_path / "customers.csv", "customer_id\n" + "\n".join(ANSWERS) + "\n")
    tx = ["customer_id,timestamp,amount"]
    for c, days in PURCHASES.items():
        tx += [f"{c},{d},{30.0 if d == '2024-06-30' else 10.0}" for d in days]
    write_csv(tmp_path / "tx.csv", "\n".join(tx) + "\n")
    write_csv(tmp_path / "contracts.csv", """
customer_id,start,end
c1,2023-01-01,
c2,2023-01-01,2024-05-01
c3,2023-01-01,
c4,2023-01-01,2024-04-01
c5,2023-01-01,2024-02-01
""")
    write_csv(tmp_path / "items.csv", """
survey,item,construct,scale_min,scale_max
rel,nps,nps,0,10
rel,recommend,loyalty,1,5
rel,repurchase,loyalty,1,5
rel,switch,loyalty,1,5
""")
    rows = ["respondent_id,customer_id,survey,item,answer,timestamp"]
    for c, answers in ANSWERS.items():
        for item, a in zip(("nps", "recommend", "repurchase", "switch"), answers, strict=True):
            rows.append(f"r{c},{c},rel,{item},{a},2024-03-15")
    write_csv(tmp_path / "answers.csv", "\n".join(rows) + "\n")
    for table, file in (("customers", "customers.csv"), ("transactions", "tx.csv"),
                        ("contracts", "contracts.csv"), ("survey_items", "items.csv"),
                        ("survey_responses", "answers.csv")):
        ws.import_file(table, tmp_path / file)
    return ws


def test_respondent_behaviour_hand_computed(behaviour_ws):
    b = respondent_behaviour(behaviour_ws).set_index("customer_id")
    assert b["bought_after"].to_dict() == {"c1": 1, "c2": 0, "c3": 1, "c4": 0, "c5": 0, "c6": 0}
    assert b["repeat_buyer"].to_dict() == {"c1": 1, "c2": 0, "c3": 1, "c4": 0, "c5": 1, "c6": 0}
    assert b["spend"].to_dict() == {"c1": 60, "c2": 10, "c3": 20, "c4": 10, "c5": 20, "c6": 0}
    churned = b["churned"]
    assert churned[["c1", "c2", "c3", "c4"]].tolist() == [0, 1, 0, 1]
    assert churned[["c5", "c6"]].isna().all()  # left before answering; no contract
    # c1 bought in Jan, Feb, Apr, Jun of the 6 months Jan-Jun: 4/6; tenure 2024-01-05 to
    # 2024-06-30 = 177 days = 177 / 30.436875 months; last purchase on the as-of day
    assert b.loc["c1", "repeat_rate"] == pytest.approx(4 / 6)
    assert b.loc["c1", "tenure_months"] == pytest.approx(177 / 30.436875)
    assert b.loc["c1", "recency_days"] == 0
    assert b.loc["c5", "recency_days"] == 211  # 2023-12-02 to 2024-06-30
    assert b.loc["c5", "repeat_rate"] == pytest.approx(1 / 7)  # Dec of Dec-Jun


def test_says_vs_does_by_nps_class(behaviour_ws):
    t = workspace_says_vs_does(behaviour_ws).set_index(["group", "behaviour"])
    # promoters c1, c2: bought after 1 of 2; Wilson 95%: centre 0.5,
    # half = 1.96 sqrt(0.25/2 + 1.96^2/16) / (1 + 1.96^2/2) = 0.40547
    row = t.loc[("promoter", "bought_after")]
    assert (row["n"], row["value"]) == (2, 0.5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.09453, 0.90547), abs=1e-5)
    assert t.loc[("detractor", "bought_after"), "value"] == 0.0  # c4, c5, c6
    # spend of promoters: (60 + 10) / 2 = 35, sd 35.355, t(0.975, 1) = 12.706 -> 35 +- 317.65
    spend = t.loc[("promoter", "spend")]
    assert spend["value"] == 35.0 and spend["ci_high"] == pytest.approx(352.65, abs=0.01)
    # churn among detractors: only c4 counts (c5 left before answering, c6 has no contract)
    assert t.loc[("detractor", "churned"), "n"] == 1
    assert t.loc[("detractor", "churned"), "value"] == 1.0


def test_loyalty_classes_hand_computed_and_stored(behaviour_ws):
    ws = behaviour_ws.with_settings(**{"survey.loyal_min_tenure_months": 3.0})
    c = workspace_loyalty_classes(ws, save=True).set_index("customer_id")
    # intention = mean of recommend, repurchase, 100 - switch on 0-100 (1-5 -> 0, 25, ..., 100)
    assert c["intention"].round(2).to_dict() == {
        "c1": 100.0, "c2": 83.33, "c3": 50.0, "c4": 8.33, "c5": 75.0, "c6": 25.0}
    # by what they say (source 000): >= 75 loyal, < 40 drifting
    assert c["intention_class"].to_dict() == {"c1": "loyal", "c2": "loyal", "c3": "general",
                                              "c4": "drifting", "c5": "loyal",
                                              "c6": "drifting"}
    assert c["checked_class"].to_dict() == {"c1": "loyal", "c2": "general", "c3": "general",
                                            "c4": "drifting", "c5": "drifting",
                                            "c6": "drifting"}
    assert c.loc["c2", "says_vs_does"] == "says loyal, does general"  # bought 1 month of 6
    assert c.loc["c5", "says_vs_does"] == "says loyal, does drifting"  # 211 days > 180
    stored = ws.result("loyalty_classes").to_pandas().set_index("customer_id")
    for view in ("intention_class", "checked_class", "says_vs_does"):
        assert stored[view].to_dict() == c[view].to_dict()
    s = class_summary(c.reset_index()).set_index("class")
    assert s["customers"].to_dict() == {"loyal": 1, "general": 2, "drifting": 3}
    assert s["intention_customers"].to_dict() == {"loyal": 3, "general": 1, "drifting": 2}
    assert s.loc["general", "consistent"] == 0.5
    # the facade's summary is the same table, and says how many respondents it stored
    f = ws.survey.classes(summary=True)
    pd.testing.assert_frame_equal(f, s.reset_index())
    assert (f.attrs["survey"], f.attrs["respondents"]) == ("rel", 6)


def test_named_intention_items_and_errors(behaviour_ws):
    c = workspace_loyalty_classes(behaviour_ws, recommend=["recommend"])
    assert c.set_index("customer_id").loc["c2", "intention"] == 100.0
    with pytest.raises(InputError, match=r"item\(s\) \['loyal'\] are not in survey 'rel'"):
        workspace_loyalty_classes(behaviour_ws, switch=["loyal"])
    with pytest.raises(InputError, match="no item of construct 'satisfaction'"):
        workspace_says_vs_does(behaviour_ws, by="satisfaction")


def test_cli_saysdoes_and_classes(behaviour_ws):
    runner = CliRunner()
    res = runner.invoke(app, ["survey", "saysdoes", "-w", str(behaviour_ws.path), "-f", "json"])
    assert res.exit_code == 0, res.output
    rows = {(r["group"], r["behaviour"]): r for r in json.loads(res.stdout)}
    assert rows[("passive", "bought_after")]["value"] == 1.0
    res = runner.invoke(app, ["survey", "classes", "-w", str(behaviour_ws.path), "-f", "json"])
    assert res.exit_code == 0, res.output
    counts = {r["class"]: r["customers"] for r in json.loads(res.stdout)}
    # default tenure threshold 12 months: nobody has it, so nobody is loyal
    assert counts == {"general": 3, "drifting": 3}
    assert behaviour_ws.result("loyalty_classes").count().execute() == 6


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    ws, _ = build_demo(tmp_path_factory.mktemp("demo"), DemoParams(customers=2000))
    return ws


def test_demo_promoters_buy_more_and_churn_less(demo_ws):
    t = workspace_says_vs_does(demo_ws).set_index(["group", "behaviour"])
    # by construction the demo's leavers answer lower: promoters buy again after answering
    # more often than detractors and churn less, with intervals that do not overlap
    assert t.loc[("promoter", "bought_after"), "ci_low"] > \
        t.loc[("detractor", "bought_after"), "ci_high"]
    assert t.loc[("promoter", "churned"), "ci_high"] < \
        t.loc[("detractor", "churned"), "ci_low"]
    q = workspace_says_vs_does(demo_ws, by="satisfaction").set_index(["group", "behaviour"])
    assert q.loc[("Q5", "churned"), "value"] < q.loc[("Q1", "churned"), "value"]


def test_demo_classes_follow_the_thresholds(demo_ws):
    c = workspace_loyalty_classes(demo_ws, save=True)
    s = demo_ws.settings.survey
    assert len(c) == demo_ws.result("loyalty_classes").count().execute() > 300
    loyal = c[c["checked_class"] == "loyal"]
    assert (loyal["intention"] >= s.loyal_intention).all()
    assert (loyal["recency_days"] <= s.drifting_recency_days).all()
    drifting = c[c["checked_class"] == "drifting"]
    assert ((drifting["intention"] < s.drifting_intention)
            | (drifting["recency_days"] > s.drifting_recency_days)).all()
    # the intention class depends on what they say only
    said = c["intention_class"]
    assert ((said == "loyal") == (c["intention"] >= s.loyal_intention)).all()
    assert ((said == "drifting") == (c["intention"] < s.drifting_intention)).all()


def test_loyalty_levels_from_constructs(ws, tmp_path):
    # two respondents; cognitive and affective on 1-5, conative and action on 0-10.
    # a: cog 5 (100), aff 4 (75), con 6 (60), act 3 (30) -> levels reached: cog, aff, con
    # b: cog 2 (25) -> none (threshold 60), although aff 5 (100), con 10, act 10
    write_csv(tmp_path / "items.csv", "survey,item,construct,scale_min,scale_max\n"
              "s,k1,Cognitive,1,5\ns,f1,affective,1,5\ns,n1,conative,0,10\ns,a1,action,0,10\n")
    rows = ["respondent_id,survey,item,answer"]
    for r, answers in {"a": (5, 4, 6, 3), "b": (2, 5, 10, 10)}.items():
        rows += [f"{r},s,{it},{v}" for it, v in zip(("k1", "f1", "n1", "a1"), answers,
                                                     strict=True)]
    write_csv(tmp_path / "answers.csv", "\n".join(rows) + "\n")
    ws.import_file("survey_items", tmp_path / "items.csv")
    ws.import_file("survey_responses", tmp_path / "answers.csv")
    lv = workspace_loyalty_levels(ws).set_index("respondent_id")
    assert lv.loc["a", ["cognitive", "affective", "conative", "action"]].tolist() == \
        [100, 75, 60, 30]
    assert lv["level"].to_dict() == {"a": "conative", "b": "none"}
    res = CliRunner().invoke(app, ["survey", "levels", "-w", str(ws.path), "-f", "json"])
    assert res.exit_code == 0, res.output
    assert [r["level"] for r in json.loads(res.stdout)] == ["conative", "none"]


def test_nps_by_touchpoint_without_interactions(behaviour_ws):
    from cvm.survey.nps_groups import workspace_nps

    # no interactions imported: all six answers (10 9 7 3 5 0) in "(none)", 100 (2 - 3) / 6
    t = workspace_nps(behaviour_ws, by="touchpoint", min_n=1)
    assert list(t["group"]) == ["(none)"] and t["nps"].iloc[0] == pytest.approx(-100 / 6)
