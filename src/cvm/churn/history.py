"""Likelihood to cancel trained on a workspace's own history, with a time-based split.

`fit_workspace` builds, at a cut-off date, one row per customer active then with what was
known before it (`workspace_features`: `cvm.churn.features.churn_features` plus the
customer's relationship type, segment, region and latest NPS class before the cut-off) and
labels who ended their relationship in the ``window_days`` days from the cut-off
(`cvm.churn.features.churn_labels`); it cross-validates the boosted model and the logistic
baseline on those rows (`cvm.churn.training.fit_snapshot`) and fits the model on all of
them. `score_workspace` builds the same features the day after the latest known day, for
every customer active then, and stores their probabilities and top reasons as the
``churn_scores`` result. Nothing after the cut-off reaches the features, so training does
not see the future it is asked to predict.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from cvm._dates import as_date
from cvm.churn.features import churn_features, churn_labels
from cvm.churn.retention import as_of_date
from cvm.churn.training import ChurnModel
from cvm.errors import InputError, WorkspaceError
from cvm.survey.nps import nps_class_expr, nps_items

__all__ = ["MODEL_FILE", "DEFAULT_WINDOW_DAYS", "default_cutoff", "workspace_features",
           "training_frame", "fit_workspace", "score_workspace", "model_path"]

#: Where a workspace keeps its churn model, relative to the workspace folder.
MODEL_FILE = Path("models") / "churn.joblib"
#: Days after the cut-off in which a customer who leaves counts as churned.
DEFAULT_WINDOW_DAYS = 90
_CUSTOMER_FEATURES = ("relationship_type", "segment", "region")


def model_path(ws) -> Path:
    """The workspace's churn model file."""
    return ws.path / MODEL_FILE


def _check_window(window_days) -> int:
    if not isinstance(window_days, int) or window_days < 1:
        raise InputError(f"window_days must be an int >= 1, got {window_days!r}")
    return window_days


def default_cutoff(ws, window_days: int = DEFAULT_WINDOW_DAYS) -> dt.date:
    """The latest cut-off whose label window is fully observed: the latest known day
    (`cvm.churn.retention.as_of_date`) plus one, minus ``window_days``; the window
    ``[cutoff, cutoff + window_days)`` then ends on the latest known day."""
    return as_of_date(ws) + dt.timedelta(days=1 - _check_window(window_days))


def _nps_class(ws, cutoff: dt.date) -> ibis.Table | None:
    """Each surveyed customer's latest 0-10 NPS answer before ``cutoff`` as promoter
    (9-10), passive (7-8) or detractor (0-6) (Reichheld 2003; `cvm.survey.nps`)."""
    if not (ws.has_rows("survey_responses") and ws.has_rows("survey_items")):
        return None
    items = ws.table("survey_items")
    nps = nps_items(items)
    r = ws.table("survey_responses")
    r = r.filter(r.customer_id.notnull() & r.timestamp.notnull()
                 & (r.timestamp < dt.datetime.combine(cutoff, dt.time())))
    r = r.join(nps, ["survey", "item"])
    latest = r.group_by("customer_id").aggregate(answer=r.answer.argmax(r.timestamp))
    return latest.select("customer_id", nps_class=nps_class_expr(latest.answer))


def workspace_features(ws, cutoff) -> ibis.Table:
    """Features of every customer active at ``cutoff`` from what was known before it:
    `churn_features` of the contracts, transactions and interactions, the customers
    table's relationship_type, segment and region (blank when unknown) and ``nps_class``
    of the latest NPS answer given before the cut-off (blank when not surveyed)."""
    cutoff = as_date(cutoff, "cutoff")
    if not ws.has_rows("contracts"):
        raise WorkspaceError(f"{ws.path}: no contracts imported; the workspace churn model "
                             "learns who ends a contract: `cvm import contracts FILE`, or "
                             "train on a snapshot table with `cvm churn fit --table FILE`")
    tx = ws.table("transactions") if ws.has_rows("transactions") else None
    ix = ws.table("interactions") if ws.has_rows("interactions") else None
    f = churn_features(ws.table("contracts"), cutoff, tx, ix)
    if ws.has_rows("customers"):
        c = ws.table("customers")
        j = f.left_join(c, f.customer_id == c.customer_id)
        f = j.select(*(f[k] for k in f.columns), *(c[k] for k in _CUSTOMER_FEATURES))
    nps = _nps_class(ws, cutoff)
    if nps is not None:
        j = f.left_join(nps, f.customer_id == nps.customer_id)
        f = j.select(*(f[k] for k in f.columns), nps.nps_class)
    return f.order_by("customer_id")


