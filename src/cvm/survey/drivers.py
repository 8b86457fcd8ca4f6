"""Key drivers: how much of the variance of an outcome (NPS answer, overall satisfaction)
each item rating accounts for, with bootstrap intervals and an importance-performance quadrant.

For predictors with correlation matrix ``R_xx`` and correlations ``r_xy`` with the outcome,
``R^2(S) = r_S' R_SS^-1 r_S`` is the R^2 of the regression on the subset S. Two ways to share
the full R^2 between predictors despite their correlation:

* **Shapley decomposition** (Lipovetsky & Conklin 2001, Applied Stochastic Models in
  Business and Industry 17(4); the LMG measure of Grömping 2006): the average gain in R^2
  from adding predictor j over all orders, ``phi_j = sum_{S not containing j}
  |S|! (p - |S| - 1)! / p! [R^2(S + j) - R^2(S)]``; exact over the 2^p subsets (p <= 15).
* **Relative weights** (Johnson 2000, Multivariate Behavioral Research 35(1)): with
  ``R_xx = Q L Q'`` and ``Lambda = Q L^(1/2) Q'`` (correlations of X with its closest
  orthogonal version Z), ``beta = Lambda^-1 r_xy`` and ``eps_j = sum_k Lambda_jk^2 beta_k^2``.

Both sum to R^2. Performance is the mean rating on 0-100 (from the scale); the quadrants
follow Martilla & James (1977), "Importance-performance analysis", J. Marketing 41(1),
split at the mean importance and mean performance of the ranked drivers.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from math import factorial

import numpy as np
import pandas as pd

from cvm.errors import InputError
from cvm.survey.answers import nps_item, survey_definition, to_unit_scale, wide_answers
from cvm.survey.pls import bootstrap_indices

__all__ = ["key_drivers", "relative_weights", "shapley_r2", "workspace_drivers"]

MAX_SHAPLEY = 15
QUADRANTS = {(True, False): "concentrate here", (True, True): "keep up the good work",
             (False, False): "low priority", (False, True): "possible overkill"}


def _corr(D: np.ndarray) -> np.ndarray:
    """Batched correlation matrices of ``D (b, n, k)``."""
    Z = D - D.mean(axis=1, keepdims=True)
    Z = Z / np.sqrt((Z ** 2).sum(axis=1, keepdims=True))
    return np.einsum("bni,bnj->bij", Z, Z)


def shapley_r2(C: np.ndarray) -> np.ndarray:
    """Shapley shares of R^2 from correlation matrices ``C (b, p + 1, p + 1)``, outcome last."""
    p = C.shape[-1] - 1
    if p > MAX_SHAPLEY:
        raise InputError(f"{p} drivers: the exact Shapley decomposition needs 2^p regressions; "
                         f"use at most {MAX_SHAPLEY}, or method='relative_weights'")
    r2 = {(): np.zeros(C.shape[0])}
    for k in range(1, p + 1):
        for S in combinations(range(p), k):
            s = list(S)
            rs = C[:, s, p]
            beta = np.linalg.solve(C[:, s][:, :, s], rs[:, :, None])[:, :, 0]
            r2[S] = np.einsum("bk,bk->b", beta, rs)
    phi = np.zeros((C.shape[0], p))
    for S, value in r2.items():
        for j in range(p):
            if j in S:
                continue
            weight = factorial(len(S)) * factorial(p - len(S) - 1) / factorial(p)
            phi[:, j] += weight * (r2[tuple(sorted((*S, j)))] - value)
    return phi


def relative_weights(C: np.ndarray) -> np.ndarray:
    """Johnson's relative weights from correlation matrices ``C (b, p + 1, p + 1)``."""
    p = C.shape[-1] - 1
    vals, vecs = np.linalg.eigh(C[:, :p, :p])
    vals = np.clip(vals, 1e-12, None)
    lam = np.einsum("bij,bj,bkj->bik", vecs, np.sqrt(vals), vecs)
    beta = np.linalg.solve(lam, C[:, :p, p][:, :, None])[:, :, 0]
    return np.einsum("bjk,bk->bj", lam ** 2, beta ** 2)


