"""Time-invariant covariates on BG/NBD and Pareto/NBD (Fader & Hardie 2007; CLVTools)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import assert_gradient_matches, cdnow_summary
from cvm.clv import BetaGeoModel, ParetoNBDModel
from cvm.clv.covariates import BetaGeoCovariateModel, ParetoNBDCovariateModel
from cvm.clv.simulate import simulate_bgnbd, simulate_paretonbd
from cvm.errors import InputError


def _cd_with_group(seed=0):
    cd = cdnow_summary()
    z = (np.random.default_rng(seed).random(len(cd)) < 0.4).astype(float)
    return cd, z


def _fitted_like(cls, names, theta, ip, id_):
    """A covariate model object with given parameters (no fit), for likelihood identities."""
    m = cls()
    m._ip, m._id = ip, id_
    m._param_names = tuple(list(cls._core._param_names) + names)
    m._free = np.array([False] * 4 + [True] * len(names))
    return m, np.asarray(theta, float)


def test_bgnbd_covariate_likelihood_is_the_plain_likelihood_per_group():
    # a 0/1 covariate: group 1 is a BG/NBD with alpha e^-gp, a e^gd, b e^gd
    cd, z = _cd_with_group()
    r, alpha, a, b, gp, gd = 0.3, 4.0, 0.8, 2.5, 0.6, 0.4
    m, theta = _fitted_like(BetaGeoCovariateModel, ["purchase:z", "dropout:z"],
                            [r, alpha, a, b, gp, gd], [0], [0])
    data = [cd.frequency.to_numpy(float), cd.recency.to_numpy(), cd["T"].to_numpy(), z]
    ll, _ = m._loglik(theta, data, False)
    for group, (al, aa, bb) in ((0, (alpha, a, b)),
                                (1, (alpha * np.exp(-gp), a * np.exp(gd), b * np.exp(gd)))):
        plain = BetaGeoModel.from_params({"r": r, "alpha": al, "a": aa, "b": bb})
        sel = z == group
        np.testing.assert_allclose(
            ll[sel], plain.individual_log_likelihood(cd.frequency[sel], cd.recency[sel],
                                                     cd["T"][sel]), rtol=1e-12)


def test_paretonbd_covariate_likelihood_is_the_plain_likelihood_per_group():
    cd, z = _cd_with_group(1)
    r, alpha, s, beta, gp, gd = 0.55, 10.0, 0.6, 12.0, -0.5, 0.8
    m, theta = _fitted_like(ParetoNBDCovariateModel, ["purchase:z", "dropout:z"],
                            [r, alpha, s, beta, gp, gd], [0], [0])
    data = [cd.frequency.to_numpy(float), cd.recency.to_numpy(), cd["T"].to_numpy(), z]
    ll, _ = m._loglik(theta, data, False)
    for group, (al, be) in ((0, (alpha, beta)), (1, (alpha * np.exp(-gp), beta * np.exp(-gd)))):
        plain = ParetoNBDModel.from_params({"r": r, "alpha": al, "s": s, "beta": be})
        sel = z == group
        np.testing.assert_allclose(
            ll[sel], plain.individual_log_likelihood(cd.frequency[sel], cd.recency[sel],
                                                     cd["T"][sel]), rtol=1e-10)


@pytest.mark.parametrize("cls,theta", [
    (BetaGeoCovariateModel, [0.3, 4.0, 0.8, 2.5, 0.6, -0.2, 0.4, 0.1]),
    (ParetoNBDCovariateModel, [0.5, 9.0, 0.7, 11.0, -0.4, 0.3, 0.5, -0.2]),
])
def test_gradient_matches_finite_differences(cls, theta):
    cd, z = _cd_with_group(2)
    size = np.random.default_rng(2).normal(size=len(cd))  # a continuous covariate
    m, theta = _fitted_like(cls, ["purchase:z", "purchase:size", "dropout:z", "dropout:size"],
                            theta, [0, 1], [0, 1])
    assert_gradient_matches(m, theta, [cd.frequency, cd.recency, cd["T"], z, size])


def test_known_covariate_effects_are_recovered():
    rng = np.random.default_rng(3)
    n = 20000
    z = (rng.random(n) < 0.5).astype(float)
    x, t_x, T = simulate_bgnbd(n, 0.243, 4.4 * np.exp(-0.7 * z), 0.8 * np.exp(0.5 * z),
                               2.4 * np.exp(0.5 * z), rng)
    m = BetaGeoCovariateModel().fit(x, t_x, T, pd.DataFrame({"online": z}))
    truth = pd.Series([0.243, 4.4, 0.8, 2.4, 0.7, 0.5], index=m.params_.index)
    assert ((m.params_ - truth).abs() < 3 * m.standard_errors_).all()
    x, t_x, T = simulate_paretonbd(n, 0.55, 4.4 * np.exp(-0.7 * z), 0.6,
                                   11.7 * np.exp(-0.6 * z), rng)
    m = ParetoNBDCovariateModel().fit(x, t_x, T, pd.DataFrame({"online": z}))
    truth = pd.Series([0.55, 4.4, 0.6, 11.7, 0.7, 0.6], index=m.params_.index)
    assert ((m.params_ - truth).abs() < 3 * m.standard_errors_).all()


def test_an_unrelated_covariate_changes_little_and_predictions_use_it():
    cd, z = _cd_with_group(4)
    plain = BetaGeoModel().fit(cd.frequency, cd.recency, cd["T"])
    cov = pd.DataFrame({"z": z}, index=cd.index)
    m = BetaGeoCovariateModel().fit(cd.frequency, cd.recency, cd["T"], cov)
    # nested models: never worse, and a random split is no real effect
    assert m.log_likelihood_ >= plain.log_likelihood_ - 1e-6
    assert 2 * (m.log_likelihood_ - plain.log_likelihood_) < 9.21  # chi2(2) at 1%
    assert (m.params_[["purchase:z", "dropout:z"]].abs()
            < 3 * m.standard_errors_[["purchase:z", "dropout:z"]]).all()
    assert m.aic_ == pytest.approx(2 * 6 - 2 * m.log_likelihood_)
    # predictions: a group-1 customer is scored with that group's parameters
    p = m.params_
    per = {"r": p["r"], "alpha": p["alpha"] * np.exp(-p["purchase:z"]),
           "a": p["a"] * np.exp(p["dropout:z"]), "b": p["b"] * np.exp(p["dropout:z"])}
    one = BetaGeoModel.from_params(per)
    row = pd.DataFrame({"z": [1.0, 1.0]})
    np.testing.assert_allclose(m.probability_alive([2, 0], [20.0, 0.0], [38.0, 30.0], row),
                               one.probability_alive([2, 0], [20.0, 0.0], [38.0, 30.0]),
                               rtol=1e-12)
    np.testing.assert_allclose(
        m.conditional_expected_purchases(39.0, [2, 0], [20.0, 0.0], [38.0, 30.0], row),
        one.conditional_expected_purchases(39.0, [2, 0], [20.0, 0.0], [38.0, 30.0]),
        rtol=1e-12)
    np.testing.assert_allclose(m.expected_purchases(39.0, row), one.expected_purchases([39.0] * 2),
                               rtol=1e-12)


def test_weights_equal_duplicated_rows_with_covariates():
    cd, z = _cd_with_group(5)
    cd = cd.iloc[::2].copy()
    z = z[::2]
    w = np.random.default_rng(5).integers(1, 4, len(cd))
    a = BetaGeoCovariateModel().fit(cd.frequency, cd.recency, cd["T"], z, weights=w,
                                    dropout=[])
    rep = np.repeat(np.arange(len(cd)), w)
    b = BetaGeoCovariateModel().fit(cd.frequency.to_numpy()[rep], cd.recency.to_numpy()[rep],
                                    cd["T"].to_numpy()[rep], z[rep], dropout=[])
    assert list(a.params_.index) == ["r", "alpha", "a", "b", "purchase:z0"]
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-6, atol=1e-8)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-10)


def test_bad_covariates_are_rejected():
    cd, z = _cd_with_group()
    cov = pd.DataFrame({"z": z}, index=cd.ID)
    cov.iloc[3, 0] = np.nan
    freq = cd.set_index("ID").frequency
    with pytest.raises(InputError, match=r"1 customer \(4\) has a missing or infinite"):
        BetaGeoCovariateModel().fit(freq, cd.recency.to_numpy(), cd["T"].to_numpy(), cov)
    with pytest.raises(InputError, match=r"covariates \['region'\] are not columns"):
        BetaGeoCovariateModel().fit(cd.frequency, cd.recency, cd["T"], pd.DataFrame({"z": z}),
                                    purchase=["region"])
