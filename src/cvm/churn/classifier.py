"""Likelihood to cancel: a calibrated gradient-boosted classifier and a logistic baseline.

The boosted model is LightGBM (Ke et al. 2017, "LightGBM: a highly efficient gradient
boosting decision tree", NeurIPS) on numeric columns and native categorical columns, its
probabilities recalibrated on out-of-fold predictions (Platt 1999, "Probabilistic outputs
for support vector machines", a sigmoid of the log-odds; or isotonic regression, Zadrozny &
Elkan 2002), with per-row reasons from the trees' exact additive
contributions to the log-odds (Lundberg et al. 2020, "From local explanations to global
understanding with explainable AI for trees", Nature Machine Intelligence: TreeSHAP).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from cvm._estimator import Estimator, Interval, Options
from cvm.churn.metrics import METRICS, churn_metrics
from cvm.errors import ConfigError, InputError, NotFittedError

__all__ = ["ChurnClassifier", "logistic_baseline", "cross_validate", "single_column_auc"]

_CALIBRATIONS = ("isotonic", "sigmoid", "none")


def _check_xy(X, y=None) -> tuple[pd.DataFrame, np.ndarray | None]:
    if not isinstance(X, pd.DataFrame):
        raise InputError("X must be a pandas DataFrame of feature columns "
                         "(see cvm.churn.SnapshotSchema.features)")
    if y is None:
        return X, None
    y = np.asarray(y).astype(int).ravel()
    if y.size != len(X):
        raise InputError(f"X has {len(X)} rows but y has {y.size} labels")
    if not np.isin(y, (0, 1)).all():
        raise InputError("y must hold 0 (stayed) and 1 (churned)")
    counts = np.bincount(y, minlength=2)
    if counts.min() < 5:
        raise InputError(f"too few rows of one class to learn from: {counts[0]} stayed and "
                         f"{counts[1]} churned; at least 5 of each are needed")
    return X, y


class _LogOddsBooster(LGBMClassifier):
    """LightGBM whose decision function is its raw log-odds, so that Platt scaling
    recalibrates the log-odds (as Platt 1999 intended) rather than the probabilities."""

    def decision_function(self, X):
        return self.predict(X, raw_score=True)


class ChurnClassifier(ClassifierMixin, Estimator, BaseEstimator):
    r"""Calibrated probability that a customer cancels, with the reasons for each score.

    The booster models the log-odds as a sum of regression trees,
    :math:`\operatorname{logit} \tilde p(x) = b_0 + \sum_{m=1}^{M} f_m(x)`; the calibrator
    maps :math:`\tilde p` to the reported probability :math:`p = g(\tilde p)` with :math:`g`
    fitted on out-of-fold predictions of ``calibration_folds`` stratified folds, after which
    the booster is refitted on all rows (scikit-learn's ``CalibratedClassifierCV`` with
    ``ensemble=False``). Missing numeric values follow the branch learned for them.

    A scikit-learn classifier (so `sklearn.base.clone` and pipelines take it) whose settings
    follow cvm's estimator contract: checked at `fit` against ``_parameter_constraints``, a
    bad one raising `cvm.errors.InvalidParameterError`. It is the building block of
    `cvm.churn.ChurnModel`, which carries the contract's ``summary`` and ``to_dict``.

    Parameters
    ----------
    n_estimators : int, default=200
        Boosting rounds :math:`M`, >= 1.
    learning_rate : float, default=0.03
        Shrinkage of each tree, in (0, 1].
    num_leaves : int, default=8
        Leaves per tree, >= 2.
    min_child_samples : int, default=40
        Fewest rows in a leaf, >= 1.
    subsample : float, default=0.8
        Share of rows each tree sees, in (0, 1].
    colsample : float, default=0.8
        Share of columns each tree sees, in (0, 1].
    calibration : {"sigmoid", "isotonic", "none"}, default="sigmoid"
        Platt scaling of the booster's log-odds (strictly monotone: keeps the ranking and
        never gives exactly 0 or 1), isotonic regression (a step function: on the telco data
        it gives probabilities of exactly 0 and 1), or none.
    calibration_folds : int, default=5
        Folds of the out-of-fold predictions the calibrator is fitted on, >= 2.
    random_state : int or None, default=0
    n_jobs : int or None, default=1
        Threads LightGBM uses (-1: all cores).

    Attributes
    ----------
    booster_ : lightgbm.LGBMClassifier
        The booster fitted on all rows.
    calibrator_ : CalibratedClassifierCV or None
    feature_names_in_ : ndarray of str
    classes_ : ndarray, [0, 1]
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "n_estimators": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0, 1, closed="right")],
        "num_leaves": [Interval(int, 2, None)],
        "min_child_samples": [Interval(int, 1, None)],
        "subsample": [Interval(float, 0, 1, closed="right")],
        "colsample": [Interval(float, 0, 1, closed="right")],
        "calibration": [Options(_CALIBRATIONS)],
        "calibration_folds": [Interval(int, 2, None)],
        "random_state": [Interval(int, None, None), None],
        "n_jobs": [Interval(int, None, None), None],
    }

    def __init__(self, *, n_estimators: int = 200, learning_rate: float = 0.03,
                 num_leaves: int = 8, min_child_samples: int = 40, subsample: float = 0.8,
                 colsample: float = 0.8, calibration: str = "sigmoid",
                 calibration_folds: int = 5, random_state: int = 0, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample = colsample
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _booster(self) -> LGBMClassifier:
        return _LogOddsBooster(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate,
            num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
            subsample=self.subsample, subsample_freq=1 if self.subsample < 1 else 0,
            colsample_bytree=self.colsample, random_state=self.random_state,
            n_jobs=self.n_jobs, verbose=-1)

    def fit(self, X: pd.DataFrame, y) -> ChurnClassifier:
        """Fit the booster and its calibrator on feature frame ``X`` and 0/1 labels ``y``."""
        self._validate_params()
        X, y = _check_xy(X, y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.classes_ = np.array([0, 1])
        if self.calibration == "none":
            self.booster_ = self._booster().fit(X, y)
            self.calibrator_ = None
            return self
        folds = StratifiedKFold(self.calibration_folds, shuffle=True,
                                random_state=self.random_state)
        self.calibrator_ = CalibratedClassifierCV(
            self._booster(), method=self.calibration, cv=folds, ensemble=False).fit(X, y)
        self.booster_ = self.calibrator_.calibrated_classifiers_[0].estimator
        return self

    def _fitted(self, X) -> pd.DataFrame:
        if not hasattr(self, "booster_"):
            raise NotFittedError("this ChurnClassifier is not fitted yet; call fit(X, y) first")
        X, _ = _check_xy(X)
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise InputError(f"X lacks the feature column(s) the model was fitted on: "
                             f"{', '.join(missing)}")
        return X[list(self.feature_names_in_)]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape (n, 2): stays, cancels."""
        X = self._fitted(X)
        model = self.calibrator_ if self.calibrator_ is not None else self.booster_
        return model.predict_proba(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the calibrated probability of cancelling is at least 0.5."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: pd.DataFrame, n_jobs: int | None = None) -> pd.DataFrame:
        """Each feature's additive contribution to each row's uncalibrated log-odds.

        Columns are the features plus ``bias`` (the same for every row); each row sums to the
        booster's log-odds for that row. TreeSHAP costs about a quarter of a millisecond per
        row per thread with the default trees; ``n_jobs`` threads (default: the
        estimator's ``n_jobs``; -1 for all cores).
        """
        X = self._fitted(X)
        threads = self.n_jobs if n_jobs is None else n_jobs
        raw = self.booster_.predict(X, pred_contrib=True, num_threads=threads)
        return pd.DataFrame(raw, columns=[*self.feature_names_in_, "bias"], index=X.index)

    def top_reasons(self, X: pd.DataFrame, k: int = 3,
                    n_jobs: int | None = None) -> pd.DataFrame:
        """The ``k`` features pushing each row's risk up most, as ``column = value``.

        Columns ``reason_1 .. reason_k`` and ``contribution_1 .. contribution_k`` (log-odds
        added by that feature); a reason is blank where fewer than ``k`` features raise the
        risk.
        """
        contrib = self.contributions(X, n_jobs).drop(columns="bias")
        X = X[list(self.feature_names_in_)]
        k = min(int(k), contrib.shape[1])
        values = contrib.to_numpy()
        order = np.argsort(-values, axis=1, kind="stable")[:, :k]
        rows = np.arange(len(values))
        out = {}
        for j in range(k):
            cols = order[:, j]
            amount = values[rows, cols]
            labels = np.full(len(values), "", dtype=object)
            for c, name in enumerate(contrib.columns):
                hit = (cols == c) & (amount > 0)
                if hit.any():
                    labels[hit] = (name + " = " + X.iloc[hit, c].map(_show).astype(str)
                                   ).to_numpy()
            out[f"reason_{j + 1}"] = labels
            out[f"contribution_{j + 1}"] = np.where(amount > 0, amount, 0.0)
        return pd.DataFrame(out, index=X.index)


def _show(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "(blank)"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def logistic_baseline(numeric: list[str], categorical: list[str], C: float = 1.0) -> Pipeline:
    """Logistic regression on scaled numbers and one-hot categories.

    Numeric columns: median imputation with a was-missing indicator, then standardisation;
    categorical columns: one-hot (missing is a level of its own, an unseen level all zeros);
    then an L2-penalised logistic regression with inverse strength ``C``.
    """
    parts = []
    if numeric:
        parts.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True),
                                           StandardScaler()), list(numeric)))
    if categorical:
        parts.append(("cat", make_pipeline(FunctionTransformer(_as_object),
                                           OneHotEncoder(handle_unknown="ignore")),
                      list(categorical)))
    return Pipeline([("prepare", ColumnTransformer(parts)),
                     ("logit", LogisticRegression(C=C, max_iter=2000))])


def _as_object(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as text, a missing level as the level "(missing)"."""
    return pd.DataFrame({c: X[c].astype(object).where(X[c].notna(), "(missing)")
                         for c in X.columns}, index=X.index)


def cross_validate(estimator, X: pd.DataFrame, y, folds: int = 5,
                   random_state: int = 0) -> dict:
    """Stratified k-fold metrics of ``estimator``: each metric's mean and standard deviation.

    Each fold fits a fresh clone on the other folds and scores its held-out rows with
    `cvm.churn.metrics.churn_metrics`. Returns ``{metric: mean, ..., "std": {metric: sd},
    "folds": k, "oof": out-of-fold probabilities}``.
    """
    X, y = _check_xy(X, y)
    if not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"folds must be an int >= 2, got {folds!r}")
    oof = np.empty(len(y))
    rows = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    for train, test in splitter.split(X, y):
        model = clone(estimator).fit(X.iloc[train], y[train])
        p = model.predict_proba(X.iloc[test])[:, 1]
        oof[test] = p
        rows.append(churn_metrics(y[test], p))
    table = pd.DataFrame(rows)[list(METRICS)]
    out = {m: float(table[m].mean()) for m in METRICS}
    out["std"] = {m: float(table[m].std(ddof=1)) for m in METRICS}
    out["folds"] = folds
    out["oof"] = oof
    return out


def single_column_auc(X: pd.DataFrame, y) -> dict[str, float]:
    """How well each column alone ranks churners: ROC AUC folded to >= 0.5.

    A numeric column ranks by its value (missing as the median); a categorical one by its
    levels' churn rates in these rows. A value near 1 means the column is (a copy of) the
    label, or something recorded because the customer left: a leak.
    """
    X, y = _check_xy(X, y)
    out = {}
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            key = s.astype(object).where(s.notna(), "(missing)")
            score = pd.Series(y, index=s.index).groupby(key).transform("mean").to_numpy()
        else:
            score = s.fillna(s.median()).to_numpy(dtype=float)
        auc = roc_auc_score(y, score)
        out[c] = float(max(auc, 1 - auc))
    return out
