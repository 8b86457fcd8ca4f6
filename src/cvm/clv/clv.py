r"""Discounted customer lifetime value from a purchase model and a spend model.

For a customer with history :math:`(x, t_x, T)` and mean spend :math:`\bar z`, over ``H``
periods of length ``L`` (in the purchase model's time unit) with per-period discount rate ``d``,

.. math::

    \mathrm{CLV} = m \; E[Z \mid \bar z, x] \sum_{k=1}^{H}
        \frac{E[Y(kL) \mid x, t_x, T] - E[Y((k-1)L) \mid x, t_x, T]}{(1+d)^k},

with :math:`E[Y(t) \mid \cdot]` the purchase model's conditional expected number of purchases in
:math:`(T, T+t]`, :math:`E[Z \mid \cdot]` the Gamma-Gamma conditional expected spend and ``m``
the margin. Purchases made during period k are discounted by k whole periods (end-of-period
convention). Spend and purchasing are independent in these models (Fader, Hardie & Lee 2005,
"RFM and CLV"), so the product of expectations is the expectation of the product.

The discounted purchases are computed once per distinct ``(x, t_x, T)`` row and joined back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cvm.clv._base import as_float, compress_rows, customer_labels
from cvm.config import ClvSettings
from cvm.errors import InputError

__all__ = ["discounted_expected_purchases", "customer_lifetime_value", "score_customers"]


def _options(horizon: int | None, discount_rate: float | None, period_length: float,
             settings: ClvSettings | None) -> tuple[int, float, float]:
    settings = settings or ClvSettings()
    h = settings.horizon_periods if horizon is None else horizon
    d = settings.discount_rate if discount_rate is None else discount_rate
    if not (isinstance(h, (int, np.integer)) and h >= 1):
        raise InputError(f"horizon: expected a whole number of periods >= 1, got {h!r}")
    if not (0 <= d < 1):
        raise InputError(f"discount_rate: expected a per-period rate in [0, 1), got {d!r}")
    if not period_length > 0:
        raise InputError(f"period_length: expected > 0 model time units, got {period_length!r}")
    return int(h), float(d), float(period_length)


def discounted_expected_purchases(purchase_model: Any, x: Any, t_x: Any, T: Any, *,
                                  horizon: int | None = None, discount_rate: float | None = None,
                                  period_length: float = 1.0,
                                  settings: ClvSettings | None = None) -> np.ndarray:
    r"""Discounted expected purchases over ``horizon`` periods, one value per customer.

    :math:`\sum_{k=1}^{H} (E[Y(kL)] - E[Y((k-1)L)]) / (1+d)^k`; ``horizon`` and
    ``discount_rate`` default to the ``[clv]`` settings.
    """
    h, d, L = _options(horizon, discount_rate, period_length, settings)
    (xu, tu, Tu), _, inverse = compress_rows(
        [as_float("frequency (x)", x), as_float("recency (t_x)", t_x), as_float("age (T)", T)])
    cum = np.zeros(len(xu))
    total = np.zeros(len(xu))
    for k in range(1, h + 1):
        nxt = purchase_model.conditional_expected_purchases(k * L, xu, tu, Tu)
        total += (nxt - cum) / (1 + d) ** k
        cum = nxt
    return total[inverse]


def customer_lifetime_value(purchase_model: Any, spend_model: Any, x: Any, t_x: Any, T: Any,
                            mean_spend: Any, *, horizon: int | None = None,
                            discount_rate: float | None = None, period_length: float = 1.0,
                            margin: float = 1.0, settings: ClvSettings | None = None
                            ) -> np.ndarray:
    """Discounted CLV per customer: margin x expected spend x discounted expected purchases."""
    if not 0 < margin <= 1:
        raise InputError(f"margin: expected a share of spend in (0, 1], got {margin!r}")
    det = discounted_expected_purchases(purchase_model, x, t_x, T, horizon=horizon,
                                        discount_rate=discount_rate,
                                        period_length=period_length, settings=settings)
    spend = spend_model.conditional_expected_spend(x, mean_spend)
    return margin * spend * det


def score_customers(purchase_model: Any, spend_model: Any | None, x: Any, t_x: Any, T: Any,
                    mean_spend: Any = None, *, horizon: int | None = None,
                    discount_rate: float | None = None, period_length: float = 1.0,
                    margin: float = 1.0, settings: ClvSettings | None = None) -> pd.DataFrame:
    """One row per customer: P(alive), expected purchases next period and over the horizon,
    expected spend per purchase and discounted CLV (the last two need a spend model)."""
    h, d, L = _options(horizon, discount_rate, period_length, settings)
    labels = customer_labels(x)
    x_, t_, T_ = (as_float("frequency (x)", x), as_float("recency (t_x)", t_x),
                  as_float("age (T)", T))
    (xu, tu, Tu), _, inv = compress_rows([x_, t_, T_])
    index = pd.RangeIndex(len(x_)) if labels is None else pd.Index(labels)
    out = pd.DataFrame(index=index.rename("customer_id"))
    out["p_alive"] = purchase_model.probability_alive(xu, tu, Tu)[inv]
    out["expected_purchases_next_period"] = purchase_model.conditional_expected_purchases(
        L, xu, tu, Tu)[inv]
    out["expected_purchases_horizon"] = purchase_model.conditional_expected_purchases(
        h * L, xu, tu, Tu)[inv]
    det = discounted_expected_purchases(purchase_model, xu, tu, Tu, horizon=h, discount_rate=d,
                                        period_length=L)[inv]
    out["discounted_expected_purchases"] = det
    if spend_model is not None:
        if mean_spend is None:
            raise InputError("score_customers: a spend model needs mean_spend per customer")
        if not 0 < margin <= 1:
            raise InputError(f"margin: expected a share of spend in (0, 1], got {margin!r}")
        spend = spend_model.conditional_expected_spend(x_, mean_spend)
        out["expected_spend"] = spend
        out["clv"] = margin * spend * det
    return out