def training_frame(ws, cutoff, window_days: int = DEFAULT_WINDOW_DAYS) -> pd.DataFrame:
    """`workspace_features` at ``cutoff`` with ``churned`` (0 or 1): whether the customer's
    relationship ended in ``[cutoff, cutoff + window_days)``."""
    cutoff = as_date(cutoff, "cutoff")
    window_days = _check_window(window_days)
    f = workspace_features(ws, cutoff)
    lab = churn_labels(ws.table("contracts"), cutoff, horizon_days=window_days)
    t = f.join(lab.select("customer_id", "churned"), "customer_id").order_by("customer_id")
    return t.to_pyarrow().to_pandas()


def fit_workspace(ws, cutoff=None, window_days: int = DEFAULT_WINDOW_DAYS, folds: int = 5,
                  random_state: int = 0) -> tuple[ChurnModel, pd.DataFrame]:
    """Train the likelihood-to-cancel model on the workspace's history.

    Parameters
    ----------
    cutoff : date or str, optional
        The training date (default `default_cutoff`); the label window after it must end by
        the latest known day, or its churners would be missing.
    window_days : int, default=90
        Length of the label window.
    folds, random_state
        Cross-validation folds and seed (`cvm.churn.training.fit_snapshot`).

    Returns
    -------
    (ChurnModel, DataFrame)
        The model (``origin_`` records the cut-off and window) and its training rows.
    """
    window_days = _check_window(window_days)
    latest = as_of_date(ws)
    cutoff = default_cutoff(ws, window_days) if cutoff is None else as_date(cutoff, "cutoff")
    if cutoff + dt.timedelta(days=window_days - 1) > latest:
        raise InputError(
            f"cut-off {cutoff} + {window_days} days reaches past the latest known day "
            f"{latest}: churn in that window is not observed yet. Use --cutoff "
            f"{latest + dt.timedelta(days=1 - window_days)} or earlier, or a shorter "
            "--window-days")
    df = training_frame(ws, cutoff, window_days)
    if df.empty:
        raise InputError(f"no customer was active at the cut-off {cutoff}; choose a later "
                         "--cutoff")
    origin = {"source": "workspace", "workspace": str(ws.path),
              "cutoff": cutoff.isoformat(), "window_days": window_days,
              "rows": len(df), "churned": int(df["churned"].sum())}
    model = ChurnModel(label="churned", id="customer_id", positive="1", folds=folds,
                       random_state=random_state).fit(df, origin=origin)
    return model, df


def score_workspace(ws, model: ChurnModel | None = None, reasons: int = 3,
                    save: bool = True) -> pa.Table:
    """Probability of cancelling within the model's window for every customer active the
    day after the latest known day, with the top ``reasons``.

    Columns ``customer_id``, ``churn_probability``, ``reason_1..``, ``contribution_1..``
    (log-odds), ``as_of`` (the latest known day) and ``model_cutoff``. With ``save``, also
    stored as the workspace's ``churn_scores`` result (replacing the previous one).
    """
    if model is None:
        model = ChurnModel.load(model_path(ws))
    origin = model.origin_
    if origin.get("source") != "workspace":
        raise InputError("this model was trained on a snapshot table, not on a workspace's "
                         "history; score a table with `cvm churn score --table FILE`, or "
                         "train on the workspace with `cvm churn fit` (no --table)")
    as_of = as_of_date(ws)
    features = workspace_features(ws, as_of + dt.timedelta(days=1)).to_pyarrow().to_pandas()
    if features.empty:
        raise InputError(f"no customer is active after {as_of}: nothing to score")
    scored, _missing = model.score(features, reasons=reasons)
    scored["as_of"] = as_of
    scored["model_cutoff"] = dt.date.fromisoformat(origin["cutoff"])
    table = pa.Table.from_pandas(scored, preserve_index=False)
    if save:
        ws.save_result("churn_scores", table, mode="replace",
                       note=f"churn model cut-off {origin['cutoff']}, "
                            f"{origin['window_days']}-day window")
    return table
