"""An uplift model on a table file: the randomised campaign's rows (arm, outcome,
features) to fit on, and another file of customers to score."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cvm.campaign import inputs
from cvm.campaign.uplift import UpliftModel
from cvm.errors import InputError

__all__ = ["ID_SHARE", "LEAK", "fit_uplift", "score_uplift"]

#: a text column with more distinct values than this share of rows is an identifier, not a
#: feature (when the features are not named)
ID_SHARE = 0.5
#: a column that alone orders the outcome this well (ROC AUC, or |Spearman's rho|) is left
#: out when the features are not named
LEAK = 0.98


def _leaks(values: pd.Series, y: np.ndarray) -> bool:
    """Whether a numeric column alone orders the outcome almost perfectly (ROC AUC or
    |Spearman's rho| of at least `LEAK`): recorded after the campaign, like the outcome."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    x = values.to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 10 or np.unique(x).size < 2 or np.unique(y).size < 2:
        return False
    if np.isin(y, (0.0, 1.0)).all():
        auc = roc_auc_score(y, x)
        return max(auc, 1 - auc) >= LEAK
    return abs(float(spearmanr(x, y).statistic)) >= LEAK


def _features(frame: pd.DataFrame, taken: set[str], features: Sequence[str] | None,
              y: np.ndarray) -> tuple[list[str], dict[str, str]]:
    if features:
        for f in features:
            inputs.require_columns(frame, {"--feature": f})
        clash = [f for f in features if f in taken]
        if clash:
            raise InputError(f"--feature {clash[0]!r} is also the arm, outcome or id column")
        return list(dict.fromkeys(features)), {}
    chosen, left_out = [], {}
    for col in frame.columns:
        if col in taken:
            continue
        values = frame[col]
        text = values.astype("string").str.strip()
        numeric = pd.to_numeric(text.where(text != ""), errors="coerce")
        if numeric.isna().all() and values.nunique() > ID_SHARE * len(frame):
            left_out[str(col)] = "an identifier (a different text in most rows)"
        elif values.nunique(dropna=False) < 2:
            left_out[str(col)] = "the same value in every row"
        elif numeric.notna().any() and _leaks(numeric, y):
            left_out[str(col)] = ("orders the outcome almost perfectly: probably recorded "
                                  "after the campaign (name it with --feature to use it)")
        else:
            chosen.append(col)
    if not chosen:
        raise InputError("no feature columns: name them with --feature COLUMN")
    return chosen, left_out


def fit_uplift(frame: pd.DataFrame, arm: str, control: str, outcome: str,
               features: Sequence[str] | None = None, treated: str | None = None,
               id: str | None = None, method: str = "two_model", learner: str = "boosting",
               folds: int = 5, groups: int = 5, random_state: int = 0) -> UpliftModel:
    """`UpliftModel` of the arm ``treated`` (default: the only arm besides ``control``)
    against ``control`` on the numeric ``outcome``; ``features`` default to every other
    column but ``id`` and those that look like identifiers, never vary or alone order the
    outcome almost perfectly (`LEAK`: recorded after the campaign), each named with the
    reason in the model's ``excluded_``. Rows of other arms are left out, as are rows
    whose outcome is blank."""
    inputs.require_columns(frame, {"--arm": arm, "--outcome": outcome, "--id": id})
    groups_ = inputs.labels(frame, arm, "the arm")
    control = inputs.find_value(frame, groups_, arm, control)
    arms = [a for a in pd.unique(groups_) if a != control]
    if treated is None:
        if len(arms) != 1:
            raise InputError(f"column {arm!r} holds {len(arms)} arms besides the control "
                             f"({', '.join(map(repr, arms))}); choose one with --treated VALUE")
        treated = arms[0]
    treated = inputs.find_value(frame, groups_, arm, treated, "--treated")
    if treated == control:
        raise InputError(f"--treated {treated!r} is the control")
    y = inputs.numbers(frame, outcome)
    keep = ((groups_ == treated) | (groups_ == control)).to_numpy() & y.notna().to_numpy()
    cols, left_out = _features(frame, {arm, outcome, id} - {None}, features,
                               np.where(keep, y.to_numpy(), np.nan))
    model = UpliftModel(method=method, learner=learner, folds=folds, groups=groups,
                        random_state=random_state)
    model.fit(frame.loc[keep, cols], (groups_[keep] == treated).astype(float),
              y[keep].to_numpy())
    model.excluded_ = left_out
    model.arm_ = treated
    model.control_ = control
    return model


def score_uplift(model: UpliftModel, frame: pd.DataFrame, id: str | None = None
                 ) -> pd.DataFrame:
    """The predicted ``uplift`` of each row of ``frame`` (with its ``id`` column, if
    named, first), highest first."""
    if id is not None:
        inputs.require_columns(frame, {"--id": id})
    uplift = model.predict(frame)
    out = pd.DataFrame({"uplift": uplift})
    if id is not None:
        out.insert(0, id, frame[id].to_numpy())
    out["rank"] = np.argsort(np.argsort(-uplift, kind="stable"), kind="stable") + 1
    return out.sort_values("rank", ignore_index=True)
