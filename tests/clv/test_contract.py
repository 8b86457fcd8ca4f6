"""Every lifetime model keeps cvm's one estimator contract (`tests/estimator_checks.py`), on
the published data sets the model tests use: CDNOW (Fader, Hardie & Lee 2005), the donations
(Fader, Hardie & Shang 2010) and the retention table (Fader & Hardie 2007)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_helpers import cdnow_summary
from conftest import shared_data
from cvm.clv import (
    BetaGeoBetaBinomModel,
    BetaGeoCovariateModel,
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDCovariateModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
)
from cvm.errors import InvalidParameterError
from estimator_checks import check_estimator


def _rfm(model):
    cd = cdnow_summary()
    return model.fit(cd["frequency"], cd["recency"], cd["T"])


def _with_covariate(model):
    cd = cdnow_summary()
    group = (np.random.default_rng(0).random(len(cd)) < 0.4).astype(float)
    return model.fit(cd["frequency"], cd["recency"], cd["T"], pd.DataFrame({"group": group}))


def _spend(model):
    cd = pd.read_csv(shared_data() / "cdnow" / "cdnow_summary_spend.csv")
    repeat = cd[cd["x"] > 0]
    return model.fit(repeat["x"], repeat["zbar"])


def _donations(model):
    d = pd.read_csv(shared_data() / "donations" / "donations.csv")
    return model.fit(d["frequency"], d["recency"], d["periods"], d["weights"])


def _retention(model):
    # Fader & Hardie (2007), the regular cohort's survivors in years 0-7
    return model.fit(pd.read_csv(shared_data() / "sbg" / "retention.csv")["regular"][:8])


# each model: how it is fitted, and a setting it must refuse (the bad values take turns:
# below the range, above it, of the wrong type)
CASES = {
    BetaGeoModel: (_rfm, ("max_iter", 0)),
    ParetoNBDModel: (_rfm, ("tol", 0.01)),
    ModifiedBetaGeoModel: (_rfm, ("tol", "1e-9")),
    BetaGeoCovariateModel: (_with_covariate, ("max_iter", 2.5)),
    ParetoNBDCovariateModel: (_with_covariate, ("tol", 0)),
    GammaGammaModel: (_spend, ("max_iter", True)),
    BetaGeoBetaBinomModel: (_donations, ("tol", -1e-9)),
    ShiftedBetaGeoModel: (_retention, ("max_iter", None)),
}


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_estimator_contract(cls):
    fit, bad_param = CASES[cls]
    check_estimator(lambda: cls(max_iter=500), fit, bad_param)


def test_bad_settings_name_the_range():
    with pytest.raises(InvalidParameterError, match=r"The 'max_iter' parameter of "
                       r"ParetoNBDModel must be an int >= 1\. Got 0 instead\."):
        _rfm(ParetoNBDModel(max_iter=0))
    with pytest.raises(InvalidParameterError, match=r"The 'tol' parameter of GammaGammaModel "
                       r"must be a float in the range \(0, 0\.001\]\. Got 0\.01 instead\."):
        _spend(GammaGammaModel(tol=0.01))
