"""The churn model trained on a workspace's history: time-based split, fit and score."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import Workspace
from cvm.churn.history import (
    default_cutoff,
    fit_workspace,
    model_path,
    training_frame,
    workspace_features,
)
from cvm.cli import app
from cvm.demo import DemoParams, build_demo
from cvm.errors import InputError

D = dt.date
runner = CliRunner()
# The demo's latest transaction is on 2024-12-30; with a 90-day window the default cut-off
# is 2024-12-30 + 1 - 90 days = 2024-10-02 and the window [10-02, 12-31) ends on 12-30.
CUTOFF = D(2024, 10, 2)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    ws, _ = build_demo(tmp_path_factory.mktemp("demo") / "ws", DemoParams(customers=2000))
    return ws


@pytest.fixture(scope="module")
def frame(demo):
    return training_frame(demo, CUTOFF)


def _contracts(ws) -> pd.DataFrame:
    c = ws.table("contracts").to_pandas()  # one contract per demo customer
    c["start"], c["end"] = pd.to_datetime(c["start"]), pd.to_datetime(c["end"])
    return c


def test_default_cutoff_and_labels_match_the_contracts(demo, frame):
    assert default_cutoff(demo) == CUTOFF
    assert default_cutoff(demo, 30) == D(2024, 12, 1)
    c = _contracts(demo)
    cut = pd.Timestamp(CUTOFF)
    active = c[(c.start < cut) & (c.end.isna() | (c.end >= cut))]
    left = active[active.end < cut + pd.Timedelta(days=90)]
    assert frame["customer_id"].tolist() == sorted(active.customer_id)
    assert sorted(frame.loc[frame.churned == 1, "customer_id"]) == sorted(left.customer_id)
    assert (len(frame), int(frame.churned.sum())) == (1079, 125)
    assert {"tenure_days", "spend_trend", "recency_days", "complaints_365d", "plan",
            "relationship_type", "segment", "region", "nps_class"} <= set(frame.columns)
    assert set(frame["nps_class"].dropna()) == {"promoter", "passive", "detractor"}


def _plant(ws, tmp_path, when: dt.datetime, customer: str, new_customer: bool = True):
    """Add a purchase, two complaints and an NPS 0 of ``customer`` at ``when`` and later,
    and a new customer whose contract starts after ``when``."""
    day = when.date()
    ws.import_file("transactions", write_csv(tmp_path / "t.csv", (
        "transaction_id,customer_id,timestamp,amount\n"
        f"PLANT1,{customer},{when:%Y-%m-%d %H:%M:%S},10000\n")))
    ws.import_file("interactions", write_csv(tmp_path / "i.csv", (
        "customer_id,touchpoint,kind,opened_at\n"
        f"{customer},call_centre,complaint,{when:%Y-%m-%d %H:%M:%S}\n"
        f"{customer},web,complaint,{day + dt.timedelta(days=10)}\n")))
    ws.import_file("survey_responses", write_csv(tmp_path / "s.csv", (
        "respondent_id,customer_id,survey,item,answer,timestamp\n"
        f"PLANTED,{customer},relationship,nps,0,{day + dt.timedelta(days=1)}\n")))
    if new_customer:
        ws.import_file("customers", write_csv(tmp_path / "c.csv", (
            "customer_id,relationship_type,region,segment\nZ99999,business,north,premium\n")))
        ws.import_file("contracts", write_csv(tmp_path / "k.csv", (
            "customer_id,plan,start\n"
            f"Z99999,premium,{day + dt.timedelta(days=1)}\n")))


def test_events_after_the_cutoff_change_nothing(demo, frame, tmp_path):
    copy = Workspace.open(shutil.copytree(demo.path, tmp_path / "ws"))
    who = frame.loc[frame.churned == 0, "customer_id"].iloc[0]
    _plant(copy, tmp_path, dt.datetime.combine(CUTOFF, dt.time()), who)
    assert copy.warehouse.row_count("contracts") == demo.warehouse.row_count("contracts") + 1
    after = training_frame(copy, CUTOFF)
    pd.testing.assert_frame_equal(after, frame)  # the model's training rows are unchanged
    # ... while the same events one second before the cut-off are seen: one more purchase
    # of 10000, one more complaint (the second is 10 days later) and an NPS class
    copy2 = Workspace.open(shutil.copytree(demo.path, tmp_path / "ws2"))
    _plant(copy2, tmp_path, dt.datetime.combine(CUTOFF, dt.time()) - dt.timedelta(seconds=1),
           who, new_customer=False)
    row = workspace_features(copy2, CUTOFF).to_pandas().set_index("customer_id").loc[who]
    old = frame.set_index("customer_id").loc[who]
    assert row["spend_90d"] == pytest.approx(old["spend_90d"] + 10000)
    assert row["complaints_365d"] == old["complaints_365d"] + 1
    assert row["recency_days"] == 1  # 23:59:59 the day before: one day before the cut-off


def test_cutoff_must_leave_the_window_observed(demo):
    with pytest.raises(InputError, match="reaches past the latest known day 2024-12-30"):
        fit_workspace(demo, "2024-10-03")


@pytest.mark.slow
def test_cli_fit_and_score_on_the_workspace(demo, frame, tmp_path):
    res = runner.invoke(app, ["churn", "fit", "-w", str(demo.path), "--format", "json"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["training"]["cutoff"] == "2024-10-02"
    assert (doc["training"]["rows"], doc["training"]["churned"]) == (1079, 125)
    assert doc["model_path"] == str(model_path(demo))
    # 5-fold, seed 0, measured: model AUC 0.862, baseline 0.864 (the demo's churn is driven
    # by complaints and purchase recency, which the logistic baseline captures as well)
    assert 0.82 < doc["model"]["auc"] < 0.90
    assert doc["model"]["auc"] > doc["baseline"]["auc"] - 0.02
    assert doc["model"]["ece"] < 0.06
    assert doc["model"]["top_decile_lift"] > 3
    assert "contracts" in doc["data"]["excluded"]  # one contract each: a constant column

    out = tmp_path / "scores.csv"
    res = runner.invoke(app, ["churn", "score", "-w", str(demo.path), "--out", str(out),
                              "--format", "json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    c = _contracts(demo)
    still = sorted(c.loc[c.end.isna(), "customer_id"])  # every end is on or before 12-30
    assert json.loads(res.stdout)["rows"] == len(still) == 954
    scores = demo.result("churn_scores").to_pandas().sort_values("customer_id")
    assert scores["customer_id"].tolist() == still
    assert scores["churn_probability"].between(0, 1, inclusive="neither").all()
    assert (scores["as_of"] == pd.Timestamp(2024, 12, 30)).all()
    assert (scores["model_cutoff"] == pd.Timestamp(CUTOFF)).all()
    top = scores.sort_values("churn_probability").iloc[-1]
    assert top["reason_1"].split(" = ")[0] in set(frame.columns)
    assert pd.read_csv(out).shape[0] == 954


def test_cli_errors(demo, tmp_path):
    res = runner.invoke(app, ["churn", "fit", "-w", str(demo.path), "--cutoff", "2024-12-01"])
    assert res.exit_code == 2 and "reaches past the latest known day" in res.output
    res = runner.invoke(app, ["churn", "fit", "--table", str(tmp_path / "x.csv")])
    assert res.exit_code == 2 and "--table needs --label" in res.output
    empty = Workspace.init(tmp_path / "empty")
    res = runner.invoke(app, ["churn", "score", "-w", str(empty.path)])
    assert res.exit_code == 2 and "no churn model in this workspace" in res.output
