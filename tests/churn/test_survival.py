"""Kaplan-Meier, log-rank and Cox on small fixtures computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cvm.churn.survival import contract_tenure, cox, kaplan_meier, logrank
from cvm.errors import InputError

# Two groups of six customers, tied times and censoring (churned 0 = still a customer).
FIXTURE = pd.DataFrame({
    "tenure": [1, 2, 2, 3, 4, 5, 2, 3, 3, 4, 6, 6],
    "churned": [1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0],
    "segment": ["A"] * 6 + ["B"] * 6,
})


def test_kaplan_meier_by_hand():
    # A: t=1 n=6 d=1 -> S = 5/6; t=2 n=5 d=1 (the other 2 is censored, still at risk)
    #    -> 5/6 * 4/5 = 2/3; t=3 n=3 d=1 -> 2/3 * 2/3 = 4/9; t=4 censored (n=2);
    #    t=5 n=1 d=1 -> 0. Median: first S <= 0.5 -> t = 3.
    #    RMST to 5: 1*1 + (5/6)*1 + (2/3)*1 + (4/9)*2 = 61/18.
    # B: t=2 n=6 d=1 -> 5/6; t=3 n=5 d=2 -> 5/6 * 3/5 = 1/2; t=4 censored (n=3);
    #    t=6 n=2 d=1 (one censored) -> 1/4. Median: S(3) = 1/2 <= 0.5 -> t = 3.
    #    RMST to 5: 1*2 + (5/6)*1 + (1/2)*2 = 23/6.
    res = kaplan_meier(FIXTURE, group="segment", horizon=5)
    s = res.summary.set_index("group")
    assert s.loc["A", "median_tenure"] == 3 and s.loc["B", "median_tenure"] == 3
    assert s.loc["A", "restricted_mean_tenure"] == pytest.approx(61 / 18, abs=1e-9)
    assert s.loc["B", "restricted_mean_tenure"] == pytest.approx(23 / 6, abs=1e-9)
    assert s["customers"].tolist() == [6, 6] and s["churned"].tolist() == [4, 4]
    a = res.curves[res.curves["group"] == "A"]
    assert a["time"].tolist() == [1, 2, 3, 4, 5]
    assert a["at_risk"].tolist() == [6, 5, 3, 2, 1]
    assert a["censored"].tolist() == [0, 1, 0, 1, 0]
    np.testing.assert_allclose(a["survival"], [5 / 6, 2 / 3, 4 / 9, 4 / 9, 0])
    b = res.curves[res.curves["group"] == "B"]
    np.testing.assert_allclose(b["survival"], [5 / 6, 1 / 2, 1 / 2, 1 / 4])


def test_median_never_reached_is_infinite():
    df = pd.DataFrame({"tenure": [1, 2, 3, 4], "churned": [1, 0, 0, 0]})
    assert math.isinf(kaplan_meier(df).summary["median_tenure"].iat[0])


def test_logrank_by_hand():
    # Distinct churn times, with (n_A, n_B, d_A, d_B); E_A = d n_A / n,
    # V = n_A n_B d (n - d) / (n^2 (n - 1)):
    #   t=1: (6, 6, 1, 0): E = 6/12 = 0.5,     V = 36*11/(144*11) = 0.25
    #   t=2: (5, 6, 1, 1): E = 2*5/11,         V = 30*2*9/(121*10) = 540/1210
    #   t=3: (3, 5, 1, 2): E = 3*3/8 = 1.125,  V = 15*3*5/(64*7)  = 225/448
    #   t=5: (1, 2, 1, 0): E = 1/3,            V = 2*1*2/(9*2)    = 2/9
    #   t=6: (0, 2, 0, 1): E = 0,              V = 0
    # O_A = 4; chi2 = (O - E)^2 / V = 0.902862 on 1 df.
    e = 0.5 + 10 / 11 + 1.125 + 1 / 3
    v = 0.25 + 540 / 1210 + 225 / 448 + 2 / 9
    res = logrank(FIXTURE, "segment")
    assert res["statistic"] == pytest.approx((4 - e) ** 2 / v, rel=1e-9)
    assert res["statistic"] == pytest.approx(0.902862, abs=1e-6)
    assert res["df"] == 1 and res["groups"] == ["A", "B"]
    # p of chi2(1) at 0.902862 = 2 * (1 - Phi(sqrt(0.902862))) = erfc(sqrt(x / 2))
    assert res["p_value"] == pytest.approx(math.erfc(math.sqrt(res["statistic"] / 2)))


def test_cox_by_hand():
    # Times 1, 2, 3, 4 all churned, x = 1, 0, 1, 0; u = exp(beta). Partial likelihood:
    #   u/(2u + 2) * 1/(u + 2) * u/(u + 1) * 1.
    # Score: 2 - 2u/(u+1) - u/(u+2) = 2/(u+1) - u/(u+2) = 0  =>  u^2 - u - 4 = 0,
    #   u = (1 + sqrt 17)/2 = 2.561553, beta = ln u = 0.940614.
    # Information: sum over risk sets of the weighted variance of x:
    #   {1,0,1,0}: u/(u+1)^2; {0,1,0}: 2u/(u+2)^2; {1,0}: u/(u+1)^2; {0}: 0
    #   I = 2u/(u+1)^2 + 2u/(u+2)^2 = 0.650093, se = 1/sqrt(I) = 1.240258.
    df = pd.DataFrame({"tenure": [1, 2, 3, 4], "churned": [1, 1, 1, 1], "x": [1, 0, 1, 0]})
    u = (1 + math.sqrt(17)) / 2
    row = cox(df, ["x"]).iloc[0]
    assert row["covariate"] == "x"
    assert row["coef"] == pytest.approx(math.log(u), abs=1e-5)
    assert row["hazard_ratio"] == pytest.approx(u, abs=1e-4)
    assert row["se"] == pytest.approx(1 / math.sqrt(2 * u / (u + 1) ** 2 + 2 * u / (u + 2) ** 2),
                                      abs=1e-4)


def test_cox_dummy_codes_text_covariates():
    # With segment as the only covariate, B's coefficient is "segment=B" against A; A's
    # curve falls faster early on (4 churn by t=5 against 3 in B) so the hazard ratio < 1.
    res = cox(FIXTURE, ["segment"])
    assert res["covariate"].tolist() == ["segment=B"]
    assert res["hazard_ratio"].iat[0] < 1


def test_contract_tenure():
    contracts = pd.DataFrame({
        "contract_id": ["c1", "c2", "c3", "c4"],
        "start": ["2024-01-01", "2024-01-01", "2024-03-01", "2025-02-01"],
        "end": ["2024-01-31", None, "2025-06-30", None],
    })
    out = contract_tenure(contracts, "2025-01-01", unit="days")
    # c1 ended after 30 days; c2 active: 366 days to 2025-01-01 (2024 is a leap year);
    # c3 ends after the as-of date, so it is censored at 306 days; c4 starts later: left out.
    assert out["contract_id"].tolist() == ["c1", "c2", "c3"]
    assert out["tenure"].tolist() == [30, 366, 306]
    assert out["churned"].tolist() == [1, 0, 0]
    # in months of 365.2425/12 days (cvm._time, the Gregorian mean month): 366 days are
    # 366 * 12 / 365.2425 = 12.0248876 months (12.0246407 with the 365.25/12 used before)
    months = contract_tenure(contracts, "2025-01-01", unit="months")["tenure"]
    assert months.tolist() == pytest.approx([30 * 12 / 365.2425, 12.0248876, 306 * 12 / 365.2425],
                                            abs=1e-7)
    bad = contracts.assign(end=["2023-12-01", None, None, None])
    with pytest.raises(InputError, match="1 contract\\(s\\) end before they start, e.g. c1"):
        contract_tenure(bad, "2025-01-01")


def test_bad_durations_are_named():
    with pytest.raises(InputError, match="rows \\[2\\] hold \\[-1\\]"):
        kaplan_meier(pd.DataFrame({"tenure": [1, -1], "churned": [1, 0]}))
    with pytest.raises(InputError, match="two or more groups"):
        logrank(FIXTURE.assign(segment="A"), "segment")


def _product_limit(t: np.ndarray, e: np.ndarray, tau: float) -> tuple[float, float]:
    """Independent Kaplan-Meier: median (first S <= 0.5) and area under S up to tau."""
    times = np.unique(t[e == 1])
    s, surv = 1.0, []
    for u in times:
        s *= 1 - ((t == u) & (e == 1)).sum() / (t >= u).sum()
        surv.append(s)
    surv = np.array(surv)
    below = times[surv <= 0.5 + 1e-9]
    median = float(below[0]) if below.size else math.inf
    edges = np.concatenate([[0.0], times[times < tau], [tau]])
    heights = np.concatenate([[1.0], surv[times < tau]])
    return median, float((np.diff(edges) * heights).sum())


def test_cli_survival_on_telco_by_contract(shared_data_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    from cvm.cli import app

    path = shared_data_dir / "telco-churn" / "telco_customer_churn.csv"
    fig = tmp_path / "km.html"
    res = CliRunner().invoke(app, ["churn", "survival", "--table", str(path), "--duration",
                                   "tenure", "--event", "Churn", "--group", "Contract",
                                   "--figure", str(fig), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    raw = pd.read_csv(path)
    groups = {g["group"]: g for g in doc["groups"]}
    assert doc["horizon"] == 72 and set(groups) == set(raw["Contract"])
    for name, rows in raw.groupby("Contract"):
        t = rows["tenure"].to_numpy(float)
        e = (rows["Churn"] == "Yes").to_numpy(int)
        g = groups[name]
        assert (g["customers"], g["churned"]) == (len(rows), e.sum())
        median, rmst = _product_limit(t, e, 72)
        assert g["restricted_mean_tenure"] == pytest.approx(rmst, rel=1e-9)
        assert (g["median_tenure"] or math.inf) == median  # JSON writes infinity as null
    # month-to-month customers leave far sooner: the log-rank test on 2 df rejects equality
    assert doc["logrank"]["df"] == 2 and doc["logrank"]["p_value"] < 1e-10
    assert groups["Month-to-month"]["median_tenure"] == 35
    assert "Survival of tenure, by Contract (telco_customer_churn.csv)" in fig.read_text()


def test_survival_figure_without_groups_is_titled_for_all_customers(tmp_path):
    from cvm.churn.facade import ChurnFacade

    path = tmp_path / "t.csv"
    path.write_text("tenure,Churn\n1,Yes\n5,No\n3,Yes\n")
    ChurnFacade.survival_table(path, "tenure", "Churn", positive="Yes",
                               figure=tmp_path / "km.html")
    html = (tmp_path / "km.html").read_text()
    assert "Survival of tenure, all customers (t.csv)" in html and "by all" not in html
