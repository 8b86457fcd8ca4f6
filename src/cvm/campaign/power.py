"""Before launch: how many customers an arm needs to show a given effect, or the smallest
effect a given size can show.

A rate (e.g. the share who buy) is planned with Cohen's h = 2 asin(sqrt(p1)) -
2 asin(sqrt(p0)) and the normal test of two independent samples
(`statsmodels.stats.power.NormalIndPower`); a mean (e.g. spend) with Cohen's
d = effect / sd and the two-sample t test (`TTestIndPower`). Both two-sided. With several
arms and outcomes the significance level of each test is ``alpha / (arms x outcomes)``
(Bonferroni): the threshold Holm's method applies to the smallest p-value, so the plan
holds whatever the other comparisons show. Reference values: Cohen (1988), Statistical
Power Analysis for the Behavioral Sciences, 2nd ed., Table 2.4.1 (d = 0.5, alpha 0.05,
power 0.8: 64 per group) and Table 6.4.1 (h = 0.2: 392 per group).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from cvm.errors import InputError

__all__ = ["POWER_COLUMNS", "plan", "plans"]

POWER_COLUMNS = ["kind", "baseline", "effect", "sd", "effect_size", "alpha", "tests",
                 "alpha_per_test", "power", "n_arm", "n_control", "n_total"]


def _check(name: str, value: float | None, low: float, high: float | None,
           closed: bool = False) -> None:
    if value is None:
        return
    above = value >= low if closed else value > low
    if not (np.isfinite(value) and above and (high is None or value < high)):
        rng = f"between {low} and {high}" if high is not None else f"above {low}"
        raise InputError(f"{name} must be {rng}; got {value!r}")


def _solver(sd: float | None):
    return TTestIndPower() if sd is not None else NormalIndPower()


def _solve(sd, **kw) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed root search is an error, not a warning
        try:
            return float(np.squeeze(_solver(sd).solve_power(alternative="two-sided", **kw)))
        except Warning as exc:
            raise InputError(f"no solution for this plan ({exc}); try a larger effect or "
                             "sample") from None


def plan(effect: float | None = None, n: int | None = None, baseline: float | None = None,
         sd: float | None = None, alpha: float = 0.05, power: float = 0.8,
         control_ratio: float = 1.0, arms: int = 1, outcomes: int = 1) -> dict:
    """One plan (a row of `POWER_COLUMNS`).

    Give ``effect`` (arm - control in the outcome's units: a share for a rate) to get the
    customers each arm needs (``n_arm``, rounded up), or ``n`` (customers per arm) to get
    the smallest effect it detects (an increase). A rate needs ``baseline`` (the control's
    expected rate, 0-1); a mean needs ``sd`` (the outcome's standard deviation per
    customer). ``control_ratio``: control customers per arm customer; ``arms`` arms share
    one control; ``outcomes`` outcomes are tested per arm.
    """
    if (effect is None) == (n is None):
        raise InputError("give either the effect to detect (--effect) or the customers per "
                         "arm (--n), not both")
    if sd is None and baseline is None:
        raise InputError("a rate needs --baseline (the control's expected rate, e.g. 0.10); "
                         "a mean needs --sd (the outcome's standard deviation)")
    _check("--baseline", baseline, 0, 1 if sd is None else None)
    _check("--sd", sd, 0, None)
    _check("--alpha", alpha, 0, 1)
    _check("--power", power, 0, 1)
    _check("--control-ratio", control_ratio, 0, None)
    if arms < 1 or outcomes < 1:
        raise InputError("--arms and --outcomes count at least 1")
    tests = arms * outcomes
    a = alpha / tests
    row = {"kind": "mean" if sd is not None else "rate", "baseline": baseline, "sd": sd,
           "alpha": alpha, "tests": tests, "alpha_per_test": a, "power": power}
    if effect is not None:
        if effect == 0 or not np.isfinite(effect):
            raise InputError(f"--effect must be a non-zero number; got {effect!r}")
        if sd is None:
            _check("--baseline + --effect", baseline + effect, 0, 1)
            size = abs(float(proportion_effectsize(baseline + effect, baseline)))
        else:
            size = abs(effect) / sd
        n_arm = math.ceil(_solve(sd, effect_size=size, nobs1=None, alpha=a, power=power,
                                 ratio=control_ratio) - 1e-9)
    else:
        if n < 2:
            raise InputError(f"--n counts customers per arm, at least 2; got {n}")
        n_arm = int(n)
        size = _solve(sd, effect_size=None, nobs1=n_arm, alpha=a, power=power,
                      ratio=control_ratio)
        if sd is None:
            top = 2 * math.asin(math.sqrt(baseline)) + size
            if top > math.pi:
                raise InputError(f"no rate above the baseline {baseline} is detectable with "
                                 f"{n_arm} per arm at power {power}")
            effect = math.sin(top / 2) ** 2 - baseline
        else:
            effect = size * sd
    n_control = math.ceil(n_arm * control_ratio - 1e-9)
    return {**row, "effect": float(effect), "effect_size": float(size), "n_arm": n_arm,
            "n_control": n_control, "n_total": arms * n_arm + n_control}


def plans(effects: list[float] | None = None, n: list[int] | None = None,
          **kw) -> pd.DataFrame:
    """`plan` for each effect (or each n), one row each."""
    rows = ([plan(effect=e, **kw) for e in effects] if effects
            else [plan(n=k, **kw) for k in (n or [None])])
    return pd.DataFrame(rows)[POWER_COLUMNS]
