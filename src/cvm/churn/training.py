"""Train, evaluate, save and apply a likelihood-to-cancel model on a snapshot table.

`fit_snapshot` is what ``cvm churn fit --table`` runs: it infers the feature columns,
reports blank values, leaves out leaking columns, cross-validates the boosted model and the
logistic baseline, then fits the model on all rows. The returned `ChurnModel` is saved with
joblib together with its feature list, the cvm version and its cross-validated metrics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
from sklearn.base import clone

from cvm.churn.classifier import (
    ChurnClassifier,
    cross_validate,
    logistic_baseline,
    single_column_auc,
)
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


@dataclass
class ChurnModel:
    """A fitted likelihood-to-cancel model and everything needed to trust and reuse it."""

    schema: SnapshotSchema
    classifier: ChurnClassifier
    label: str
    positive: str
    metrics: dict[str, dict[str, Any]]
    report: DataReport
    cvm_version: str
    trained_at: str
    versions: dict[str, str] = field(default_factory=dict)
    #: Where the training rows came from, e.g. ``{"source": "workspace", "cutoff": ...,
    #: "window_days": ...}`` for a model trained on a workspace's history (empty for a
    #: snapshot table).
    origin: dict[str, Any] = field(default_factory=dict)
    #: Label and out-of-fold probabilities of "model" and "baseline" from the
    #: cross-validation, one row per training row; for reports, never saved.
    oof: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def features(self) -> list[str]:
        """The feature columns, numeric then categorical."""
        return self.schema.columns

    def score(self, df: pd.DataFrame, reasons: int = 3, n_jobs: int | None = None
              ) -> tuple[pd.DataFrame, list[MissingValues]]:
        """Probability of cancelling and the top ``reasons`` for each row of a text table.

        Returns a frame with the id column, ``churn_probability``, ``reason_1..`` and
        ``contribution_1..`` (log-odds), and the blank or unparsable numeric cells found.
        ``reasons=0`` skips the reasons; ``n_jobs`` threads compute them (-1: all cores).
        """
        X, missing = self.schema.features(df)
        out = pd.DataFrame({self.schema.id: _text(df[self.schema.id]).to_numpy()})
        out["churn_probability"] = self.classifier.predict_proba(X)[:, 1]
        if reasons < 1:
            return out, missing
        top = self.classifier.top_reasons(X, reasons, n_jobs).reset_index(drop=True)
        return pd.concat([out, top], axis=1), missing

    def save(self, path: str | Path) -> Path:
        """Write the model to ``path`` (joblib); the folder must exist."""
        path = Path(path)
        if not path.parent.exists():
            raise NotFoundError(f"{path.parent}: no such folder to save the model in")
        joblib.dump(replace(self, oof=None), path)
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
    """Cross-validate and fit a likelihood-to-cancel model on a snapshot table.

    Parameters
    ----------
    df : DataFrame
        The table as text (`cvm.churn.read_snapshot`), one row per customer.
    label, id : str
        The churned-flag column and the customer id column.
    positive : str, optional
        The label value meaning churned; inferred for yes/no, true/false, 1/0 labels.
    folds : int, default=5
        Stratified folds of the cross-validated metrics.
    leak_auc : float, default=`LEAK_AUC`
        A column whose single-column AUC (`single_column_auc`) is at least this is left out
        as a leak and named in the report's ``excluded``.
    classifier : ChurnClassifier, optional
        Hyper-parameters of the boosted model (default: ``ChurnClassifier()``).

    Returns
    -------
    ChurnModel
        ``metrics["model"]`` and ``metrics["baseline"]`` hold the cross-validated metrics of
        the boosted model and the logistic baseline; ``report`` the data report.
    """
    from cvm._version import __version__

    schema, excluded = SnapshotSchema.infer(df, label, id)
    ids = _text(df[id])
    dup = ids[ids.duplicated(keep=False)]
    if not dup.empty:
        raise InputError(f"id column '{id}' repeats {dup.nunique()} id(s), e.g. "
                         f"{', '.join(sorted(dup.unique())[:5])}; a snapshot table has one "
                         "row per customer")
    y, positive = encode_label(df[label], label, positive)
    fewest = int(min(y.sum(), y.size - y.sum()))
    if fewest < 4 * folds:
        raise InputError(
            f"too few rows of one class to cross-validate with {folds} folds: {int(y.sum())} "
            f"churned and {int(y.size - y.sum())} stayed; need at least {4 * folds} of each "
            "(each training fold is split again to calibrate). Use fewer --folds or more rows.")
    X, missing = schema.features(df)
    for col, auc in single_column_auc(X, y).items():
        if auc >= leak_auc:
            excluded[col] = (f"leak: predicts the label almost perfectly on its own "
                             f"(single-column AUC {auc:.3f} >= {leak_auc}); a copy of the "
                             "label or something recorded after the customer left")
            if col in schema.numeric:
                schema.numeric.remove(col)
            else:
                schema.categorical.remove(col)
                schema.levels.pop(col)
            missing = [m for m in missing if m.column != col]
    if not schema.columns:
        raise InputError(f"no feature columns left after leaving out leaks: {excluded}")
    X = X[schema.columns]
    report = DataReport(rows=len(df), label=label, positive=positive, churners=int(y.sum()),
                        id=id, numeric=list(schema.numeric),
                        categorical=list(schema.categorical), excluded=excluded,
                        missing=missing)
    model = classifier if classifier is not None else ChurnClassifier(random_state=random_state)
    metrics = {}
    oof = pd.DataFrame({"churned": y}, index=df.index)
    for name, est in (("model", model),
                      ("baseline", logistic_baseline(schema.numeric, schema.categorical))):
        cv = cross_validate(est, X, y, folds=folds, random_state=random_state)
        oof[name] = cv.pop("oof")
        metrics[name] = cv
    warnings = []
    if metrics["model"]["auc"] > SUSPICIOUS_AUC:
        warnings.append(f"cross-validated AUC {metrics['model']['auc']:.3f} is above "
                        f"{SUSPICIOUS_AUC}: churn models rarely rank that well; look for a "
                        "column recorded after (or because) the customer left")
    metrics["warnings"] = warnings
    fitted = clone(model).fit(X, y)  # the caller's estimator stays unfitted
    return ChurnModel(schema=schema, classifier=fitted, label=label, positive=positive,
                      metrics=metrics, report=report, cvm_version=__version__,
                      trained_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      versions=_versions(), oof=oof)
