"""BG/NBD against Fader, Hardie & Lee (2005) on the CDNOW sample, plus properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import assert_gradient_matches, cdnow_summary, sig3
from cvm.clv import BetaGeoModel
from cvm.errors import InputError, NotFittedError

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2),
# section 4: maximum-likelihood estimates on the 2,357-customer CDNOW sample.
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4


@pytest.fixture(scope="module")
def cdnow():
    return cdnow_summary()


@pytest.fixture(scope="module")
def fitted(cdnow):
    return BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"])


def test_cdnow_parameters_and_log_likelihood_match_the_paper(fitted):
    # to 3 significant digits, as the paper's estimates are rounded; LL to its one decimal
    for name, value in PUBLISHED.items():
        assert sig3(fitted.params_[name]) == sig3(value), name
    assert fitted.log_likelihood_ == pytest.approx(PUBLISHED_LL, abs=0.05)
    assert fitted.n_customers_ == 2357
    assert fitted.n_unique_rows_ < 2357
    # AIC and BIC from their definitions, k = 4 parameters, n = 2,357 customers
    assert fitted.aic_ == pytest.approx(2 * 4 - 2 * fitted.log_likelihood_)
    assert fitted.bic_ == pytest.approx(4 * np.log(2357) - 2 * fitted.log_likelihood_)


def test_standard_errors_come_from_the_hessian(fitted, cdnow):
    summary = fitted.summary()
    assert list(summary.columns) == ["estimate", "std_err", "ci_low", "ci_high"]
    assert list(summary.index) == ["r", "alpha", "a", "b"]
    # the inverse Hessian's diagonal: a second finite-difference Hessian of the log-likelihood
    # itself (not of the gradient) gives the same standard errors to 1%
    data = [cdnow.frequency.to_numpy(float), cdnow.recency.to_numpy(), cdnow["T"].to_numpy()]
    theta = fitted.params_.to_numpy()

    def ll(t):
        return fitted._loglik(t, data, False)[0].sum()

    h = 1e-3 * theta
    H = np.empty((4, 4))
    for i in range(4):
        for j in range(4):
            ei, ej = np.eye(4)[i] * h[i], np.eye(4)[j] * h[j]
            H[i, j] = (ll(theta + ei + ej) - ll(theta + ei - ej) - ll(theta - ei + ej)
                       + ll(theta - ei - ej)) / (4 * h[i] * h[j])
    se = np.sqrt(np.diag(np.linalg.inv(-H)))
    np.testing.assert_allclose(fitted.standard_errors_.to_numpy(), se, rtol=1e-2)


def test_holdout_expectation_with_published_parameters_is_1654(cdnow):
    # data/README.md: sum over the 2,357 customers of E[Y(39) | x, t_x, T] with the published
    # parameters is 1,654 (the paper's equation 10); tolerance +-1
    model = BetaGeoModel.from_params(PUBLISHED)
    total = model.conditional_expected_purchases(39, cdnow.frequency, cdnow.recency, cdnow["T"])
    assert total.sum() == pytest.approx(1654, abs=1)


def test_gradient_matches_finite_differences(cdnow):
    data = [cdnow.frequency, cdnow.recency, cdnow["T"]]
    assert_gradient_matches(BetaGeoModel(), [0.5, 3.0, 1.2, 1.7], data)


def test_integer_weights_equal_duplicated_rows():
    rng = np.random.default_rng(7)
    cd = cdnow_summary().sample(300, random_state=1)
    w = rng.integers(1, 4, len(cd))
    weighted = BetaGeoModel().fit(cd.frequency, cd.recency, cd["T"], weights=w)
    rep = cd.loc[cd.index.repeat(w)]
    duplicated = BetaGeoModel().fit(rep.frequency, rep.recency, rep["T"])
    np.testing.assert_allclose(weighted.params_, duplicated.params_, rtol=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(duplicated.log_likelihood_, rel=1e-10)
    np.testing.assert_allclose(weighted.standard_errors_, duplicated.standard_errors_, rtol=1e-4)


def test_probability_of_purchases_is_a_distribution_with_the_right_mean(fitted):
    # eq. 8 (P(X(t) = n)) and eq. 7 (E[X(t)]) are separate closed forms: they must agree
    n = np.arange(300)
    for t in (10.0, 39.0, 78.0):
        p = fitted.probability_of_purchases(n, np.full(n.shape, t))
        assert p.min() >= 0
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        assert (n * p).sum() == pytest.approx(fitted.expected_purchases([t])[0], rel=1e-8)


def test_probability_alive(fitted):
    r, alpha, a, b = fitted.params_
    # no repeat purchase: the BG/NBD customer is alive for sure
    assert fitted.probability_alive([0], [0.0], [30.0])[0] == 1.0
    # x = 2, t_x = 30.43, T = 38.86 (customer 1): 1 / (1 + a/(b+1) ((alpha+T)/(alpha+t_x))^(r+2))
    expected = 1 / (1 + a / (b + 1) * ((alpha + 38.86) / (alpha + 30.43)) ** (r + 2))
    assert fitted.probability_alive([2], [30.43], [38.86])[0] == pytest.approx(expected, rel=1e-12)
    # the longer since the last purchase, the less likely alive
    p = fitted.probability_alive([3, 3, 3], [5.0, 20.0, 35.0], [38.0, 38.0, 38.0])
    assert p[0] < p[1] < p[2]


def test_conditional_expectation_of_a_new_customer_is_the_unconditional_one(fitted):
    # x = 0, t_x = 0, T -> 0: no information, so E[Y(t) | 0, 0, 0] = E[X(t)]
    t = np.array([5.0, 39.0])
    cond = fitted.conditional_expected_purchases(t, [0, 0], [0.0, 0.0], [0.0, 0.0])
    np.testing.assert_allclose(cond, fitted.expected_purchases(t), rtol=1e-10)


def test_invalid_input_names_the_customers():
    data = pd.DataFrame({"x": [1, 2, 0, 1.5, -1], "t_x": [5.0, 9.0, 0.0, 2.0, 0.0],
                         "T": [10.0, 8.0, 4.0, 5.0, 6.0]},
                        index=pd.Index(["c1", "c2", "c3", "c4", "c5"]))
    with pytest.raises(InputError) as err:
        BetaGeoModel().fit(data.x, data.t_x, data["T"])
    msg = str(err.value)
    assert "1 customer (c2) has recency t_x greater than age T" in msg
    assert "2 customers (c4, c5) have a negative or non-integer frequency x" in msg
    with pytest.raises(InputError, match=r"1 customer \(row 0\) has x > 0 repeat purchases but "
                                         r"recency t_x = 0"):
        BetaGeoModel().fit([1, 0], [0.0, 0.0], [3.0, 3.0])


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        BetaGeoModel().conditional_expected_purchases(1.0, [1], [1.0], [2.0])
    with pytest.raises(NotFittedError):
        BetaGeoModel().summary()
