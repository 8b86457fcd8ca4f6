"""A policy launched without a random control: difference-in-differences against a
comparison group, with a check of the pre-period trends.

On a panel (one row per unit and period: a customer, a store or a region) the effect of
the policy on the treated group is the coefficient ``delta`` of

    y_it = period_t + beta * treated_i + delta * treated_i * post_t + e_it

fitted by ordinary least squares (`statsmodels.api.OLS`) with standard errors robust to
any correlation within a unit (``cov_type="cluster"`` on the unit, t with G - 1 degrees of
freedom, G the number of units). On a balanced panel ``delta`` is exactly the change of the
treated group's mean from before to after minus the comparison group's.

It is credible only if, without the policy, both groups would have moved alike (parallel
trends). The check: on the pre-period alone, the same regression with a different linear
trend per group, ``treated_i * t``; a slope difference whose p-value is under
``trend_alpha`` flags the trends as not parallel (a check that can only flag, never prove,
and needs at least two pre-periods). Holm's method adjusts the p-values across the rows as
in `cvm.campaign.randomised`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from cvm.campaign import inputs
from cvm.campaign.randomised import holm, verdict
from cvm.errors import InputError

__all__ = ["DID_COLUMNS", "DidResult", "difference_in_differences", "did_table",
           "period_order"]

DID_COLUMNS = ["arm", "outcome", "units", "control_units", "pre_periods", "post_periods",
               "estimate", "std_err", "ci_low", "ci_high", "p_value", "p_holm",
               "pretrend_slope", "pretrend_p", "parallel_trends", "verdict", "method"]


@dataclass
class DidResult:
    """``effects``: one row per arm x outcome (`DID_COLUMNS`); ``periods``: each period's
    mean of each arm and of the comparison group, and their difference."""

    effects: pd.DataFrame
    periods: pd.DataFrame


def period_order(values: pd.Series, start: object) -> tuple[pd.Series, object, list]:
    """Periods as sortable keys: numbers if every value is one, else dates (ISO text such
    as 2024-04 or 2024-04-01), else the text itself. Returns the keys, the key of ``start``
    (the first period after the launch) and the sorted distinct keys."""
    text = values.astype(str).str.strip()
    start_text = str(start).strip()
    num = pd.to_numeric(text, errors="coerce")
    if num.notna().all():
        s = pd.to_numeric(pd.Series([start_text]), errors="coerce").iloc[0]
        if pd.isna(s):
            raise InputError(f"--start {start!r}: the periods are numbers; give a number")
        return num, float(s), sorted(num.unique())
    day = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if day.notna().all():
        s = pd.to_datetime(pd.Series([start_text]), format="ISO8601", errors="coerce").iloc[0]
        if pd.isna(s):
            raise InputError(f"--start {start!r}: the periods are dates; give one like "
                             f"{text.iloc[0]}")
        return day, s, sorted(day.unique())
    return text, start_text, sorted(text.unique())


def _cluster_fit(y: np.ndarray, x: np.ndarray, units: np.ndarray):
    return sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": units}, use_t=True)


def _effect(y, t_code, treated, post, units, level):
    """delta, its std_err, interval and p-value."""
    periods = np.unique(t_code)
    dummies = (t_code[:, None] == periods[None, :]).astype(float)
    x = np.column_stack([dummies, treated, treated * post])
    fit = _cluster_fit(y, x, units)
    low, high = fit.conf_int(alpha=1 - level)[-1]
    return float(fit.params[-1]), float(fit.bse[-1]), float(low), float(high), \
        float(fit.pvalues[-1])


def _pretrend(y, t_code, treated, units):
    """The pre-period slope difference (treated - comparison, per period) and its p-value;
    NaN with fewer than two pre-periods."""
    periods = np.unique(t_code)
    if periods.size < 2:
        return float("nan"), float("nan")
    dummies = (t_code[:, None] == periods[None, :]).astype(float)
    x = np.column_stack([dummies, treated, treated * (t_code - t_code.mean())])
    fit = _cluster_fit(y, x, units)
    return float(fit.params[-1]), float(fit.pvalues[-1])


def difference_in_differences(panel: pd.DataFrame, unit: str, period: str, group: str,
                              control: str, outcomes: Sequence[str], start: object,
                              level: float = 0.95, trend_alpha: float = 0.05) -> DidResult:
    """Each group other than ``control`` (column ``group``, as text) against the
    ``control`` group, for each numeric outcome column; periods from ``start`` on are
    after the launch (see `period_order`). A row whose outcome is missing is left out of
    that outcome."""
    if not 0 < level < 1 or not 0 < trend_alpha < 1:
        raise InputError("level and trend_alpha must be between 0 and 1")
    groups = panel[group].astype(str).str.strip()
    if not (groups == control).any():
        seen = ", ".join(repr(a) for a in pd.unique(groups)[:10])
        raise InputError(f"the comparison group {control!r} does not occur in column "
                         f"{group!r}; its values are {seen}")
    arms = [a for a in pd.unique(groups) if a != control]
    if not arms:
        raise InputError(f"every unit is in the comparison group {control!r}")
    unit_ids = panel[unit].astype(str).str.strip()
    mixed = pd.DataFrame({"u": unit_ids, "g": groups}).groupby("u")["g"].nunique()
    if (mixed > 1).any():
        raise InputError(f"unit {mixed[mixed > 1].index[0]!r} (column {unit!r}) is in more than "
                         "one group; a unit belongs to one group throughout")
    keys, start_key, order = period_order(panel[period], start)
    pre_keys = [k for k in order if k < start_key]
    post_keys = [k for k in order if k >= start_key]
    if not pre_keys or not post_keys:
        raise InputError(f"--start {start!r} leaves {len(pre_keys)} period(s) before and "
                         f"{len(post_keys)} from the launch on; need at least one of each "
                         f"(periods run from {order[0]} to {order[-1]})")
    t_code = pd.Index(order).get_indexer(keys).astype(float)
    shown = dict(zip(keys, panel[period].astype(str).str.strip(), strict=True))
    post_mask = (keys >= start_key).to_numpy()
    rows, period_rows = [], []
    for name in dict.fromkeys(outcomes):
        values = panel[name].to_numpy(dtype=float)
        for arm in arms:
            keep = ((groups == arm) | (groups == control)).to_numpy() & np.isfinite(values)
            rows.append(_one(arm, name, values[keep], t_code[keep], post_mask[keep],
                             (groups[keep] == arm).to_numpy(dtype=float),
                             unit_ids[keep].to_numpy(), level, trend_alpha))
            frame = pd.DataFrame({"period": keys[keep].to_numpy(), "y": values[keep],
                                  "treated": (groups[keep] == arm).to_numpy()})
            means = frame.pivot_table(index="period", columns="treated", values="y",
                                      aggfunc="mean")
            for p, r in means.iterrows():
                period_rows.append({"arm": arm, "outcome": name, "period": shown[p],
                                    "after_launch": bool(p >= start_key),
                                    "mean": r.get(True, np.nan),
                                    "control_mean": r.get(False, np.nan)})
    effects = pd.DataFrame(rows)
    effects["p_holm"] = holm(effects["p_value"])
    effects["verdict"] = [
        "pre-period trends differ: not credible" if trend == "violated"
        else verdict(d, p, 1 - level, "comparison")
        for d, p, trend in zip(effects["estimate"], effects["p_holm"],
                               effects["parallel_trends"], strict=True)]
    periods = pd.DataFrame(period_rows)
    periods["difference"] = periods["mean"] - periods["control_mean"]
    return DidResult(effects[DID_COLUMNS], periods)


def _one(arm, name, y, t_code, post, treated, units, level, trend_alpha) -> dict:
    n1 = len(np.unique(units[treated == 1]))
    n0 = len(np.unique(units[treated == 0]))
    pre = ~post
    row = {"arm": arm, "outcome": name, "units": n1, "control_units": n0,
           "pre_periods": len(np.unique(t_code[pre])),
           "post_periods": len(np.unique(t_code[post])),
           "method": "OLS with period effects, standard errors clustered by unit"}
    if n1 < 2 or n0 < 2:
        raise InputError(f"group {arm!r} has {n1} unit(s) with outcome {name!r} and the "
                         f"comparison group {n0}; clustering by unit needs at least 2 each")
    for part, what in ((pre, "before"), (post, "from")):
        if len(np.unique(treated[part])) < 2:
            raise InputError(f"outcome {name!r}: no values of both groups {what} the launch")
    est, se, low, high, p = _effect(y, t_code, treated, post.astype(float), units, level)
    slope, p_trend = _pretrend(y[pre], t_code[pre], treated[pre], units[pre])
    trend = ("not checked (one pre-period)" if not np.isfinite(p_trend)
             else "violated" if p_trend < trend_alpha else "not rejected")
    return {**row, "estimate": est, "std_err": se, "ci_low": low, "ci_high": high,
            "p_value": p, "pretrend_slope": slope, "pretrend_p": p_trend,
            "parallel_trends": trend}


def did_table(frame: pd.DataFrame, unit: str, period: str, group: str, control: str,
              outcomes: Sequence[str], start: object, level: float = 0.95,
              trend_alpha: float = 0.05) -> DidResult:
    """`difference_in_differences` of a table read with `cvm.campaign.inputs.read_frame`,
    its columns checked and its outcomes read as numbers."""
    if not outcomes:
        raise InputError("name at least one outcome column (--outcome COLUMN)")
    inputs.require_columns(frame, {"--unit": unit, "--period": period, "--group": group})
    for o in outcomes:
        inputs.require_columns(frame, {"--outcome": o})
    panel = pd.DataFrame({unit: inputs.labels(frame, unit, "the unit"),
                          period: inputs.labels(frame, period, "the period"),
                          group: inputs.labels(frame, group, "the group")})
    for o in dict.fromkeys(outcomes):
        panel[o] = inputs.numbers(frame, o)
    control = inputs.find_value(frame, panel[group], group, control, "the comparison group")
    return difference_in_differences(panel, unit, period, group, control, outcomes, start,
                                     level, trend_alpha)
