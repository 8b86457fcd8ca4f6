"""Effects of a randomised campaign: each arm against the control, for each outcome.

A yes/no outcome (every measured value 0 or 1) is compared as a rate, any other as a mean.
For each arm x outcome: the arm's and the control's mean, the difference (arm - control, in
the outcome's units: a share for a rate), the relative lift (difference / control mean), an
interval for the difference, the unadjusted two-sided p-value, and the p-value adjusted by
Holm's step-down method across all rows (Holm 1979, Scandinavian Journal of Statistics 6),
which keeps the chance of any false "effect" among them at most ``1 - level``.

- Rates: Newcombe's hybrid score interval (Newcombe 1998, Statistics in Medicine 17,
  method 10) and the score test of equal rates without continuity correction (the pooled
  two-proportion z test), from `statsmodels.stats.proportion`.
- Means: Welch's t interval and test (unequal variances, Satterthwaite's df), or with
  ``variance="pooled"`` Student's (one pooled variance, n1 + n0 - 2 df), from
  `statsmodels.stats.weightstats.CompareMeans`.

`compare_means` and `compare_rates` take arrays whose last axis may run over many trials
at once (a simulation), so their coverage can be checked quickly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from cvm.campaign import inputs
from cvm.errors import InputError

__all__ = ["EFFECT_COLUMNS", "VARIANCES", "arm_effects", "compare_mean_stats",
           "compare_means", "compare_rates",
           "effects", "holm", "verdict"]

VARIANCES = ("welch", "pooled")

EFFECT_COLUMNS = ["arm", "outcome", "kind", "n", "control_n", "mean", "control_mean",
                  "difference", "lift", "std_err", "ci_low", "ci_high", "p_value", "p_holm",
                  "verdict", "method"]


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise InputError(f"the level of the interval must be between 0 and 1, e.g. 0.95; got "
                         f"{level!r}")
    return float(level)


def compare_means(y1: np.ndarray, y0: np.ndarray, level: float = 0.95,
                  variance: str = "welch",
                  weights: tuple[np.ndarray, np.ndarray] | None = None
                  ) -> dict[str, np.ndarray]:
    """Difference of means ``mean(y1) - mean(y0)`` with its standard error, interval, t
    statistic, degrees of freedom and two-sided p-value.

    ``y1`` and ``y0`` are arrays of shape (n1,) and (n0,), or (n1, k) and (n0, k) for k
    comparisons at once (column j against column j); no missing values. ``weights``:
    frequency weights of ``y1`` and ``y0`` (see `compare_mean_stats`).
    """
    level = _check_level(level)
    if variance not in VARIANCES:
        raise InputError(f"variance must be one of {', '.join(VARIANCES)}; got {variance!r}")
    y1, y0 = np.asarray(y1, dtype=float), np.asarray(y0, dtype=float)
    w1, w0 = weights if weights is not None else (None, None)
    n1 = len(y1) if w1 is None else float(np.sum(w1))
    n0 = len(y0) if w0 is None else float(np.sum(w0))
    if n1 < 2 or n0 < 2:
        raise InputError("a mean needs at least 2 measured values in each group; got "
                         f"{n1:g} and {n0:g}")
    usevar = "unequal" if variance == "welch" else "pooled"
    cm = CompareMeans(DescrStatsW(y1, weights=w1), DescrStatsW(y0, weights=w0))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero variance: handled below
        diff = np.asarray(cm.d1.mean - cm.d2.mean, dtype=float)
        se = np.asarray(cm.std_meandiff_separatevar if usevar == "unequal"
                        else cm.std_meandiff_pooledvar, dtype=float)
        stat, p, df = (np.asarray(v, dtype=float) for v in cm.ttest_ind(usevar=usevar))
        low, high = (np.asarray(v, dtype=float)
                     for v in cm.tconfint_diff(alpha=1 - level, usevar=usevar))
    same = (se == 0) & (diff == 0)  # two constant, equal groups: no evidence of a difference
    p = np.where(same, 1.0, np.where((se == 0) & (diff != 0), 0.0, p))
    low, high = np.where(se == 0, diff, low), np.where(se == 0, diff, high)
    return {"difference": diff, "std_err": se, "ci_low": low, "ci_high": high,
            "statistic": stat, "df": df, "p_value": p}


def compare_mean_stats(n1, mean1, var1, n0, mean0, var0, level: float = 0.95,
                       variance: str = "welch") -> dict[str, np.ndarray]:
    """`compare_means` from each group's size, mean and variance (divisor n - 1) instead
    of its values: each group is given to `CompareMeans` as the two values mean -/+ s with
    frequency weights n/2 each, s chosen so that their weighted variance is the group's,
    which gives the same counts, means and variances, hence the same results."""
    def group(n, m, v):
        n, m, v = float(n), float(m), float(v)
        s = np.sqrt(v * (n - 1) / n)
        return np.array([m - s, m + s]), np.array([n / 2, n / 2])

    (y1, w1), (y0, w0) = group(n1, mean1, var1), group(n0, mean0, var0)
    return compare_means(y1, y0, level, variance, weights=(w1, w0))


def compare_rates(x1: np.ndarray, n1: np.ndarray, x0: np.ndarray, n0: np.ndarray,
                  level: float = 0.95) -> dict[str, np.ndarray]:
    """Difference of rates ``x1/n1 - x0/n0`` (counts of yes out of n) with the unpooled
    standard error, Newcombe's hybrid score interval and the p-value of the score test of
    equal rates; the arguments may be arrays (one comparison per element)."""
    level = _check_level(level)
    x1, n1, x0, n0 = (np.asarray(v, dtype=float) for v in (x1, n1, x0, n0))
    if np.any(n1 < 1) or np.any(n0 < 1):
        raise InputError("a rate needs at least 1 measured value in each group")
    p1, p0 = x1 / n1, x0 / n0
    diff = p1 - p0
    se = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    low, high = (np.asarray(v, dtype=float) for v in confint_proportions_2indep(
        x1, n1, x0, n0, method="newcomb", compare="diff", alpha=1 - level))
    pooled = (x1 + x0) / (n1 + n0)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pooled rate 0 or 1: handled below
        test = test_proportions_2indep(x1, n1, x0, n0, method="score", compare="diff",
                                       correction=False)
    degenerate = (pooled == 0) | (pooled == 1)  # all no or all yes: equal rates, p = 1
    p = np.where(degenerate, 1.0, np.asarray(test.pvalue, dtype=float))
    stat = np.where(degenerate, 0.0, np.asarray(test.statistic, dtype=float))
    return {"difference": diff, "std_err": se, "ci_low": low, "ci_high": high,
            "statistic": stat, "p_value": p}


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (`statsmodels.stats.multitest`); a
    missing p-value stays missing and does not count as a test."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.sum() == 1:
        out[ok] = p[ok]  # one test: nothing to adjust
    elif ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def verdict(difference: float, p_holm: float, alpha: float, against: str = "control") -> str:
    """What a manager reads: higher or lower than the control (``against``) when Holm's
    p-value is under ``alpha``, else no clear difference."""
    if not np.isfinite(p_holm):
        return "not measured"
    if p_holm < alpha:
        return f"{'higher' if difference > 0 else 'lower'} than {against}"
    return "no clear difference"


def effects(groups: pd.Series, control: str, outcomes: dict[str, pd.Series],
            level: float = 0.95, variance: str = "welch") -> pd.DataFrame:
    """One row per arm x outcome (columns `EFFECT_COLUMNS`): ``groups`` holds each row's arm
    as text, ``outcomes`` maps an outcome's name to its values (NaN: not measured for that
    row). Arms are in order of first appearance, outcomes as given; p_holm adjusts across
    all rows."""
    level = _check_level(level)
    arms = [a for a in pd.unique(groups) if a != control]
    if not (groups == control).any():
        seen = ", ".join(repr(a) for a in pd.unique(groups)[:10])
        raise InputError(f"the control value {control!r} does not occur; the arms are {seen}")
    if not arms:
        raise InputError(f"every row is in the control arm {control!r}; nothing to compare")
    rows = []
    for name, values in outcomes.items():
        values = pd.Series(np.asarray(values, dtype=float), index=groups.index)
        binary = inputs.flags(values)
        y0 = values[(groups == control).to_numpy()].dropna().to_numpy()
        for arm in arms:
            y1 = values[(groups == arm).to_numpy()].dropna().to_numpy()
            rows.append(_row(arm, name, y1, y0, binary, level, variance))
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p_value"])
    alpha = 1 - level
    out["verdict"] = [verdict(d, p, alpha) for d, p in zip(out["difference"], out["p_holm"],
                                                           strict=True)]
    return out[EFFECT_COLUMNS]


def _row(arm, name, y1, y0, binary, level, variance) -> dict:
    row = {"arm": arm, "outcome": name, "kind": "rate" if binary else "mean",
           "n": int(y1.size), "control_n": int(y0.size)}
    nan = float("nan")
    if binary and y1.size and y0.size:
        r = compare_rates(y1.sum(), y1.size, y0.sum(), y0.size, level)
        method = "Newcombe hybrid score interval; score test"
    elif not binary and y1.size >= 2 and y0.size >= 2:
        r = compare_means(y1, y0, level, variance)
        method = ("Welch t interval and test" if variance == "welch"
                  else "Student t interval and test (pooled variance)")
    else:
        r, method = {}, "too few measured values"
    m1 = float(y1.mean()) if y1.size else nan
    m0 = float(y0.mean()) if y0.size else nan
    diff = float(r.get("difference", m1 - m0))
    lift = diff / m0 if np.isfinite(m0) and m0 != 0 else nan
    return {**row, "mean": m1, "control_mean": m0, "difference": diff, "lift": lift,
            **{k: float(r.get(k, nan)) for k in ("std_err", "ci_low", "ci_high", "p_value")},
            "method": method}


def arm_effects(frame: pd.DataFrame, arm: str, control: str, outcomes: Sequence[str],
                level: float = 0.95, variance: str = "welch") -> pd.DataFrame:
    """`effects` of a table read with `cvm.campaign.inputs.read_frame`: the column ``arm``
    says each row's arm, ``control`` is the control's value in it, ``outcomes`` are numeric
    columns (0/1 for a yes/no outcome; a blank cell is not measured)."""
    if not outcomes:
        raise InputError("name at least one outcome column (--outcome COLUMN)")
    if variance not in VARIANCES:
        raise InputError(f"variance must be one of {', '.join(VARIANCES)}; got {variance!r}")
    inputs.require_columns(frame, {"--arm": arm})
    for o in outcomes:
        inputs.require_columns(frame, {"--outcome": o})
    groups = inputs.labels(frame, arm, "the arm")
    control = inputs.find_value(frame, groups, arm, control)
    values = {o: inputs.numbers(frame, o) for o in dict.fromkeys(outcomes)}
    return effects(groups, control, values, level, variance)
