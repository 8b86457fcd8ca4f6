"""The churn model and its classifier under cvm's one estimator contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cvm.churn import ChurnClassifier, ChurnModel
from cvm.churn.metrics import METRICS
from cvm.errors import InvalidParameterError, NotFittedError
from estimator_checks import check_estimator


def _snapshot(n: int = 240, seed: int = 5) -> pd.DataFrame:
    """A text table like a CSV: id, a numeric and a categorical feature, a yes/no label
    with P(yes) = logistic(2 * spend - 1 + 1[plan = basic])."""
    rng = np.random.default_rng(seed)
    spend = rng.normal(0, 1, n)
    plan = rng.choice(["basic", "plus"], n)
    p = 1 / (1 + np.exp(-(2 * spend - 1 + (plan == "basic"))))
    left = np.where(rng.random(n) < p, "yes", "no")
    return pd.DataFrame({"id": [f"{i:04d}" for i in range(n)],
                         "spend": [f"{v:.3f}" for v in spend], "plan": plan, "left": left})


def _make() -> ChurnModel:
    return ChurnModel(label="left", id="id", folds=3, classifier=ChurnClassifier(
        n_estimators=10, min_child_samples=5, calibration_folds=2))


@pytest.fixture(scope="module")
def fitted() -> ChurnModel:
    return _make().fit(_snapshot())


def test_churn_model_passes_the_estimator_contract():
    df = _snapshot()
    check_estimator(_make, lambda est: est.fit(df), ("folds", 1))


def test_summary_is_the_cross_validated_metrics_with_a_wald_interval(fitted):
    s = fitted.summary(level=0.9).set_index(["model", "metric"])
    assert list(s.index) == [(m, k) for m in ("model", "baseline") for k in METRICS]
    z = stats.norm.ppf(0.95)
    for name in ("model", "baseline"):
        cv = fitted.metrics_[name]
        assert cv["folds"] == 3
        for k in METRICS:
            row = s.loc[(name, k)]
            assert row["estimate"] == cv[k]
            assert row["std_err"] == pytest.approx(cv["std"][k] / np.sqrt(3), rel=1e-12)
            assert row["ci_low"] == pytest.approx(cv[k] - z * row["std_err"], rel=1e-12)
            assert row["ci_high"] == pytest.approx(cv[k] + z * row["std_err"], rel=1e-12)
    # stratified folds of 240 rows hold the same churn rate up to one row each
    assert s.loc[("model", "base_rate"), "std_err"] < 0.01


def test_learned_values_end_in_underscore_and_to_dict_is_json(fitted):
    assert fitted.positive is None and fitted.positive_ == "yes"
    assert fitted.features_ == ["spend", "plan"]
    assert fitted.get_params()["classifier"].n_estimators == 10
    assert not hasattr(fitted.get_params()["classifier"], "booster_")  # a clone was fitted
    doc = json.loads(json.dumps(fitted.to_dict()))
    assert doc["features"] == ["spend", "plan"]
    assert doc["params"]["folds"] == 3 and doc["params"]["classifier"]["n_estimators"] == 10
    assert doc["data"]["rows"] == 240 and doc["model"]["folds"] == 3
    assert doc["origin"] == {}


def test_not_fitted_and_bad_classifier_settings():
    with pytest.raises(NotFittedError):
        _make().score(_snapshot())
    with pytest.raises(InvalidParameterError, match=r"The 'learning_rate' parameter of "
                       r"ChurnClassifier must be a float in the range \(0, 1\]\. Got 0 "
                       r"instead\."):
        ChurnClassifier(learning_rate=0).fit(pd.DataFrame({"a": [1.0] * 20}), [0, 1] * 10)
    with pytest.raises(InvalidParameterError, match="The 'leak_auc' parameter of ChurnModel"):
        ChurnModel(leak_auc=0.3).fit(_snapshot())


def test_save_load_and_a_model_saved_before_the_contract(fitted, tmp_path):
    back = ChurnModel.load(fitted.save(tmp_path / "m.joblib"))
    assert back.oof_ is None and fitted.oof_ is not None  # saving keeps the session's rows
    scored, _ = back.score(_snapshot().head(5), reasons=1)
    expect, _ = fitted.score(_snapshot().head(5), reasons=1)
    pd.testing.assert_frame_equal(scored, expect)
    assert list(scored.columns) == ["id", "churn_probability", "reason_1", "contribution_1"]
    # the state of a model saved as the old dataclass (fields without the trailing _)
    old = {"schema": fitted.schema_, "classifier": fitted.classifier_, "label": "left",
           "positive": "yes", "metrics": fitted.metrics_, "report": fitted.report_,
           "cvm_version": "0.9", "trained_at": "2024-01-01T00:00:00+00:00",
           "versions": {}, "origin": {}, "oof": None}
    legacy = ChurnModel.__new__(ChurnModel)
    legacy.__setstate__(old)
    assert legacy.positive_ == "yes" and legacy.positive is None
    assert (legacy.label, legacy.id, legacy.folds) == ("left", "id", 3)
    pd.testing.assert_frame_equal(legacy.score(_snapshot().head(5), reasons=1)[0], expect)
