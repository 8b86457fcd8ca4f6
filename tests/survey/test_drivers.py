"""Key drivers (Shapley, relative weights) and the importance-performance map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_data
from cvm.errors import InputError
from cvm.survey import PLSPathModel
from cvm.survey.drivers import ipma, key_drivers
from cvm.survey.figures import importance_performance_figure

QUALITY = [f"PERQ{i}" for i in range(1, 8)]


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "ecsi" / "mobi.csv", index_col=0)


def _ols_r2(X: np.ndarray, y: np.ndarray) -> float:
    design = np.column_stack([np.ones(len(y)), X])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return 1 - resid.var() / y.var()


@pytest.mark.parametrize("method", ["shapley", "relative_weights"])
def test_importances_add_up_to_the_ols_r2(mobi, method):
    out = key_drivers(mobi, "CUSA1", QUALITY, method=method, n_bootstrap=0)
    r2 = _ols_r2(mobi[QUALITY].to_numpy(float), mobi["CUSA1"].to_numpy(float))
    assert out["importance"].sum() == pytest.approx(r2, 1e-10)
    assert out.attrs["r2"] == pytest.approx(r2, 1e-10)
    assert out["share"].sum() == pytest.approx(1.0)


def test_two_drivers_by_hand(mobi):
    # Shapley with two predictors: phi_1 = (R2(1) + R2(1,2) - R2(2)) / 2, R2(k) = r_ky^2
    r = mobi[["PERQ1", "PERV1", "CUSA1"]].corr().to_numpy()
    r1, r2 = r[0, 2] ** 2, r[1, 2] ** 2
    both = _ols_r2(mobi[["PERQ1", "PERV1"]].to_numpy(float), mobi["CUSA1"].to_numpy(float))
    out = key_drivers(mobi, "CUSA1", ["PERQ1", "PERV1"], n_bootstrap=0).set_index("driver")
    assert out.importance["PERQ1"] == pytest.approx((r1 + both - r2) / 2, 1e-10)
    assert out.importance["PERV1"] == pytest.approx((r2 + both - r1) / 2, 1e-10)


def test_uncorrelated_drivers_get_their_squared_correlation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X, _ = np.linalg.qr(X - X.mean(axis=0))  # centred, exactly uncorrelated columns
    y = X @ [3.0, 2.0, 1.0] + rng.normal(size=60) * 0.05
    df = pd.DataFrame(np.column_stack([X, y]), columns=["a", "b", "c", "y"])
    corr = df.corr()["y"]
    for method in ("shapley", "relative_weights"):
        out = key_drivers(df, "y", ["a", "b", "c"], method=method, n_bootstrap=0,
                          min_answers=10).set_index("driver")
        np.testing.assert_allclose(out.importance[["a", "b", "c"]],
                                   corr[["a", "b", "c"]] ** 2, rtol=1e-8)
        assert out["rank"].tolist() == [1, 2, 3]


def test_drivers_with_too_few_answers_are_flagged_not_ranked(mobi):
    df = mobi.copy()
    df.loc[df.index[25:], "PERQ7"] = np.nan  # only 25 answers
    out = key_drivers(df, "CUSA1", QUALITY, min_answers=30, n_bootstrap=0,
                      scale=(1, 10)).set_index("driver")
    assert out.too_few_answers["PERQ7"] and pd.isna(out.importance["PERQ7"])
    assert pd.isna(out["rank"]["PERQ7"]) and out.quadrant["PERQ7"] is None
    assert out["rank"].dropna().sort_values().tolist() == [1, 2, 3, 4, 5, 6]
    assert out.answers["PERQ7"] == 25 and out.attrs["n"] == 250
    # performance: mean rating on 0-100; quadrants split at the ranked drivers' means
    assert out.performance["PERQ1"] == pytest.approx(100 * (mobi.PERQ1.mean() - 1) / 9)
    ranked = out[~out.too_few_answers]
    for name, row in ranked.iterrows():
        hi_i = row.importance >= ranked.importance.mean()
        hi_p = row.performance >= ranked.performance.mean()
        expected = {(True, False): "concentrate here", (True, True): "keep up the good work",
                    (False, False): "low priority", (False, True): "possible overkill"}
        assert row.quadrant == expected[(hi_i, hi_p)], name


def test_driver_bootstrap_is_seeded(mobi):
    a = key_drivers(mobi, "CUSA1", QUALITY, n_bootstrap=100, random_state=4)
    b = key_drivers(mobi, "CUSA1", QUALITY, n_bootstrap=100, random_state=4)
    pd.testing.assert_frame_equal(a, b)
    assert (a.ci_low < a.importance).all() and (a.importance < a.ci_high).all()
    with pytest.raises(InputError, match="only 1 driver"):
        key_drivers(mobi, "CUSA1", ["PERQ1"])


def test_ipma_importance_is_the_unstandardised_total_effect(mobi):
    fit = PLSPathModel().fit(mobi)
    table = ipma(fit, "Loyalty").set_index("construct")
    s = fit.index_scores(mobi)
    # Complaints -> Loyalty is direct only: it equals the OLS slope of the 0-100 Loyalty
    # index on the 0-100 indices of Loyalty's predecessors
    design = np.column_stack([np.ones(len(s)), s[["Image", "Satisfaction", "Complaints"]]])
    b = np.linalg.lstsq(design, s["Loyalty"], rcond=None)[0]
    assert table.importance["Complaints"] == pytest.approx(b[3], 1e-9)
    # Satisfaction: direct + through Complaints, each in index units
    c = np.polyfit(s["Satisfaction"], s["Complaints"], 1)[0]
    assert table.importance["Satisfaction"] == pytest.approx(b[2] + c * b[3], 1e-9)
    assert table.performance["Value"] == pytest.approx(fit.index_["Value"])
    assert "Loyalty" not in table.index


def test_importance_performance_figure(mobi):
    table = ipma(PLSPathModel().fit(mobi), "Satisfaction")
    fig = importance_performance_figure(table)
    (trace,) = fig.data
    np.testing.assert_allclose(trace.x, table.importance)
    assert list(trace.text) == list(table.construct)
    assert fig.layout.shapes[0].x0 == pytest.approx(table.importance.mean())
    assert fig.layout.shapes[1].y0 == pytest.approx(table.performance.mean())
