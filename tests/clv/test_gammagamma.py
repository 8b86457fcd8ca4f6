"""Gamma-Gamma spend model against Fader, Hardie & Lee (2005), "RFM and CLV"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import assert_gradient_matches, sig3
from conftest import shared_data
from cvm.clv import GammaGammaModel
from cvm.errors import InputError

# Fader, Hardie & Lee (2005), JMR 42(4): the 946 repeat buyers of the CDNOW sample,
# p = 6.25, q = 3.74, gamma = 15.44, LL ~ -4055.92 (data/README.md)
PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def repeat_buyers():
    d = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary_spend.csv").set_index("ID")
    return d[d.x > 0]


@pytest.fixture(scope="module")
def fitted(repeat_buyers):
    return GammaGammaModel().fit(repeat_buyers.x, repeat_buyers.zbar)


def test_cdnow_parameters_and_log_likelihood(fitted, repeat_buyers):
    assert len(repeat_buyers) == 946
    for name, value in PUBLISHED.items():
        assert sig3(fitted.params_[name]) == sig3(value), name
    assert fitted.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)


def test_conditional_expected_spend(fitted):
    p, q, g = fitted.params_
    # customer 1 of the sample: x = 2, zbar = 22.35; by hand p (gamma + x zbar) / (p x + q - 1)
    assert fitted.conditional_expected_spend([2], [22.35])[0] == pytest.approx(
        p * (g + 2 * 22.35) / (2 * p + q - 1), rel=1e-12)
    # a weighted mean of the population mean p gamma / (q - 1) and the customer's own mean
    w = (q - 1) / (2 * p + q - 1)
    assert fitted.conditional_expected_spend([2], [22.35])[0] == pytest.approx(
        w * fitted.expected_spend() + (1 - w) * 22.35, rel=1e-12)
    # with no repeat purchase: the population mean
    assert fitted.conditional_expected_spend([0], [0.0])[0] == pytest.approx(
        fitted.expected_spend(), rel=1e-12)


def test_gradient_matches_finite_differences(repeat_buyers):
    assert_gradient_matches(GammaGammaModel(), [3.0, 2.5, 20.0],
                            [repeat_buyers.x, repeat_buyers.zbar])


def test_integer_weights_equal_duplicated_rows(repeat_buyers):
    w = np.random.default_rng(11).integers(1, 4, len(repeat_buyers))
    rep = repeat_buyers.loc[repeat_buyers.index.repeat(w)]
    a = GammaGammaModel().fit(repeat_buyers.x, repeat_buyers.zbar, weights=w)
    b = GammaGammaModel().fit(rep.x, rep.zbar)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)


def test_customers_without_repeat_purchases_are_named():
    x = pd.Series([2, 0, 1], index=["a", "b", "c"])
    spend = pd.Series([10.0, 0.0, -5.0], index=x.index)
    with pytest.raises(InputError) as err:
        GammaGammaModel().fit(x, spend)
    assert "1 customer (b) has a frequency that is not a whole number >= 1" in str(err.value)
    assert "2 customers (b, c) have a missing, zero or negative mean spend" in str(err.value)
