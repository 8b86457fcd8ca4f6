"""What staff did with earlier opportunities, as features of the propensity models: the
outcomes of one month's lists feed the next month's scores.

Per customer, at a cut-off day: opportunities sent to staff in the 365 days before it
(``offers_365d``; the control group was not sent), and outcomes recorded before it:
``accepted_365d`` and ``declined_365d``. Only what was known before the cut-off counts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

__all__ = ["contact_history", "contact_features", "CONTACT_FEATURES"]

CONTACT_FEATURES = ("offers_365d", "accepted_365d", "declined_365d")


def contact_history(ws) -> pd.DataFrame | None:
    """Earlier opportunities with their latest outcome, or None when the workspace has no
    operational database or no opportunity in it (nothing is created to find out)."""
    s = ws.settings.programme
    if not s.database_url and not (Path(ws.path) / "programme.db").exists():
        return None
    from cvm.opportunities import store as opp_store

    df = opp_store.load(ws.opportunities.store)
    if df.empty:
        return None
    return df.assign(as_of=pd.to_datetime(df["as_of"]),
                     outcome_at=pd.to_datetime(df["outcome_at"], utc=True).dt.tz_localize(None))


def contact_features(history: pd.DataFrame, ids: pd.Index, cutoff: dt.date) -> pd.DataFrame:
    """`CONTACT_FEATURES` for the customers ``ids`` at ``cutoff`` (0 where none)."""
    start = pd.Timestamp(cutoff)
    h = history[(~history["control"].astype(bool)) & (history["as_of"] < start)
                & (history["as_of"] >= start - pd.Timedelta(days=365))]
    known = h["outcome_at"] < start
    out = pd.DataFrame({
        "offers_365d": h.groupby("customer_id").size(),
        "accepted_365d": h[known & (h["outcome"] == "accepted")].groupby("customer_id").size(),
        "declined_365d": h[known & (h["outcome"] == "declined")].groupby("customer_id").size(),
    })
    return out.reindex(ids).fillna(0).astype("int64")
