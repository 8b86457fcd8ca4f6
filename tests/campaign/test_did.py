"""Difference-in-differences on simulated panels with a known effect: the estimate is the
double difference of means, its clustered interval covers the truth, parallel pre-trends
pass and a violated pre-trend is flagged; the policy panel of examples/ and bad panels."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from typer.testing import CliRunner

from conftest import ROOT, write_csv
from cvm.campaign.did import difference_in_differences, period_order
from cvm.cli import app
from cvm.errors import InputError

EFFECT = 3.0


def panel(seed=11, units=200, periods=8, start=5, extra_trend=0.0, effect=EFFECT):
    """Half the units treated from period ``start`` on; unit effects, a common trend, AR(1)
    noise within a unit (what clustering is for); ``extra_trend`` a per-period drift of the
    treated group only (a violation of parallel trends)."""
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(periods), units)
    treated = u < units // 2
    noise = np.zeros(u.size)
    e = rng.normal(0, 1, (units, periods))
    for k in range(1, periods):
        e[:, k] += 0.6 * e[:, k - 1]
    noise = e.ravel()
    y = (10 + rng.normal(0, 2, units)[u] + 0.5 * t + 2 * treated
         + effect * treated * (t >= start) + extra_trend * treated * t + noise)
    return pd.DataFrame({"unit": u.astype(str), "period": t,
                         "group": np.where(treated, "pilot", "other"), "y": y})


def test_known_effect_parallel_trends():
    data = panel()
    res = difference_in_differences(data, "unit", "period", "group", "other", ["y"], 5)
    row = res.effects.iloc[0]
    # balanced panel: the estimate is the double difference of the four means, exactly
    m = data.assign(post=data["period"] >= 5).groupby(["group", "post"])["y"].mean()
    double = (m["pilot", True] - m["pilot", False]) - (m["other", True] - m["other", False])
    assert row["estimate"] == pytest.approx(double, abs=1e-9)
    assert row["ci_low"] < EFFECT < row["ci_high"]
    assert abs(row["estimate"] - EFFECT) < 3 * row["std_err"]
    assert (row["units"], row["control_units"]) == (100, 100)
    assert (row["pre_periods"], row["post_periods"]) == (5, 3)
    assert row["parallel_trends"] == "not rejected" and row["pretrend_p"] > 0.05
    assert row["verdict"] == "higher than comparison"
    # the interval is statsmodels' cluster-robust one of the same regression
    t = data["period"].to_numpy()
    d = (data["group"] == "pilot").to_numpy(float)
    x = np.column_stack([(t[:, None] == np.arange(8)).astype(float), d, d * (t >= 5)])
    fit = sm.OLS(data["y"].to_numpy(), x).fit(
        cov_type="cluster", cov_kwds={"groups": data["unit"].astype(int).to_numpy()},
        use_t=True)
    assert row["std_err"] == pytest.approx(fit.bse[-1], rel=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(fit.conf_int()[-1]),
                                                            rel=1e-9)
    # each period's means
    p = res.periods
    assert len(p) == 8 and list(p["after_launch"]) == [False] * 5 + [True] * 3
    first = data[data["period"] == 0].groupby("group")["y"].mean()
    assert p.iloc[0]["mean"] == pytest.approx(first["pilot"])
    assert p.iloc[0]["difference"] == pytest.approx(first["pilot"] - first["other"])


def test_violated_pre_trend_is_flagged():
    """The treated group drifts up .4 a period more than the comparison from the start:
    the estimate is biased (4 periods of drift) and the check flags it."""
    res = difference_in_differences(panel(extra_trend=0.4), "unit", "period", "group",
                                    "other", ["y"], 5)
    row = res.effects.iloc[0]
    assert row["parallel_trends"] == "violated" and row["pretrend_p"] < 1e-6
    assert row["pretrend_slope"] == pytest.approx(0.4, abs=0.1)
    assert row["verdict"] == "pre-period trends differ: not credible"
    assert not row["ci_low"] < EFFECT < row["ci_high"]  # why the flag matters


def test_coverage_over_simulated_panels():
    """40 panels with a true effect of 3: the 95% interval covers it in at least 34 (a
    correct method fails this with probability about .005); none flags a pre-trend more
    than a 5% test would (at most 7 of 40)."""
    covered = flagged = 0
    for seed in range(40):
        row = difference_in_differences(panel(seed=1000 + seed, units=60), "unit", "period",
                                        "group", "other", ["y"], 5).effects.iloc[0]
        covered += row["ci_low"] < EFFECT < row["ci_high"]
        flagged += row["parallel_trends"] == "violated"
    assert covered >= 34 and flagged <= 7, (covered, flagged)


def test_one_pre_period_is_not_checked():
    data = panel(periods=4, start=1)
    row = difference_in_differences(data, "unit", "period", "group", "other", ["y"],
                                    1).effects.iloc[0]
    assert row["parallel_trends"] == "not checked (one pre-period)"
    assert np.isnan(row["pretrend_p"])


def test_period_order():
    keys, start, order = period_order(pd.Series(["10", "9", "11"]), "10")
    assert order == [9, 10, 11] and start == 10  # numbers, not text
    keys, start, order = period_order(pd.Series(["2024-02", "2024-10", "2024-01"]), "2024-07")
    assert [k.month for k in order] == [1, 2, 10] and start.month == 7
    keys, start, order = period_order(pd.Series(["b", "a"]), "b")
    assert order == ["a", "b"]
    with pytest.raises(InputError, match="the periods are numbers"):
        period_order(pd.Series(["1", "2"]), "July")


def test_policy_panel_of_the_examples():
    """examples/policy_panel.csv (make_examples.py): 15 pilot stores of 40, +8 a month from
    July 2024, parallel trends before. The command finds about 8 and no pre-trend."""
    runner = CliRunner()
    res = runner.invoke(app, ["campaign", "did", "--table",
                              str(ROOT / "examples" / "policy_panel.csv"), "--unit", "store",
                              "--period", "month", "--group", "group", "--control", "other",
                              "--outcome", "revenue", "--start", "2024-07", "--format", "json"])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.stdout)
    assert (row["arm"], row["units"], row["control_units"]) == ("pilot", 15, 25)
    assert (row["pre_periods"], row["post_periods"]) == (6, 6)
    assert row["ci_low"] < 8.0 < row["ci_high"]
    assert row["parallel_trends"] == "not rejected"


def test_bad_panels(tmp_path):
    runner = CliRunner()
    mixed = write_csv(tmp_path / "p.csv", """
unit,period,group,y
a,1,t,1
a,2,c,2
b,1,c,1
b,2,c,2
""")
    base = ["campaign", "did", "--table", str(mixed), "--unit", "unit", "--period", "period",
            "--group", "group", "--control", "c", "--outcome", "y"]
    res = runner.invoke(app, [*base, "--start", "2"])
    assert res.exit_code == 2 and "unit 'a' (column 'unit') is in more than one group" in \
        res.output
    fine = write_csv(tmp_path / "q.csv", mixed.read_text().replace("a,2,c", "a,2,t"))
    res = runner.invoke(app, ["campaign", "did", "--table", str(fine), *base[4:],
                              "--start", "9"])
    assert res.exit_code == 2 and "need at least one of each" in res.output
    res = runner.invoke(app, [*base[:-2], "--outcome", "sales", "--start", "2"])
    assert res.exit_code == 2 and "p.csv: --outcome 'sales' is not a column" in res.output
    res = runner.invoke(app, [*base])
    assert res.exit_code == 2 and "--start" in res.output
