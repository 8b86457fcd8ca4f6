"""The uplift model: the estimator contract, the Qini curve by hand, a simulated campaign
whose effect depends on one feature (found by both ways, better than random rankings), and
the command on examples/campaign_results.csv."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import ROOT
from cvm.campaign.uplift import UpliftModel, qini_coefficient, qini_curve
from cvm.cli import app
from cvm.errors import InputError
from estimator_checks import check_estimator


def campaign(n=3000, seed=0):
    """Half treated at random. Treatment raises buying from 25% to 45% where x1 > 0 and
    lowers it to 15% where x1 <= 0 (customers it annoys); x2 and seg only move the base."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n),
                      "seg": rng.choice(["a", "b", "c"], n)})
    w = rng.integers(0, 2, n)
    base = 0.25 + 0.05 * (x["seg"] == "a")
    p = np.where(w == 1, np.where(x["x1"] > 0, base + 0.20, base - 0.10), base)
    y = (rng.random(n) < p).astype(float)
    return x, w, y


def test_contract():
    x, w, y = campaign(1200)
    check_estimator(lambda: UpliftModel(folds=3, learner="linear"),
                    lambda est: est.fit(x, w, y), ("method", "three_model"))
    check_estimator(lambda: UpliftModel(folds=3, method="transformed"),
                    lambda est: est.fit(x, w, y), ("folds", 1))


def test_qini_curve_by_hand():
    """Scores 4, 3, 2, 1 on treated, control, treated, control with outcomes 1, 0, 1, 1.
    Top 1: Y_t = 1, no control yet: Q = 1. Top 2: 1 - 0 x 1/1 = 1. Top 3: 2 - 0 x 2/1 = 2.
    All 4: 2 - 1 x 2/2 = 1. Random: Q(N) x fraction = .25, .5, .75, 1."""
    curve = qini_curve(np.array([4.0, 3, 2, 1]), np.array([1, 0, 1, 0]),
                       np.array([1.0, 0, 1, 1]))
    assert list(curve["targeted"]) == [0, 1, 2, 3, 4]
    assert list(curve["incremental"]) == [0, 1, 1, 2, 1]
    assert list(curve["random"]) == [0, 0.25, 0.5, 0.75, 1]
    # area between them, per customer: trapezoids of (Q - random) / 4 over steps of .25:
    # gains 0, .1875, .125, .3125, 0 -> .25 x (.09375 + .15625 + .21875 + .15625) = .15625
    assert qini_coefficient(curve) == pytest.approx(0.15625)
    # equal scores are one block: the curve does not depend on the order within it
    tied = qini_curve(np.array([1.0, 1, 1, 1]), np.array([1, 0, 1, 0]),
                      np.array([1.0, 0, 1, 1]))
    assert list(tied["targeted"]) == [0, 4] and qini_coefficient(tied) == 0


@pytest.mark.parametrize("method", ["two_model", "transformed"])
def test_finds_whom_the_campaign_moves(method):
    x, w, y = campaign()
    model = UpliftModel(method=method, folds=3).fit(x, w, y)
    # better than every one of 199 random rankings of the same customers
    assert model.qini_p_value_ == pytest.approx(1 / 200)
    assert model.qini_coefficient_ > model.random_qini_ > 0
    s = model.summary()
    assert s["term"].iloc[0] == "all customers" and len(s) == 6
    overall, top, bottom = s.iloc[0], s.iloc[1], s.iloc[-1]
    assert (overall["n"], overall["control_n"]) == (int(w.sum()), int((1 - w).sum()))
    assert overall["estimate"] == pytest.approx(y[w == 1].mean() - y[w == 0].mean())
    # the top fifth gains more than the average customer (true: +.20 against +.05), and
    # clearly more than the bottom fifth (true: -.10)
    assert top["ci_low"] > overall["estimate"] > bottom["estimate"]
    assert top["ci_low"] > bottom["ci_high"]
    assert bottom["estimate"] < 0
    # predictions on new customers follow x1 (the true uplift +.20 or -.10)
    fresh = pd.DataFrame({"x1": [1.5, -1.5], "x2": [0.0, 0.0], "seg": ["b", "b"]})
    up, down = model.predict(fresh)
    assert up > 0.05 and down < 0 and up - down > 0.15


def test_no_effect_is_no_better_than_random():
    x, w, _ = campaign(2000, seed=3)
    y = (np.random.default_rng(4).random(len(w)) < 0.3).astype(float)
    model = UpliftModel(learner="linear", folds=3).fit(x, w, y)
    assert model.qini_p_value_ > 0.05


def test_bad_fits():
    x, w, y = campaign(400)
    with pytest.raises(InputError, match="treated must be 1"):
        UpliftModel().fit(x, w * 2, y)
    with pytest.raises(InputError, match="too few"):
        UpliftModel(folds=20).fit(x.iloc[:150], w[:150], y[:150])
    with pytest.raises(InputError, match="lacks feature column"):
        UpliftModel(learner="linear", folds=2).fit(x, w, y).predict(x[["x1"]])


def test_command_on_the_example_campaign(tmp_path):
    """examples/campaign_results.csv: email lifts buying among newer customers (tenure under
    18 months) only. spend is an outcome, recorded after the campaign: left out as a
    feature; the scores of a file are written with the customer id."""
    data = ROOT / "examples" / "campaign_results.csv"
    new = tmp_path / "next.csv"
    pd.DataFrame({"customer_id": ["N1", "N2"], "tenure_months": [3, 60],
                  "past_spend": [100.0, 100.0], "region": ["north", "north"]}).to_csv(
        new, index=False)
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(app, [
        "campaign", "uplift", "--table", str(data), "--arm", "arm", "--control", "control",
        "--treated", "email", "--outcome", "bought", "--id", "customer_id", "--learner",
        "linear", "--score", str(new), "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["features"] == ["tenure_months", "past_spend", "region"]
    assert "spend" in doc["excluded"] and doc["arm"] == "email"
    assert doc["qini_p_value"] < 0.05
    scores = pd.read_csv(out, encoding="utf-8-sig")
    assert list(scores["customer_id"]) == ["N1", "N2"]  # the newer customer first
    assert list(scores["rank"]) == [1, 2] and scores["uplift"].iloc[0] > scores["uplift"].iloc[1]
    # several arms and none chosen: refused, naming them
    res = CliRunner().invoke(app, ["campaign", "uplift", "--table", str(data), "--arm", "arm",
                                   "--control", "control", "--outcome", "bought"])
    assert res.exit_code == 2 and "choose one with --treated" in res.output
