"""The shared maximum-likelihood base: contract, errors, reporting."""

from __future__ import annotations

import re

import numpy as np
import pytest

from clv_helpers import cdnow_summary
from cvm.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from cvm.errors import ConvergenceError, InputError, InvalidParameterError, NotFittedError

ALL = [BetaGeoModel, ParetoNBDModel, ModifiedBetaGeoModel, BetaGeoBetaBinomModel,
       ShiftedBetaGeoModel, GammaGammaModel]


@pytest.mark.parametrize("cls", ALL)
def test_not_fitted_and_estimator_contract(cls):
    m = cls()
    assert m.get_params() == {"max_iter": 2000, "tol": 1e-9}
    assert not hasattr(m, "params_")
    with pytest.raises(NotFittedError, match=f"This {cls.__name__} instance is not fitted yet"):
        m.summary()
    with pytest.raises(NotFittedError):
        m.to_dict()


def test_unidentified_fit_raises_convergence_error_with_a_checklist():
    # seven customers: BG/NBD's b runs off to infinity
    with pytest.raises(ConvergenceError) as err:
        BetaGeoModel().fit([0, 1, 2, 5, 0, 3, 1], [0, 10.0, 20, 30, 0, 12, 35], [38] * 7,
                           weights=[500, 200, 100, 50, 300, 60, 40])
    msg = str(err.value)
    assert "BetaGeoModel did not converge" in msg
    # b (with a, depending on the path) runs off: the message names it
    assert re.search(r"parameter\(s\) \[[^]]*'b'[^]]*\]", msg)
    for step in ("  1. Check the input", "  2. Use a longer calibration period",
                 "  3. Try a simpler or different model", "--model bgnbd",
                 "  4. From Python only: give starting values",
                 "  5. From Python only: raise max_iter"):
        assert step in msg


def test_hyper_parameters_are_checked_at_fit():
    cd = cdnow_summary()
    with pytest.raises(InvalidParameterError, match="The 'tol' parameter of BetaGeoModel must "
                       r"be a float in the range \(0, 0.001\]. Got 5 instead."):
        BetaGeoModel(tol=5).fit(cd.frequency, cd.recency, cd["T"])


def test_summary_to_dict_and_initial_params():
    cd = cdnow_summary()
    m = BetaGeoModel().fit(cd.frequency, cd.recency, cd["T"],
                           initial_params={"r": 0.3, "alpha": 5, "a": 1, "b": 2})
    s = m.summary()
    np.testing.assert_allclose(s["ci_high"] - s["estimate"], 1.959964 * s["std_err"],
                               rtol=1e-6)
    np.testing.assert_allclose(s["estimate"] - s["ci_low"], 1.959964 * s["std_err"],
                               rtol=1e-6)
    s90 = m.summary(level=0.9)
    np.testing.assert_allclose(s90["ci_high"] - s90["estimate"], 1.644854 * s90["std_err"],
                               rtol=1e-6)
    d = m.to_dict()
    assert d["model"] == "BetaGeoModel"
    assert set(d["parameters"]) == {"r", "alpha", "a", "b"}
    assert d["log_likelihood"] == pytest.approx(-9582.43, abs=0.01)
    assert d["n_customers"] == 2357
    assert repr(m).startswith("BetaGeoModel(r=0.2426")
    with pytest.raises(InputError, match="missing"):
        BetaGeoModel().fit(cd.frequency, cd.recency, cd["T"], initial_params={"r": 1})


def test_negative_weights_are_rejected():
    with pytest.raises(InputError, match=r"1 customer \(row 1\) has a negative or missing"):
        BetaGeoModel().fit([1, 2], [1.0, 2.0], [3.0, 3.0], weights=[1, -1])
