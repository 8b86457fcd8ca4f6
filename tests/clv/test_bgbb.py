"""BG/BB against Fader, Hardie & Shang (2010) on the donations data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import assert_gradient_matches, sig3
from conftest import shared_data
from cvm.clv import BetaGeoBetaBinomModel
from cvm.errors import InputError

# Fader, Hardie & Shang (2010), Marketing Science 29(6), the 1995 cohort of 11,104 donors with
# 6 annual opportunities: alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783,
# LL = -33,225.6
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations():
    return pd.read_csv(shared_data() / "donations" / "donations.csv")


@pytest.fixture(scope="module")
def fitted(donations):
    d = donations
    return BetaGeoBetaBinomModel().fit(d.frequency, d.recency, d.periods, weights=d.weights)


def test_donations_parameters_and_log_likelihood(fitted, donations):
    assert donations.weights.sum() == 11104
    for name, value in PUBLISHED.items():
        assert sig3(fitted.params_[name]) == sig3(value), name
    assert fitted.log_likelihood_ == pytest.approx(-33225.6, abs=0.05)
    assert fitted.n_customers_ == 11104


def test_weights_equal_duplicated_rows(fitted, donations):
    rep = donations.loc[donations.index.repeat(donations.weights)]
    assert len(rep) == 11104
    dup = BetaGeoBetaBinomModel().fit(rep.frequency, rep.recency, rep.periods)
    np.testing.assert_allclose(dup.params_, fitted.params_, rtol=1e-6)
    assert dup.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-10)


def test_gradient_matches_finite_differences(donations):
    d = donations
    assert_gradient_matches(BetaGeoBetaBinomModel(), [0.8, 1.1, 0.4, 1.5],
                            [d.frequency, d.recency, d.periods], d.weights)


def test_distribution_of_purchases_and_expectations(fitted):
    # P(X(n) = x) over x = 0..n is a distribution whose mean is the closed-form E[X(n)]
    for n in (1, 6, 11):
        x = np.arange(n + 1)
        p = fitted.probability_of_purchases(x, np.full(n + 1, n))
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert (x * p).sum() == pytest.approx(fitted.expected_purchases([n])[0], rel=1e-10)
    # a new customer (x = t_x = n = 0): the conditional expectation is the unconditional one
    np.testing.assert_allclose(fitted.conditional_expected_purchases([5], [0], [0], [0]),
                               fitted.expected_purchases([5]), rtol=1e-12)


def test_probability_alive(fitted):
    al, be, ga, de = fitted.params_
    # donor who gave every year: L has only the first term when t_x = n, so
    # P(alive in 7) = B(gamma, delta+7)/B(gamma, delta+6) = (delta+6)/(gamma+delta+6)
    assert fitted.probability_alive([6], [6], [6])[0] == pytest.approx(
        (de + 6) / (ga + de + 6), rel=1e-12)
    p = fitted.probability_alive([1, 1, 1], [1, 3, 6], [6, 6, 6])
    assert p[0] < p[1] < p[2]


def test_inconsistent_discrete_input_is_rejected():
    with pytest.raises(InputError, match=r"1 customer \(row 1\) has more transactions x than"):
        BetaGeoBetaBinomModel().fit([1, 3], [2, 2], [6, 6])
    with pytest.raises(InputError, match="non-integer recency or number of periods"):
        BetaGeoBetaBinomModel().fit([1, 1], [2.5, 2], [6, 6])