def key_drivers(data: pd.DataFrame, outcome: str, drivers: Sequence[str], *,
                method: str = "shapley", scale: tuple[float, float] | None = None,
                min_answers: int = 30, n_bootstrap: int = 200,
                random_state: int | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Importance of each driver for ``outcome``, with percentile bootstrap intervals.

    Drivers answered by fewer than ``min_answers`` respondents are flagged
    (``too_few_answers``) and left out of the model, not ranked; the others are fitted on the
    respondents who answered all of them and the outcome.

    Returns one row per driver: driver, answers, importance (share of R^2, in R^2 units),
    share (of the model's R^2), ci_low, ci_high, rank, performance (mean rating on 0-100 when
    ``scale`` is given), quadrant, too_few_answers. ``DataFrame.attrs`` holds r2 and n.
    """
    if method not in ("shapley", "relative_weights"):
        raise InputError(f"method must be 'shapley' or 'relative_weights', got {method!r}")
    missing = [c for c in (outcome, *drivers) if c not in data.columns]
    if missing:
        raise InputError(f"column(s) {missing} are not in the data")
    num = data[[*drivers, outcome]].apply(pd.to_numeric, errors="coerce")
    answers = num[list(drivers)].notna().sum()
    used = [d for d in drivers if answers[d] >= min_answers]
    if len(used) < 2:
        raise InputError(f"only {len(used)} driver(s) have at least {min_answers} answers; "
                         "key-driver analysis needs two or more")
    complete = num[[*used, outcome]].dropna().to_numpy(dtype=float)
    n = complete.shape[0]
    if n < len(used) + 3:
        raise InputError(f"only {n} respondents answered all of {used} and {outcome}")
    flat = [c for c, sd in zip([*used, outcome], complete.std(axis=0), strict=True) if sd == 0]
    if flat:
        raise InputError(f"{flat} have the same answer from every respondent; drop them")
    decompose = shapley_r2 if method == "shapley" else relative_weights
    imp = decompose(_corr(complete[None]))[0]
    r2 = float(imp.sum())
    out = pd.DataFrame({"driver": list(drivers), "answers": answers.to_numpy().astype(int)})
    out["importance"] = out["driver"].map(dict(zip(used, imp, strict=True)))
    out["share"] = out["importance"] / r2
    out["ci_low"] = out["ci_high"] = np.nan
    if n_bootstrap:
        rng = np.random.default_rng(random_state)
        idx = bootstrap_indices(n, n_bootstrap, rng, complete)
        draws = decompose(_corr(complete[idx]))
        a = (1 - confidence) / 2
        lo, hi = np.quantile(draws, [a, 1 - a], axis=0)
        out["ci_low"] = out["driver"].map(dict(zip(used, lo, strict=True)))
        out["ci_high"] = out["driver"].map(dict(zip(used, hi, strict=True)))
    out["rank"] = out["importance"].rank(ascending=False, method="min").astype("Int64")
    out["performance"] = np.nan
    if scale is not None:
        lo_s, hi_s = scale
        out["performance"] = 100 * (num[list(drivers)].mean().to_numpy() - lo_s) / (hi_s - lo_s)
    ranked = out["importance"].notna()
    high_imp = out["importance"] >= out.loc[ranked, "importance"].mean()
    high_perf = out["performance"] >= out.loc[ranked, "performance"].mean()
    out["quadrant"] = [QUADRANTS[(bool(i), bool(p))] if r and scale is not None else None
                       for i, p, r in zip(high_imp, high_perf, ranked, strict=True)]
    out["too_few_answers"] = ~ranked
    out = out.sort_values(["rank", "driver"], na_position="last").reset_index(drop=True)
    out.attrs.update(r2=r2, n=n, method=method)
    return out


def ipma(fit, target: str = "Satisfaction") -> pd.DataFrame:
    """Importance-performance map of a fitted `PLSPathModel` for one target construct.

    Importance is the unstandardised total effect on ``target``: the change in the target's
    0-100 index per point of the predecessor's 0-100 index. A construct's index is linear in
    its standardised score, ``index_j = a_j Y_j + c_j`` with
    ``a_j = 100 / ((max - min) sum_k w_k / s_k)``, so the unstandardised total effect of i on
    j is ``T_ij a_j / a_i`` (Ringle & Sarstedt 2016, "Gain more insight from your PLS-SEM
    results: the importance-performance map analysis", Industrial Management & Data Systems
    116(9)). Performance is the construct's mean 0-100 index.
    """
    if getattr(fit, "index_", None) is None:
        raise InputError("the model has no [scale], so there is no 0-100 performance")
    cons = fit.model_.constructs
    if target not in cons:
        raise InputError(f"no construct '{target}'; constructs are {cons}")
    lo, hi = fit.model_.scale
    raw = fit.weights_ / fit.scales_
    block_of = {item: c for c, items in fit.model_.blocks.items() for item in items}
    a = 100 / ((hi - lo) * raw.groupby(raw.index.map(block_of)).sum())
    te = fit.total_effects_[target]
    rows = [(c, float(te[c]), float(te[c] * a[target] / a[c]), float(fit.index_[c]))
            for c in cons if te[c] != 0]
    out = pd.DataFrame(rows, columns=["construct", "total_effect", "importance", "performance"])
    return out.sort_values("importance", ascending=False).reset_index(drop=True)


def workspace_drivers(ws, survey: str | None = None, outcome: str | None = None,
                      drivers: list[str] | None = None, **options) -> pd.DataFrame:
    """Key drivers of an outcome item on a workspace survey (`cvm.survey.key_drivers`).

    ``outcome`` defaults to the 0-10 NPS item, ``drivers`` to every other item of the
    survey. Each driver is rescaled from its own scale in survey_items to 0-1, so the
    performance column is the mean rating on 0-100 even when the items' scales differ (the
    shares of R² do not depend on it; a reverse-worded item such as "would switch" keeps its
    direction, so its high performance is bad news). ``options`` go to `key_drivers` (method,
    min_answers, n_bootstrap, random_state).
    """
    definition = survey_definition(ws, survey)
    name = definition.attrs["survey"]
    outcome = nps_item(definition) if outcome is None else outcome
    codes = list(definition["item"])
    drivers = [c for c in codes if c != outcome] if not drivers else list(drivers)
    unknown = [c for c in (outcome, *drivers) if c not in codes]
    if unknown:
        raise InputError(f"item(s) {unknown} are not in survey '{name}'; its items are {codes}")
    data = to_unit_scale(wide_answers(ws, name, [outcome, *drivers]), definition, drivers)
    out = key_drivers(data, outcome, drivers, scale=(0, 1), **options)
    out.attrs.update(survey=name, outcome=outcome)
    return out
