"""Survival of customer tenure: Kaplan-Meier curves, log-rank test and Cox regression.

Tenure is measured from a contract's start to its end (an event: the customer left) or
to the as-of date (censored: still a customer). Estimation uses lifelines
(Davidson-Pilon 2019, "lifelines: survival analysis in Python", JOSS 4(40)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import restricted_mean_survival_time

from cvm._time import UNIT_DAYS
from cvm.errors import ConvergenceError, InputError

__all__ = ["contract_tenure", "kaplan_meier", "SurvivalCurves", "logrank", "cox"]


def contract_tenure(contracts: pd.DataFrame, as_of, unit: str = "months") -> pd.DataFrame:
    """Tenure and churn flag of each contract that started on or before ``as_of``.

    ``tenure`` = (end, or ``as_of`` while active, or when the end is after ``as_of``) minus
    start, in ``unit``; ``churned`` is 1 when the contract ended on or before ``as_of``.
    The other columns are kept. A contract ending before its start is an error naming it.
    """
    if unit not in UNIT_DAYS:
        raise InputError(f"unit must be one of {list(UNIT_DAYS)}, got {unit!r}")
    for col in ("start", "end"):
        if col not in contracts.columns:
            raise InputError(f"contracts lack the column '{col}'")
    as_of = pd.Timestamp(as_of)
    start = pd.to_datetime(contracts["start"])
    end = pd.to_datetime(contracts["end"])
    bad = np.flatnonzero((end < start).to_numpy())
    if bad.size:
        who = contracts.iloc[bad[:5]]
        label = who["contract_id"] if "contract_id" in who else who.index
        raise InputError(f"{bad.size} contract(s) end before they start, e.g. "
                         f"{', '.join(map(str, label))}; fix their start or end dates")
    keep = (start <= as_of).to_numpy()
    out = contracts.loc[keep].copy()
    start, end = start[keep], end[keep]
    churned = end.notna() & (end <= as_of)
    stop = end.where(churned, as_of)
    out["tenure"] = (stop - start).dt.days / UNIT_DAYS[unit]
    out["churned"] = churned.astype(int)
    return out


def _check(df: pd.DataFrame, duration: str, event: str, group: str | None = None):
    for col in (duration, event, group):
        if col is not None and col not in df.columns:
            raise InputError(f"no column '{col}'; columns: {', '.join(map(str, df.columns))}")
    t = pd.to_numeric(df[duration], errors="coerce")
    bad = np.flatnonzero((t.isna() | (t < 0)).to_numpy())
    if bad.size:
        rows = [int(i) + 1 for i in bad[:5]]
        raise InputError(f"'{duration}' must be a number >= 0; rows {rows} "
                         f"hold {list(df[duration].iloc[bad[:5]])}")
    e = pd.to_numeric(df[event], errors="coerce")
    if not e.isin([0, 1]).all():
        raise InputError(f"'{event}' must be 0 (censored) or 1 (churned)")
    if df.empty:
        raise InputError("no rows to estimate survival on")
    return t.to_numpy(float), e.to_numpy(int)


@dataclass
class SurvivalCurves:
    """Kaplan-Meier estimates by group.

    ``summary``: one row per group with ``customers``, ``churned``, ``median_tenure`` (the
    first time the curve is at or below 0.5, see `_median`; infinite if it never is) and
    ``restricted_mean_tenure`` (area under the curve up to ``horizon``). ``curves``: the
    step function per group, one row per distinct time with ``at_risk``, ``churned``,
    ``censored`` and ``survival`` just after that time.
    """

    summary: pd.DataFrame
    curves: pd.DataFrame
    horizon: float


def kaplan_meier(df: pd.DataFrame, duration: str = "tenure", event: str = "churned",
                 group: str | None = None, horizon: float | None = None) -> SurvivalCurves:
    r"""Kaplan-Meier survival of tenure, overall or by ``group``.

    .. math:: \hat S(t) = \prod_{t_i \le t} \Bigl(1 - \frac{d_i}{n_i}\Bigr)

    with :math:`d_i` churners at time :math:`t_i` and :math:`n_i` customers at risk just
    before it (a customer censored at :math:`t_i` is still at risk then). Kaplan & Meier
    (1958), "Nonparametric estimation from incomplete observations", JASA 53(282).
    The restricted mean tenure is :math:`\int_0^{\tau} \hat S(t)\,dt` with :math:`\tau` =
    ``horizon`` (default: the largest observed tenure).
    """
    t, e = _check(df, duration, event, group)
    tau = float(t.max()) if horizon is None else float(horizon)
    if tau <= 0:
        raise InputError(f"horizon must be > 0, got {tau}")
    keys = pd.Series("all", index=df.index) if group is None else df[group].astype(str)
    rows, curves = [], []
    for key in sorted(keys.unique()):
        m = (keys == key).to_numpy()
        kmf = KaplanMeierFitter().fit(t[m], e[m])
        table = kmf.event_table
        sf = kmf.survival_function_.iloc[:, 0]
        curves.append(pd.DataFrame({
            "group": key, "time": table.index.to_numpy(float),
            "at_risk": table["at_risk"].to_numpy(int),
            "churned": table["observed"].to_numpy(int),
            "censored": table["censored"].to_numpy(int),
            "survival": sf.loc[table.index].to_numpy(float)}))
        rows.append({"group": key, "customers": int(m.sum()), "churned": int(e[m].sum()),
                     "median_tenure": _median(sf),
                     "restricted_mean_tenure": float(restricted_mean_survival_time(kmf, t=tau))})
    curves_df = pd.concat(curves, ignore_index=True)
    curves_df = curves_df[curves_df["time"] > 0].reset_index(drop=True)
    return SurvivalCurves(summary=pd.DataFrame(rows), curves=curves_df, horizon=tau)


def _median(sf: pd.Series) -> float:
    """First time the curve is at or below 0.5 (within 1e-9, so a product of fractions
    that is 0.5 up to rounding counts); infinity if it never is. lifelines' own median
    compares without tolerance (5/6 * 3/5 = 0.5000000000000001 misses 0.5), and R's
    survfit takes the midpoint of an interval on which the curve is exactly 0.5."""
    below = sf.index[(sf <= 0.5 + 1e-9).to_numpy()]
    return float(below[0]) if len(below) else float("inf")


def logrank(df: pd.DataFrame, group: str, duration: str = "tenure",
            event: str = "churned") -> dict:
    r"""Log-rank test that the groups' tenure survival curves are equal.

    For two groups, :math:`\chi^2 = (O_1 - E_1)^2 / V` with, over the distinct churn times,
    :math:`E_1 = \sum d_i n_{1i}/n_i` and
    :math:`V = \sum d_i (n_i - d_i) n_{1i} n_{2i} / (n_i^2 (n_i - 1))`; for :math:`k` groups
    the quadratic form on :math:`k - 1` degrees of freedom. Mantel (1966), Cancer
    Chemotherapy Reports 50(3); Peto & Peto (1972), JRSS A 135(2).

    Returns ``{"statistic", "df", "p_value", "groups"}``.
    """
    t, e = _check(df, duration, event, group)
    groups = df[group].astype(str)
    if groups.nunique() < 2:
        raise InputError(f"the log-rank test needs two or more groups; '{group}' has "
                         f"{groups.nunique()}")
    res = multivariate_logrank_test(t, groups.to_numpy(), e)
    return {"statistic": float(res.test_statistic), "df": int(res.degrees_of_freedom),
            "p_value": float(res.p_value), "groups": sorted(groups.unique())}


def cox(df: pd.DataFrame, covariates: list[str], duration: str = "tenure",
        event: str = "churned", penalizer: float = 0.0) -> pd.DataFrame:
    r"""Cox proportional-hazards regression of tenure on ``covariates``.

    .. math:: h(t \mid x) = h_0(t) \exp(x^\top \beta)

    fitted by maximising the partial likelihood (Efron's handling of tied times). Text
    covariates are dummy-coded against their first level (alphabetical), so a row
    ``plan=premium`` is the hazard ratio of premium against that level. Cox (1972),
    "Regression models and life-tables", JRSS B 34(2); Efron (1977), JASA 72(359).

    Returns one row per coefficient: ``covariate``, ``coef``, ``hazard_ratio``, ``se``,
    ``z``, ``p_value``, ``hr_lower_95``, ``hr_upper_95``.
    """
    t, e = _check(df, duration, event)
    missing = [c for c in covariates if c not in df.columns]
    if missing:
        raise InputError(f"no covariate column(s) {missing}")
    X = pd.get_dummies(df[covariates], prefix_sep="=", drop_first=True, dtype=float)
    data = X.assign(_t=t, _e=e)
    try:
        fitter = CoxPHFitter(penalizer=penalizer).fit(data, duration_col="_t", event_col="_e")
    except Exception as exc:  # lifelines raises its own ConvergenceError and LinAlgError
        raise ConvergenceError(
            f"the Cox regression did not converge ({type(exc).__name__}: {exc}). Try:\n"
            "  1. dropping a covariate that separates churners perfectly or is constant;\n"
            "  2. merging rare levels of text covariates;\n"
            "  3. a small penalizer, e.g. penalizer=0.01.") from None
    s = fitter.summary
    return pd.DataFrame({
        "covariate": s.index.to_list(), "coef": s["coef"].to_numpy(),
        "hazard_ratio": s["exp(coef)"].to_numpy(), "se": s["se(coef)"].to_numpy(),
        "z": s["z"].to_numpy(), "p_value": s["p"].to_numpy(),
        "hr_lower_95": s["exp(coef) lower 95%"].to_numpy(),
        "hr_upper_95": s["exp(coef) upper 95%"].to_numpy()})
