"""The uplift model of a campaign on the workspace: features as known before each
customer's day, by hand on DuckDB and Spark; a simulated campaign whose effect depends on
recency found (Qini against random, the responsive customers ranked first); the command
with its figure and scores; what is refused."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import Workspace
from cvm.campaign.outcomes import read_campaign
from cvm.campaign.uplift_workspace import features_before
from cvm.cli import app
from cvm.errors import InputError

DAY = dt.date(2024, 6, 1)
WINDOW = 60


def test_features_are_what_was_known_before_each_day(ws, tmp_path, engine):
    write_csv(tmp_path / "c.csv", """
customer_id,region,signup_date
a,north,2023-12-01
b,south,
c,north,2024-04-01
""")
    # a's purchase on its campaign day (10 March) and later ones are not features; b's of
    # 25 March 2023 is 361 days before its day (20 March 2024, a leap year): in the 365
    # days, not in the 180 before the last 180
    write_csv(tmp_path / "t.csv", """
customer_id,timestamp,amount
a,2024-01-10 10:00,100
a,2024-03-01 10:00,50
a,2024-03-10 09:00,30
a,2024-03-15 10:00,20
b,2023-03-25 10:00,10
b,2024-03-19 10:00,40
c,2024-04-05 10:00,5
c,2024-04-25 10:00,5
""")
    write_csv(tmp_path / "campaign.csv", """
customer_id,arm,date
a,email,2024-03-10
b,control,2024-03-20
c,email,2024-03-20
""")
    ws.import_file("customers", tmp_path / "c.csv")
    ws.import_file("transactions", tmp_path / "t.csv")
    ws = ws.with_settings(engine=engine)
    got = features_before(ws, read_campaign(tmp_path / "campaign.csv")).set_index("row")
    cols = ["recency_days", "purchases_365d", "spend_365d", "spend_90d", "spend_prior_90d",
            "spend_180d", "spend_prior_180d", "tenure_days", "region"]
    # a on 10 March: purchases 60 (10 Jan) and 9 days before (1 March); tenure from the
    # signup, 100 days before; b on 20 March: 361 and 1 day before, tenure 361 days
    assert got.loc[1, cols].tolist() == [9, 2, 150.0, 150.0, 0.0, 150.0, 0.0, 100, "north"]
    assert got.loc[2, cols].tolist() == [1, 2, 50.0, 40.0, 0.0, 40.0, 0.0, 361, "south"]
    # c signed up after its day: not known yet, no features
    assert got.loc[3, cols].isna().all()
    with pytest.raises(InputError, match="no scores stored as of a day before 2024-03-10"):
        features_before(ws, read_campaign(tmp_path / "campaign.csv"), "scores")


def simulate(folder, n: int = 2000, seed: int = 11):
    """Customers half of whom bought in the 90 days before the campaign day (the others
    200-360 days before), 1-3 purchases each, a region at random; email or control at
    random. In the 60 days after the day each buys with probability 0.10, plus 0.30 for
    an emailed recent buyer: the true uplift is 0.30 for recent buyers and 0 for the rest,
    0.15 on average."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"c{i:05d}" for i in range(n)])
    recent = rng.uniform(size=n) < 0.5
    day = pd.Timestamp(DAY)
    rows = []
    for cid, r in zip(ids, recent, strict=True):
        ages = rng.integers(5, 90, rng.integers(1, 4)) if r else \
            rng.integers(200, 360, rng.integers(1, 4))
        rows += [(cid, day - pd.Timedelta(days=int(a)) + pd.Timedelta(hours=10),
                  round(float(rng.gamma(2, 30)), 2)) for a in ages]
    arm = np.where(rng.uniform(size=n) < 0.5, "email", "control")
    buy = rng.uniform(size=n) < 0.10 + 0.30 * ((arm == "email") & recent)
    rows += [(cid, day + pd.Timedelta(days=int(rng.integers(1, WINDOW)), hours=12), 40.0)
             for cid in ids[buy]]
    rows.append((ids[0], day + pd.Timedelta(days=WINDOW + 10), 1.0))  # data past the window
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).to_csv(
        folder / "t.csv", index=False)
    pd.DataFrame({"customer_id": ids, "region": rng.choice(["north", "south", "east"], n)}
                 ).to_csv(folder / "c.csv", index=False)
    pd.DataFrame({"customer_id": ids, "arm": arm, "date": DAY.isoformat()}).to_csv(
        folder / "campaign.csv", index=False)
    ws = Workspace.init(folder / "ws")
    ws.import_file("customers", folder / "c.csv")
    ws.import_file("transactions", folder / "t.csv")
    return ws, pd.Series(recent, index=ids), folder / "campaign.csv"


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("uplift"))


