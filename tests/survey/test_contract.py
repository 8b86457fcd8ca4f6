"""PLSPathModel keeps the estimator contract of `cvm._estimator`, on the mobi data of the PLS
tests, and its summary gives the bootstrap percentile interval of each path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_data
from cvm.errors import InvalidParameterError
from cvm.survey import PLSPathModel
from estimator_checks import check_estimator


@pytest.fixture(scope="module")
def mobi() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "ecsi" / "mobi.csv", index_col=0)


def test_pls_path_model_contract(mobi):
    check_estimator(lambda: PLSPathModel(n_bootstrap=50, random_state=3),
                    lambda est: est.fit(mobi), ("scheme", "horst"))


@pytest.mark.parametrize(("name", "value"), [("n_bootstrap", -1), ("confidence", 1.0),
                                             ("standardize", "yes"), ("max_iter", 0)])
def test_bad_settings_are_refused_at_fit(mobi, name, value):
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of PLSPathModel"):
        PLSPathModel(**{name: value}).fit(mobi)


def test_summary_is_the_percentile_interval_of_the_draws(mobi):
    fit = PLSPathModel(n_bootstrap=60, random_state=11).fit(mobi)
    s = fit.summary(level=0.9).set_index(["from", "to"])
    # Image -> Expectation: semPLS's 0.504706; the draws are columns of bootstrap_draws_ in
    # the row order of bootstrap_
    row = s.loc[("Image", "Expectation")]
    assert row["estimate"] == pytest.approx(0.504706, abs=5e-5)
    k = fit.bootstrap_.index[(fit.bootstrap_["kind"] == "path")
                             & (fit.bootstrap_["name"] == "Image -> Expectation")][0]
    draws = fit.bootstrap_draws_[:, k]
    assert row["std_err"] == pytest.approx(np.std(draws, ddof=1), rel=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        tuple(np.quantile(draws, [0.05, 0.95])), rel=1e-12)
    # at the fitted confidence (0.95) it is bootstrap_'s interval
    b = fit.bootstrap_.set_index(["kind", "name"]).loc[("path", "Image -> Expectation")]
    s95 = fit.summary().set_index(["from", "to"]).loc[("Image", "Expectation")]
    assert (s95["ci_low"], s95["ci_high"], s95["std_err"]) == pytest.approx(
        (b["ci_low"], b["ci_high"], b["se"]), rel=1e-12)
    assert len(s) == len(fit.paths_) == 12  # 1 + 1 + 2 + 4 + 1 + 3 paths of the ECSI model


def test_summary_without_bootstrap_has_no_interval(mobi):
    s = PLSPathModel().fit(mobi).summary()
    assert list(s.columns) == ["from", "to", "estimate", "std_err", "ci_low", "ci_high"]
    assert s[["std_err", "ci_low", "ci_high"]].isna().all().all()
    with pytest.raises(InvalidParameterError, match="The 'level' parameter of summary"):
        PLSPathModel().fit(mobi).summary(level=1.5)
