"""An uplift model of a campaign on the workspace: the campaign file (customer, arm, date),
its outcome measured after each customer's day (`cvm.campaign.outcomes.measure`), and
features built from the workspace as it was before that day.

Features (``source``):

- ``purchase``: `cvm.scoring.features.purchase_features` with the campaign day as the
  cut-off, so only what happened before the day counts: tenure, recency, purchases and
  spend over the last 365, 180 and 90 days, product lines bought, complaints in the last
  365 days, and the customers table's relationship_type, segment and region. One query
  per distinct campaign day.
- ``scores``: the customer's scores of the latest stored monthly run (`cvm score run`)
  as of a day before the campaign day (``ws.scoring.list``).
- ``both``: the two side by side (the scores prefixed ``score_``).

`score_customers` predicts the uplift of every customer of the workspace as of a day,
from the same features as of the end of that day: whom to target next time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cvm._dates import as_date
from cvm.campaign import outcomes as _outcomes
from cvm.campaign.uplift import UpliftModel
from cvm.campaign.uplift_tables import fit_uplift
from cvm.errors import InputError

__all__ = ["SOURCES", "features_before", "fit_campaign_uplift", "score_customers"]

SOURCES = ("purchase", "scores", "both")


def _purchase(ws, day: dt.date, ids: Sequence[str] | None) -> pd.DataFrame:
    """`purchase_features` with ``day`` as the cut-off (what happened before it), for the
    customers ``ids`` (None: every customer known before the day)."""
    from cvm.scoring.features import purchase_features

    if not ws.has_rows("transactions"):
        raise InputError(f"{ws.path}: no transactions to build purchase features from")
    customers = ws.table("customers") if ws.has_rows("customers") else None
    interactions = ws.table("interactions") if ws.has_rows("interactions") else None
    expr = purchase_features(ws.table("transactions"), customers, interactions, day, [])
    if ids is not None:
        expr = expr.filter(expr.customer_id.isin(sorted(set(ids))))
    return expr.to_pyarrow().to_pandas()


def _scores(ws, day: dt.date, ids: Sequence[str] | None) -> pd.DataFrame:
    """The scores of the latest stored run as of a day before ``day``."""
    runs = [r for r in ws.scoring.runs() if r < day]
    if not runs:
        stored = ", ".join(r.isoformat() for r in ws.scoring.runs()) or "none"
        raise InputError(f"no scores stored as of a day before {day} (stored: {stored}); run "
                         f"`cvm score run --as-of {day - dt.timedelta(days=1)}` first, or use "
                         "--features purchase")
    table = ws.scoring.list(max(runs))
    if ids is not None:
        table = table[table["customer_id"].isin(set(ids))]
    return table.reset_index(drop=True)


def _one_day(ws, day: dt.date, ids: Sequence[str] | None, source: str) -> pd.DataFrame:
    if source == "purchase":
        return _purchase(ws, day, ids)
    if source == "scores":
        return _scores(ws, day, ids)
    scores = _scores(ws, day, ids)
    scores = scores.rename(columns={c: f"score_{c}" for c in scores.columns
                                    if c != "customer_id"})
    return _purchase(ws, day, ids).merge(scores, on="customer_id", how="outer")


def features_before(ws, campaign: pd.DataFrame, source: str = "purchase") -> pd.DataFrame:
    """One row per row of ``campaign`` (`cvm.campaign.outcomes.read_campaign`): its
    ``row`` and the features of its customer as known before its date; a customer the
    workspace did not know yet has blank features."""
    if source not in SOURCES:
        raise InputError(f"--features {source!r}: one of {', '.join(SOURCES)}")
    parts = []
    for day, rows in campaign.groupby("date", sort=True):
        got = _one_day(ws, day, list(rows["customer_id"]), source)
        parts.append(rows[["row", "customer_id"]].merge(got, on="customer_id", how="left"))
    out = pd.concat(parts, ignore_index=True).set_index("row").reindex(campaign["row"])
    return out.drop(columns="customer_id").reset_index()


def fit_campaign_uplift(ws, path: str | Path, outcome: str = "purchase",
                        window_days: int = 90, control: str = "control",
                        treated: str | None = None, source: str = "purchase",
                        features: Sequence[str] | None = None, customer: str = "customer_id",
                        arm: str = "arm", date: str = "date", method: str = "two_model",
                        learner: str = "boosting", folds: int = 5, groups: int = 5,
                        random_state: int = 0) -> tuple[UpliftModel, pd.DataFrame]:
    """`UpliftModel` of the arm ``treated`` against ``control`` on ``outcome`` (purchase,
    spend, churn or nps) measured in the ``window_days`` after each customer's date, with
    the features of `features_before`; also returns the table it learned from (the
    campaign's rows, the outcome, the features). Without ``features``, the feature columns
    that never vary are left out (named in the model's ``excluded_``)."""
    if outcome not in _outcomes.OUTCOMES:
        raise InputError(f"--outcome {outcome!r}: the workspace measures "
                         f"{', '.join(_outcomes.OUTCOMES)}")
    campaign = _outcomes.read_campaign(path, customer, arm, date)
    measured = _outcomes.measure(ws, campaign, window_days, [outcome])
    feats = features_before(ws, campaign, source)
    feats = feats.rename(columns={c: f"{c}_before" for c in ("arm", outcome)})
    data = measured[["row", "customer_id", "arm", outcome]].merge(feats, on="row")
    table = data.drop(columns=["row"])
    model = fit_uplift(table, "arm", str(control), outcome, features, treated,
                       "customer_id", method, learner, folds, groups, random_state)
    model.source_ = source
    return model, data


def score_customers(ws, model: UpliftModel, as_of) -> pd.DataFrame:
    """The predicted uplift of every customer the workspace knows at the end of ``as_of``,
    from the features of the model's source as of then (the cut-off is the next day):
    customer_id, uplift and rank (1: the highest), highest first."""
    day = as_date(as_of, "--score-as-of") + dt.timedelta(days=1)
    x = _one_day(ws, day, None, getattr(model, "source_", "purchase"))
    uplift = model.predict(x)
    out = pd.DataFrame({"customer_id": x["customer_id"].to_numpy(), "uplift": uplift})
    out["rank"] = np.argsort(np.argsort(-uplift, kind="stable"), kind="stable") + 1
    return out.sort_values("rank", ignore_index=True)