# The Qini coefficient of the perfect ranking, by hand: with half the customers emailed,
# targeting a share f <= 1/2 (recent buyers only) gains 0.30 x f/2 = 0.15 f per customer of
# the base, then nothing more: 0.075 at f = 1; random targeting gains 0.075 f. The area
# between is the integral of 0.075 f over [0, 1/2] plus that of 0.075 (1 - f) over [1/2, 1]:
# 0.075 / 8 + 0.075 / 8 = 0.01875. Under random rankings the coefficient is about 0 with a
# spread of about 0.0025 on 2,000 customers (the model's own 95th percentile of 199 random
# rankings is near 0.004): 0.6 of the perfect ranking's, 0.011, is over four such spreads.
PERFECT_QINI = 0.01875


@pytest.mark.parametrize("method", ["two_model", "transformed"])
def test_finds_the_responsive_customers_on_the_workspace(simulated, method):
    ws, recent, path = simulated
    model, scored = ws.campaign.uplift(path, "purchase", WINDOW, method=method,
                                       score_as_of=DAY)
    assert model.arm_ == "email" and model.control_ == "control"
    assert "recency_days" in model.features_ and "customer_id" not in model.features_
    assert model.excluded_["segment"] == "the same value in every row"
    assert model.qini_coefficient_ > 0.6 * PERFECT_QINI > 2 * model.random_qini_
    assert model.qini_p_value_ == pytest.approx(1 / 200)  # above all 199 random rankings
    s = model.summary().set_index("term")
    # the true uplift is 0.15 on average, 0.30 among recent buyers, 0 among the others
    assert s.loc["all customers", "ci_low"] < 0.15 < s.loc["all customers", "ci_high"]
    top, bottom = s.iloc[1], s.iloc[-1]
    assert top["ci_low"] < 0.30 < top["ci_high"] and top["ci_low"] > 0.15
    assert bottom["ci_low"] < 0 < bottom["ci_high"]
    # whom to target next time: every customer scored from what was known at the end of
    # the day; the first half by predicted uplift is mostly recent buyers (half at random;
    # a random half's share has a spread of 0.016)
    assert len(scored) == len(recent) and scored["rank"].tolist() == list(range(1, 2001))
    first = recent.reindex(scored["customer_id"].head(1000))
    assert first.mean() > 0.75


def test_features_from_the_stored_scores_of_the_day_before(simulated):
    ws, recent, path = simulated
    ws.scoring.run(DAY - dt.timedelta(days=1))      # the monthly run as of 31 May
    model, scored = ws.campaign.uplift(path, "purchase", WINDOW, features_from="scores",
                                       score_as_of=DAY)
    # the scores only: lifecycle_stage (recent buyers are active, the others lapsing)
    # carries the recency the uplift depends on
    assert "lifecycle_stage" in model.features_ and "recency_days" not in model.features_
    assert model.qini_coefficient_ > 0.6 * PERFECT_QINI and model.qini_p_value_ < 0.01
    assert recent.reindex(scored["customer_id"].head(1000)).mean() > 0.75
    both, _ = ws.campaign.uplift(path, "purchase", WINDOW, features_from="both")
    assert {"recency_days", "score_lifecycle_stage"} <= set(both.features_)


def test_the_command_on_the_workspace(simulated, tmp_path):
    ws, recent, path = simulated
    run = CliRunner()
    figure, out = tmp_path / "qini.html", tmp_path / "next.csv"
    res = run.invoke(app, ["campaign", "uplift", "--campaign", str(path), "--window-days",
                           str(WINDOW), "--score-as-of", DAY.isoformat(), "--out", str(out),
                           "--figure", str(figure), "--workspace", str(ws.path),
                           "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["arm"] == "email" and doc["scores"] == str(out)
    assert doc["qini_coefficient"] > 0.6 * PERFECT_QINI
    assert doc["summary"][0]["n"] + doc["summary"][0]["control_n"] == 2000
    assert "Qini curve: email against control on purchase" in figure.read_text()
    scores = pd.read_csv(out)
    assert list(scores.columns) == ["customer_id", "uplift", "rank"] and len(scores) == 2000
    table = run.invoke(app, ["campaign", "uplift", "--campaign", str(path), "--window-days",
                             str(WINDOW), "--learner", "linear", "--workspace", str(ws.path)])
    assert table.exit_code == 0, table.output
    assert "group 1 (top 0-20%)" in table.stdout and "Qini coefficient" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["--score", "x.csv", "--out", "o.csv"], "--score and --id go with --table"),
    (["--score-as-of", "2024-06-01"], "go together"),
    (["--outcome", "revenue"], "--outcome 'revenue': the workspace measures"),
    (["--features", "weather"], "--features 'weather': one of purchase, scores, both"),
    (["--window-days", "400"], "window of 2000 customer"),
])
def test_the_command_refuses(simulated, tmp_path, args, message):
    ws, _, path = simulated
    (tmp_path / "x.csv").write_text("a\n1\n")
    args = [a if a != "x.csv" else str(tmp_path / "x.csv") for a in args]
    res = CliRunner().invoke(app, ["campaign", "uplift", "--campaign", str(path),
                                   "--window-days", str(WINDOW), *args, "--workspace",
                                   str(ws.path)])
    assert res.exit_code == 2 and message in res.stderr, res.output
