"""Lifecycle stage from tenure, recency and the spend trend: documented rules, in order.

1. **new**: tenure (since the first purchase or the signup day, whichever came first) below
   ``new_days``;
2. **lapsed**: no purchase in the last ``lapsed_days`` days (or never bought, once no
   longer new);
3. **growing**: less than a year as a customer (still building up), or spend in the last
   180 days at least ``1 + trend`` times the 180 days before;
4. **declining**: spend in the last 180 days at most ``1 - trend`` times the 180 days before;
5. **mature**: everyone else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["STAGES", "lifecycle_stage"]

STAGES = ("new", "growing", "mature", "declining", "lapsed")


def lifecycle_stage(features: pd.DataFrame, new_days: int, lapsed_days: int,
                    trend: float) -> np.ndarray:
    """The stage of each row of a `cvm.scoring.features.purchase_features` frame."""
    tenure = features["tenure_days"].to_numpy(dtype=float)
    recency = features["recency_days"].to_numpy(dtype=float, na_value=np.nan)
    recent = features["spend_180d"].to_numpy(dtype=float)
    prior = features["spend_prior_180d"].to_numpy(dtype=float)
    lapsed = np.isnan(recency) | (recency > lapsed_days)
    young = tenure < 360
    up = (recent >= (1 + trend) * prior) & (recent > 0)
    down = recent <= (1 - trend) * prior
    return np.select([tenure < new_days, lapsed, young | up, down],
                     ["new", "lapsed", "growing", "declining"], "mature")
