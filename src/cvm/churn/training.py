"""Train, evaluate, save and apply a likelihood-to-cancel model on a snapshot table.

`ChurnModel` is what ``cvm churn fit --table`` fits: ``ChurnModel(label=..., id=...).fit(df)``
infers the feature columns, reports blank values, leaves out leaking columns,
cross-validates the boosted model and the logistic baseline, then fits the model on all rows.
The fitted model is saved with joblib together with its feature list, the cvm version and its
cross-validated metrics. `fit_snapshot` is the same in one call.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone

from cvm._estimator import Estimator, Interval, normal_interval
from cvm._json import to_jsonable
from cvm.churn.classifier import (
    ChurnClassifier,
    cross_validate,
    logistic_baseline,
    single_column_auc,
)
from cvm.churn.metrics import METRICS
from cvm.churn.snapshot import (
    DataReport,
    MissingValues,
    SnapshotSchema,
    _text,
    encode_label,
)
from cvm.errors import InputError, NotFoundError

__all__ = ["ChurnModel", "fit_snapshot", "LEAK_AUC", "SUSPICIOUS_AUC"]

#: A single column ranking churners with at least this AUC on its own is taken for a leak.
LEAK_AUC = 0.99
#: A cross-validated model AUC above this is reported as a probable leak.
SUSPICIOUS_AUC = 0.90
#: Attribute names of models saved before the estimator contract, and their names now.
_RENAMED = {"schema": "schema_", "classifier": "classifier_", "positive": "positive_",
            "metrics": "metrics_", "report": "report_", "cvm_version": "cvm_version_",
            "trained_at": "trained_at_", "versions": "versions_", "origin": "origin_",
            "oof": "oof_"}


class ChurnModel(Estimator):
    """A likelihood-to-cancel model fitted on a snapshot table, and everything needed to
    trust and reuse it.

    Parameters
    ----------
    label, id : str, default="churned", "customer_id"
        The churned-flag column and the customer id column of the table.
    positive : str, optional
        The label value meaning churned; inferred for yes/no, true/false, 1/0 labels.
    folds : int, default=5
        Stratified folds of the cross-validated metrics, in [2, 20].
    random_state : int, default=0
        Seed of the folds and of the boosted model.
    leak_auc : float, default=`LEAK_AUC`
        A column whose single-column AUC (`single_column_auc`) is at least this, in
        [0.5, 1], is left out as a leak and named in the report's ``excluded``.
    classifier : ChurnClassifier, optional
        Hyper-parameters of the boosted model (default: ``ChurnClassifier(random_state=
        random_state)``); it stays unfitted, a clone is fitted.

    Attributes
    ----------
    schema_ : SnapshotSchema
        The feature columns (numeric, categorical with their levels) and the id column.
    classifier_ : ChurnClassifier
        The boosted model fitted on all rows.
    positive_ : str
        The label value read as churned.
    metrics_ : dict
        ``metrics_["model"]`` and ``metrics_["baseline"]``: the cross-validated metrics of
        the boosted model and the logistic baseline (`cross_validate`: means, ``std`` and
        ``folds``); ``metrics_["warnings"]``: a list of text.
    report_ : DataReport
        Rows, churners, columns used and left out (and why), blank and unparsable cells.
    cvm_version_, trained_at_ : str
    versions_ : dict
        scikit-learn's and LightGBM's versions.
    origin_ : dict
        Where the training rows came from, as given to `fit` (e.g. ``{"source":
        "workspace", "cutoff": ..., "window_days": ...}``; empty for a snapshot table).
    oof_ : DataFrame or None
        Label and out-of-fold probabilities of "model" and "baseline", one row per training
        row; for reports, never saved (None after `load`).
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "label": [str],
        "id": [str],
        "positive": [str, None],
        "folds": [Interval(int, 2, 20)],
        "random_state": [Interval(int, None, None)],
        "leak_auc": [Interval(float, 0.5, 1.0)],
        "classifier": [ChurnClassifier, None],
    }

    def __init__(self, *, label: str = "churned", id: str = "customer_id",
                 positive: str | None = None, folds: int = 5, random_state: int = 0,
                 leak_auc: float = LEAK_AUC, classifier: ChurnClassifier | None = None):
        self.label = label
        self.id = id
        self.positive = positive
        self.folds = folds
        self.random_state = random_state
        self.leak_auc = leak_auc
        self.classifier = classifier

    def __setstate__(self, state: dict[str, Any]) -> None:
        # a model saved before the estimator contract (a dataclass) still loads
        if "schema" in state and "schema_" not in state:
            state = {_RENAMED.get(k, k): v for k, v in state.items()}
            state.setdefault("label", state["report_"].label)
            state.setdefault("id", state["schema_"].id)
            for key in ("positive", "classifier"):
                state.setdefault(key, None)
            state.setdefault("folds", state["metrics_"]["model"].get("folds", 5))
            state.setdefault("random_state", 0)
            state.setdefault("leak_auc", LEAK_AUC)
        self.__dict__.update(state)

    @property
    def features_(self) -> list[str]:
        """The feature columns, numeric then categorical."""
        self._check_fitted()
        return self.schema_.columns

    def fit(self, df: pd.DataFrame, origin: dict[str, Any] | None = None) -> ChurnModel:
        """Cross-validate and fit on a snapshot table, one row per customer.

        ``df`` is the table as text (`cvm.churn.read_snapshot`) or typed (e.g.
        `cvm.churn.features.training_table`); ``origin`` records where its rows came from
        (``origin_``).
        """
        from cvm._version import __version__

        self._validate_params()
        label, id = self.label, self.id
        schema, excluded = SnapshotSchema.infer(df, label, id)
        ids = _text(df[id])
        dup = ids[ids.duplicated(keep=False)]
        if not dup.empty:
            raise InputError(f"id column '{id}' repeats {dup.nunique()} id(s), e.g. "
                             f"{', '.join(sorted(dup.unique())[:5])}; a snapshot table has one "
                             "row per customer")
        y, positive = encode_label(df[label], label, self.positive)
        folds = self.folds
        fewest = int(min(y.sum(), y.size - y.sum()))
        if fewest < 4 * folds:
            raise InputError(
                f"too few rows of one class to cross-validate with {folds} folds: "
                f"{int(y.sum())} churned and {int(y.size - y.sum())} stayed; need at least "
                f"{4 * folds} of each (each training fold is split again to calibrate). Use "
                "fewer --folds or more rows.")
        X, missing = schema.features(df)
        for col, auc in single_column_auc(X, y).items():
            if auc >= self.leak_auc:
                excluded[col] = (f"leak: predicts the label almost perfectly on its own "
                                 f"(single-column AUC {auc:.3f} >= {self.leak_auc}); a copy of "
                                 "the label or something recorded after the customer left")
                if col in schema.numeric:
                    schema.numeric.remove(col)
                else:
                    schema.categorical.remove(col)
                    schema.levels.pop(col)
                missing = [m for m in missing if m.column != col]
        if not schema.columns:
            raise InputError(f"no feature columns left after leaving out leaks: {excluded}")
        X = X[schema.columns]
        report = DataReport(rows=len(df), label=label, positive=positive,
                            churners=int(y.sum()), id=id, numeric=list(schema.numeric),
                            categorical=list(schema.categorical), excluded=excluded,
                            missing=missing)
        model = (self.classifier if self.classifier is not None
                 else ChurnClassifier(random_state=self.random_state))
        metrics: dict[str, Any] = {}
        oof = pd.DataFrame({"churned": y}, index=df.index)
        for name, est in (("model", model),
                          ("baseline", logistic_baseline(schema.numeric, schema.categorical))):
            cv = cross_validate(est, X, y, folds=folds, random_state=self.random_state)
            oof[name] = cv.pop("oof")
            metrics[name] = cv
        warnings = []
        if metrics["model"]["auc"] > SUSPICIOUS_AUC:
            warnings.append(f"cross-validated AUC {metrics['model']['auc']:.3f} is above "
                            f"{SUSPICIOUS_AUC}: churn models rarely rank that well; look for "
                            "a column recorded after (or because) the customer left")
        metrics["warnings"] = warnings
        self.schema_ = schema
        self.classifier_ = clone(model).fit(X, y)  # the given classifier stays unfitted
        self.positive_ = positive
        self.metrics_ = metrics
        self.report_ = report
        self.cvm_version_ = __version__
        self.trained_at_ = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.versions_ = _versions()
        self.origin_ = dict(origin or {})
        self.oof_ = oof
        return self

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The cross-validated metrics of the model and the baseline with an interval.

        One row per (``model``, ``metric``): ``estimate`` is the mean over the folds,
        ``std_err`` the standard deviation across folds over sqrt(folds), and ``ci_low``,
        ``ci_high`` the Wald interval at ``level`` (`cvm._estimator.normal_interval`). The
        folds share training rows, so this standard error is a rough guide that tends to be
        too small: no unbiased estimator of the variance of k-fold cross-validation exists
        (Bengio & Grandvalet 2004, JMLR 5).
        """
        self._check_fitted()
        rows = []
        for name in ("model", "baseline"):
            cv = self.metrics_[name]
            for m in METRICS:
                sd = cv["std"][m]
                if sd <= 1e-12 * max(abs(cv[m]), 1.0):  # equal in every fold up to rounding
                    sd = 0.0
                rows.append({"model": name, "metric": m, "estimate": cv[m],
                             "std_err": sd / np.sqrt(cv["folds"])})
        out = pd.DataFrame(rows)
        out["ci_low"], out["ci_high"] = normal_interval(out["estimate"], out["std_err"], level)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Settings, features, cross-validated metrics, data report and provenance, as JSON
        types (NaN as None)."""
        self._check_fitted()
        params = self.get_params()
        params["classifier"] = (None if self.classifier is None
                                else self.classifier.get_params())
        return to_jsonable({
            "params": params, "positive": self.positive_, "features": self.features_,
            "model": self.metrics_["model"], "baseline": self.metrics_["baseline"],
            "warnings": self.metrics_["warnings"], "data": self.report_.to_dict(),
            "origin": self.origin_, "cvm_version": self.cvm_version_,
            "trained_at": self.trained_at_, "versions": self.versions_})

    def score(self, df: pd.DataFrame, reasons: int = 3, n_jobs: int | None = None
              ) -> tuple[pd.DataFrame, list[MissingValues]]:
        """Probability of cancelling and the top ``reasons`` for each row of a text table.

        Returns a frame with the id column, ``churn_probability``, ``reason_1..`` and
        ``contribution_1..`` (log-odds), and the blank or unparsable numeric cells found.
        ``reasons=0`` skips the reasons; ``n_jobs`` threads compute them (-1: all cores).
        """
        self._check_fitted()
        X, missing = self.schema_.features(df)
        out = pd.DataFrame({self.schema_.id: _text(df[self.schema_.id]).to_numpy()})
        out["churn_probability"] = self.classifier_.predict_proba(X)[:, 1]
        if reasons < 1:
            return out, missing
        top = self.classifier_.top_reasons(X, reasons, n_jobs).reset_index(drop=True)
        return pd.concat([out, top], axis=1), missing

    def save(self, path: str | Path) -> Path:
        """Write the fitted model to ``path`` (joblib), without the out-of-fold rows; the
        folder must exist."""
        self._check_fitted()
        path = Path(path)
        if not path.parent.exists():
            raise NotFoundError(f"{path.parent}: no such folder to save the model in")
        oof, self.oof_ = self.oof_, None
        try:
            joblib.dump(self, path)
        finally:
            self.oof_ = oof
        return path

    @staticmethod
    def load(path: str | Path) -> ChurnModel:
        """Read a model written by `save` (only load files you trust: joblib runs code)."""
        path = Path(path)
        if not path.exists():
            raise NotFoundError(f"{path}: no such model file; train one with "
                                "`cvm churn fit --table FILE --label COLUMN --id COLUMN`")
        try:
            model = joblib.load(path)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise InputError(f"{path}: not a cvm churn model ({type(exc).__name__}: {exc})"
                             ) from None
        if not isinstance(model, ChurnModel):
            raise InputError(f"{path}: holds a {type(model).__name__}, not a cvm churn model")
        return model


def _versions() -> dict[str, str]:
    import lightgbm
    import sklearn

    return {"scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__}


def fit_snapshot(df: pd.DataFrame, label: str, id: str, positive: str | None = None,
                 folds: int = 5, random_state: int = 0, leak_auc: float = LEAK_AUC,
                 classifier: ChurnClassifier | None = None) -> ChurnModel:
    """``ChurnModel(label=label, id=id, ...).fit(df)``: cross-validate and fit a
    likelihood-to-cancel model on a snapshot table (see `ChurnModel` for the arguments)."""
    return ChurnModel(label=label, id=id, positive=positive, folds=folds,
                      random_state=random_state, leak_auc=leak_auc,
                      classifier=classifier).fit(df)
