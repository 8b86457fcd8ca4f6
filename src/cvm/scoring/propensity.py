"""Propensity to buy a product line (or anything) in the 90 days after the as-of day.

Trained leak-free on earlier months: rows are the customers at several monthly cut-offs
whose 90-day outcome window ends by the as-of day, with features before each cut-off
(`cvm.scoring.features`) and the outcome after it. The booster (LightGBM through
`cvm.churn.classifier.ChurnClassifier`, uncalibrated) learns on all cut-offs but the latest;
the latest cut-off's rows, the most recent outcome known, calibrate its log-odds (Platt
1999: a logistic regression on them) and measure it against the logistic baseline
(`cvm.churn.classifier.logistic_baseline`, fitted on the same training rows): ROC AUC and
the lift of the top decile. A line is eligible for a customer who did not buy it in the 365
days before the cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from cvm.churn.classifier import ChurnClassifier, logistic_baseline
from cvm.scoring.features import CUSTOMER_FIELDS

__all__ = ["PropensityModel", "NotTrainable", "frame_columns", "top_decile_lift"]

#: Fewest first purchases (and non-purchases) to train on, and to calibrate and check with.
MIN_TRAIN, MIN_CHECK = 20, 5


class NotTrainable(Exception):
    """Too little history for a model; the message says what was found."""


def frame_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature columns of a feature frame."""
    skip = {"customer_id", "cutoff"}
    categorical = [c for c in CUSTOMER_FIELDS if c in frame.columns]
    numeric = [c for c in frame.columns
               if c not in skip and c not in categorical and not c.endswith("_bought")
               and c != "bought_any"]
    return numeric, categorical


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    """Positive rate among the 10% highest scores over the overall rate (ties broken by
    position, which is stable)."""
    n = max(1, int(np.ceil(0.1 * len(y))))
    top = np.argsort(-p, kind="stable")[:n]
    base = y.mean()
    return float(y[top].mean() / base) if base > 0 else float("nan")


@dataclass
class PropensityModel:
    """A calibrated propensity model for one target (a line's label column or
    ``bought_any``) and how it did against the logistic baseline on the latest cut-off."""

    target: str
    random_state: int = 0
    max_rows: int = 200_000
    metrics: dict = field(default_factory=dict)

    def fit(self, frame: pd.DataFrame, eligible: pd.Series, latest) -> PropensityModel:
        """Fit on the eligible rows of ``frame`` (stacked cut-offs with a ``cutoff`` column
        and the target column); the ``latest`` cut-off calibrates and checks."""
        rows = frame[eligible.to_numpy()]
        y = rows[self.target].fillna(0).astype(int).to_numpy()
        check = (rows["cutoff"] == latest).to_numpy()
        for name, part in (("training", ~check), ("check", check)):
            pos = int(y[part].sum())
            need = MIN_TRAIN if name == "training" else MIN_CHECK
            if pos < need or int(part.sum()) - pos < need:
                raise NotTrainable(f"{pos} buyers among {int(part.sum())} {name} rows "
                                   f"(at least {need} needed)")
        self.numeric_, self.categorical_ = frame_columns(frame)
        self.levels_ = {c: sorted(frame[c].dropna().astype(str).unique())
                        for c in self.categorical_}
        train = self._sample(np.flatnonzero(~check))
        hold = self._sample(np.flatnonzero(check))
        X_train, y_train = self._prepare(rows.iloc[train]), y[train]
        X_hold, y_hold = self._prepare(rows.iloc[hold]), y[hold]
        self.booster_ = ChurnClassifier(calibration="none", random_state=self.random_state,
                                        n_jobs=1).fit(X_train, y_train)
        raw = self.booster_.booster_.decision_function(X_hold)
        self.platt_ = LogisticRegression(C=1e6, max_iter=1000).fit(raw[:, None], y_hold)
        baseline = logistic_baseline(self.numeric_, self.categorical_).fit(X_train, y_train)
        p_base = baseline.predict_proba(X_hold)[:, 1]
        self.metrics = {
            "features": len(self.numeric_) + len(self.categorical_),
            "training_rows": int(len(train)), "training_buyers": int(y_train.sum()),
            "check_rows": int(len(hold)), "check_buyers": int(y_hold.sum()),
            "base_rate": float(y_hold.mean()),
            "auc_model": float(roc_auc_score(y_hold, raw)),
            "auc_baseline": float(roc_auc_score(y_hold, p_base)),
            "lift_model": top_decile_lift(y_hold, raw),
            "lift_baseline": top_decile_lift(y_hold, p_base),
        }
        return self

    def _sample(self, idx: np.ndarray) -> np.ndarray:
        if len(idx) <= self.max_rows:
            return idx
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(idx, self.max_rows, replace=False))

    def _prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns, numbers as floats and categories with the training levels
        (a level not seen in training is missing)."""
        X = frame[self.numeric_].astype(float)
        for c in self.categorical_:
            X[c] = pd.Categorical(frame[c].astype(object).where(frame[c].notna(), None),
                                  categories=self.levels_[c])
        return X

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of buying for the rows of a feature frame."""
        raw = self.booster_.booster_.decision_function(self._prepare(frame))
        return self.platt_.predict_proba(np.asarray(raw)[:, None])[:, 1]
