"""Discounted CLV from a purchase model and the Gamma-Gamma spend model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import cdnow_summary
from conftest import shared_data
from cvm.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    customer_lifetime_value,
    discounted_expected_purchases,
    score_customers,
)
from cvm.config import ClvSettings
from cvm.errors import InputError

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def spend_table():
    return pd.read_csv(shared_data() / "cdnow" / "cdnow_summary_spend.csv").set_index("ID")


def test_one_period_clv_by_hand():
    # H = 1 period of 4 weeks at 1% a period, customer x = 2, t_x = 30.43, T = 38.86,
    # zbar = 22.35: CLV = E[Z | zbar, x] * E[Y(4) | x, t_x, T] / 1.01
    bg, gg = BetaGeoModel.from_params(BGNBD), GammaGammaModel.from_params(GG)
    spend = 6.25 * (15.44 + 2 * 22.35) / (6.25 * 2 + 3.74 - 1)  # = 375.875 / 15.24
    purchases = bg.conditional_expected_purchases(4.0, [2], [30.43], [38.86])[0]
    clv = customer_lifetime_value(bg, gg, [2], [30.43], [38.86], [22.35], horizon=1,
                                  discount_rate=0.01, period_length=4.0)
    assert clv[0] == pytest.approx(spend * purchases / 1.01, rel=1e-12)
    assert spend == pytest.approx(24.6637, abs=1e-4)


def test_undiscounted_purchases_telescope_to_the_horizon_expectation():
    cd = cdnow_summary()
    bg = BetaGeoModel.from_params(BGNBD)
    det = discounted_expected_purchases(bg, cd.frequency, cd.recency, cd["T"], horizon=39,
                                        discount_rate=0.0)
    # with d = 0 the sum of the 39 weekly increments is E[Y(39)]: 1,654 over the sample
    assert det.sum() == pytest.approx(1654, abs=1)
    direct = bg.conditional_expected_purchases(39.0, cd.frequency, cd.recency, cd["T"])
    np.testing.assert_allclose(det, direct, rtol=1e-10)


def test_discounting_by_brute_force_loop():
    pareto = ParetoNBDModel.from_params({"r": 0.553, "alpha": 10.578, "s": 0.606,
                                         "beta": 11.669})
    x, t_x, T = np.array([0, 3, 7]), np.array([0.0, 20.0, 35.0]), np.array([30.0, 38.0, 38.0])
    got = discounted_expected_purchases(pareto, x, t_x, T, horizon=12, discount_rate=0.02,
                                        period_length=4.345)
    for i in range(3):
        total, prev = 0.0, 0.0
        for k in range(1, 13):
            cum = pareto.conditional_expected_purchases(k * 4.345, x[i:i + 1], t_x[i:i + 1],
                                                        T[i:i + 1])[0]
            total += (cum - prev) / 1.02 ** k
            prev = cum
        assert got[i] == pytest.approx(total, rel=1e-12)


def test_defaults_come_from_the_clv_settings():
    bg = BetaGeoModel.from_params(BGNBD)
    s = ClvSettings(discount_rate=0.05, horizon_periods=3)
    a = discounted_expected_purchases(bg, [1], [5.0], [20.0], settings=s)
    b = discounted_expected_purchases(bg, [1], [5.0], [20.0], horizon=3, discount_rate=0.05)
    assert a[0] == b[0]
    default = discounted_expected_purchases(bg, [1], [5.0], [20.0])
    explicit = discounted_expected_purchases(bg, [1], [5.0], [20.0], horizon=36,
                                             discount_rate=0.01)
    assert default[0] == explicit[0]


def test_score_customers_joins_unique_rows_back(spend_table):
    d = spend_table
    bg = BetaGeoModel().fit(d.x, d.t_x, d["T"])
    gg = GammaGammaModel().fit(d.x[d.x > 0], d.zbar[d.x > 0])
    scores = score_customers(bg, gg, d.x, d.t_x, d["T"], d.zbar, horizon=12,
                             discount_rate=0.01, period_length=4.345, margin=0.3)
    assert list(scores.index[:3]) == [1, 2, 3]
    assert len(scores) == 2357
    # row by row without compression gives the same numbers
    one = d.iloc[[0, 500, 2356]]
    for cid, row in one.iterrows():
        p = bg.probability_alive([row.x], [row.t_x], [row["T"]])[0]
        assert scores.loc[cid, "p_alive"] == pytest.approx(p, rel=1e-12)
        clv = customer_lifetime_value(bg, gg, [row.x], [row.t_x], [row["T"]], [row.zbar],
                                      horizon=12, discount_rate=0.01, period_length=4.345,
                                      margin=0.3)[0]
        assert scores.loc[cid, "clv"] == pytest.approx(clv, rel=1e-12)
    assert (scores.clv > 0).all()


def test_bgbb_as_purchase_model():
    m = BetaGeoBetaBinomModel.from_params({"alpha": 1.204, "beta": 0.750, "gamma": 0.657,
                                           "delta": 2.783})
    det = discounted_expected_purchases(m, [3], [5], [6], horizon=5, discount_rate=0.0)
    np.testing.assert_allclose(det, m.conditional_expected_purchases(5, [3], [5], [6]),
                               rtol=1e-12)


def test_bad_options():
    bg = BetaGeoModel.from_params(BGNBD)
    with pytest.raises(InputError, match="discount_rate"):
        discounted_expected_purchases(bg, [1], [5.0], [20.0], discount_rate=1.5)
    with pytest.raises(InputError, match="horizon"):
        discounted_expected_purchases(bg, [1], [5.0], [20.0], horizon=0)
