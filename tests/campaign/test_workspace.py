"""A campaign file measured on a workspace: purchase, spend, churn and NPS in each
customer's window equal what the files say, on DuckDB and Spark; the evaluation and the
difference-in-differences panel on top; bad campaign files refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import write_csv
from cvm import Workspace
from cvm.campaign.outcomes import measure, panel, read_campaign
from cvm.cli import app
from cvm.demo import DEMO_MAPPINGS, DemoParams, generate
from cvm.errors import InputError

WINDOW = 90


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    files = generate(tmp_path_factory.mktemp("files"), DemoParams(customers=800, seed=7))
    ws = Workspace.init(tmp_path_factory.mktemp("campaign") / "ws")
    for table, mapping in DEMO_MAPPINGS.items():
        ws.import_file(table, files[table], mapping)
    rng = np.random.default_rng(3)
    ids = np.sort(rng.choice(np.arange(1, 801), 500, replace=False))
    path = tmp_path_factory.mktemp("c") / "campaign.csv"
    pd.DataFrame({"customer_id": [f"{i:06d}" for i in ids],
                  "arm": rng.choice(["control", "email", "call"], ids.size),
                  "date": rng.choice(["2024-03-01", "2024-06-15"], ids.size)}).to_csv(
        path, index=False)
    return ws, files, path


def expected(files, campaign: pd.DataFrame) -> pd.DataFrame:
    """The outcomes computed from the generated files with pandas."""
    c = campaign.assign(w_start=pd.to_datetime(campaign["date"]) + pd.Timedelta(days=1))
    c["w_stop"] = c["w_start"] + pd.Timedelta(days=WINDOW)
    tx = pd.read_parquet(files["transactions"]).merge(c, left_on="customer",
                                                      right_on="customer_id")
    tx = tx[(tx["purchased_at"] >= tx["w_start"]) & (tx["purchased_at"] < tx["w_stop"])]
    spend = tx.groupby("row")["net_amount"].agg(["size", "sum"])
    # the demo has one contract per customer: at risk if it started by the day and had not
    # ended by it; churned if it ended within the window
    k = pd.read_parquet(files["contracts"]).merge(c, on="customer_id")
    begun = pd.to_datetime(k["start"]) <= pd.to_datetime(k["date"])
    end = pd.to_datetime(k["end"])
    running = begun & (end.isna() | (end > pd.to_datetime(k["date"])))
    k = k[running]
    ended = pd.to_datetime(k["end"]) < k["w_stop"]  # on or before the window's last day
    churn = pd.Series(ended.astype(float).to_numpy(), index=k["row"])
    r = pd.read_parquet(files["survey_responses"])
    r = r[r["item"] == "nps"].merge(c, on="customer_id")
    r = r[(r["timestamp"] >= r["w_start"]) & (r["timestamp"] < r["w_stop"])]
    last = r.sort_values("timestamp").groupby("row")["answer"].last()
    nps = pd.Series(np.select([last >= 9, last <= 6], [100.0, -100.0], 0.0), index=last.index)
    rows = campaign["row"]
    return pd.DataFrame({
        "purchase": (spend["size"].reindex(rows).fillna(0) > 0).astype(float).to_numpy(),
        "spend": spend["sum"].reindex(rows).fillna(0.0).to_numpy(),
        "churn": churn.reindex(rows).to_numpy(), "nps": nps.reindex(rows).to_numpy()})


def test_outcomes_equal_the_files(company, engine):
    ws, files, path = company
    ws = ws.with_settings(engine=engine)
    campaign = read_campaign(path)
    got = measure(ws, campaign, WINDOW)
    assert list(got.columns) == ["row", "customer_id", "arm", "date", "purchase", "spend",
                                 "churn", "nps"]
    want = expected(files, campaign)
    for col in ("purchase", "churn", "nps"):
        pd.testing.assert_series_equal(got[col].reset_index(drop=True), want[col],
                                       check_names=False)
    np.testing.assert_allclose(got["spend"], want["spend"], rtol=1e-9, atol=1e-6)
    # the data have something in each: buyers and not, churners, promoters and detractors
    assert 0 < got["purchase"].mean() < 1 and got["churn"].sum() > 0
    assert got["churn"].isna().any() and got["nps"].notna().sum() > 10
    assert {-100.0, 100.0} <= set(got["nps"].dropna())
    # the panel: spend per 30-day period, the period before the day ending with it
    p = panel(ws, campaign, period_days=30, before=2, after=1)
    assert len(p) == 3 * len(campaign) and set(p["period"]) == {-2, -1, 0}
    tx = pd.read_parquet(files["transactions"])
    for c in campaign.head(40).itertuples():
        base = pd.Timestamp(c.date) + pd.Timedelta(days=1)
        for k in (-2, -1, 0):
            lo, hi = base + pd.Timedelta(days=30 * k), base + pd.Timedelta(days=30 * (k + 1))
            mine = tx[(tx["customer"] == c.customer_id) & (tx["purchased_at"] >= lo)
                      & (tx["purchased_at"] < hi)]
            row = p[(p["row"] == c.row) & (p["period"] == k)].iloc[0]
            assert row["spend"] == pytest.approx(mine["net_amount"].sum(), abs=1e-6)
            assert row["purchase"] == float(len(mine) > 0)


def test_evaluate_on_the_workspace(company):
    ws, files, path = company
    got = ws.campaign.evaluate(path, WINDOW, control="control")
    measured = measure(ws, read_campaign(path), WINDOW)
    arms = list(dict.fromkeys(a for a in measured["arm"] if a != "control"))  # as they come
    assert sorted(arms) == ["call", "email"]
    assert list(zip(got["arm"], got["outcome"], strict=True)) == [
        (a, o) for o in ("purchase", "spend", "churn", "nps") for a in arms]
    for r in got.itertuples():
        y1 = measured.loc[measured["arm"] == r.arm, r.outcome].dropna()
        y0 = measured.loc[measured["arm"] == "control", r.outcome].dropna()
        assert (r.n, r.control_n) == (len(y1), len(y0))
        assert r.difference == pytest.approx(y1.mean() - y0.mean())
    assert list(got["kind"]) == ["rate"] * 2 + ["mean"] * 2 + ["rate"] * 2 + ["mean"] * 2
    # arms drawn at random, no real effect: no clear difference after Holm
    assert (got["p_holm"] > 0.05).all()
    res = CliRunner().invoke(app, ["campaign", "evaluate", "--campaign", str(path),
                                   "--window-days", "90", "--outcome", "purchase",
                                   "--workspace", str(ws.path), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["outcome"] for r in rows] == ["purchase", "purchase"]
    assert rows[0]["difference"] == pytest.approx(got["difference"].iloc[0])


def test_did_on_the_workspace(company):
    ws, _, path = company
    res = ws.campaign.did(path, "control", ["spend"], period_days=30, periods_before=3,
                          periods_after=2)
    e = res.effects
    assert sorted(e["arm"]) == ["call", "email"] and (e["pre_periods"] == 3).all()
    assert (e["post_periods"] == 2).all()
    assert set(res.periods["period"]) == {"-3", "-2", "-1", "0", "1"}


def test_bad_campaign_files(company, tmp_path):
    ws, _, _ = company
    late = write_csv(tmp_path / "late.csv", "customer_id,arm,date\n000001,a,2024-06-01\n"
                     "000002,control,2024-12-01\n")
    with pytest.raises(InputError, match=r"window of 1 customer\(s\) ends after the latest "
                                         r"day of the data \(2024-12-3\d\), e.g. row 2"):
        ws.campaign.evaluate(late, 90)
    unknown = write_csv(tmp_path / "u.csv", "customer_id,arm,date\n000001,a,2024-06-01\n"
                        "X9,control,2024-06-01\n")
    with pytest.raises(InputError, match=r"1 customer\(s\) of the campaign file are not in "
                                         r"the workspace's customers: 'X9' \(row 2\)"):
        ws.campaign.evaluate(unknown, 30)
    twice = write_csv(tmp_path / "t.csv", "customer_id,arm,date\n000001,a,2024-06-01\n"
                      "000001,control,2024-06-01\n")
    with pytest.raises(InputError, match="'000001' .* listed twice, rows 1 and 2"):
        read_campaign(twice)
    bad_day = write_csv(tmp_path / "d.csv", "customer_id,arm,date\n000001,a,June 1\n")
    with pytest.raises(InputError, match=r"d.csv: column 'date', row 1: 'June 1' is not a date"):
        read_campaign(bad_day)
    res = CliRunner().invoke(app, ["campaign", "evaluate", "--campaign", str(twice),
                                   "--workspace", str(ws.path), "--outcome", "revenue"])
    assert res.exit_code == 2
    ok = write_csv(tmp_path / "ok.csv", "customer_id,arm,date\n000001,a,2024-06-01\n"
                   "000002,b,2024-06-01\n")
    res = CliRunner().invoke(app, ["campaign", "evaluate", "--campaign", str(ok),
                                   "--workspace", str(ws.path), "--outcome", "revenue"])
    assert res.exit_code == 2 and "--outcome 'revenue': the workspace measures purchase, " \
        "spend, churn, nps" in res.output
    res = CliRunner().invoke(app, ["campaign", "evaluate", "--campaign", str(ok),
                                   "--workspace", str(ws.path)])
    assert res.exit_code == 2 and "the control value 'control' does not occur" in res.output
