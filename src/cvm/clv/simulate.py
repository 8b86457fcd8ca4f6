"""Simulated repeat-purchase summaries from known parameters (tests, benchmarks, demos).

Each customer is born at a uniform time in the first ``birth_weeks`` and observed until
``birth_weeks + calibration_weeks``; event times are rounded to whole days (1/7 week) like real
transaction data, so the summaries compress as real ones do.
"""

from __future__ import annotations

import numpy as np

__all__ = ["simulate_bgnbd", "simulate_paretonbd"]


def _ages(n, rng, calibration_weeks, birth_weeks):
    return np.round((calibration_weeks + birth_weeks * rng.random(n)) * 7) / 7


def _summary(x, t_x, T):
    t_x = np.minimum(np.round(t_x * 7) / 7, T)
    return x, np.where(x > 0, np.maximum(t_x, 1 / 7), 0.0), T


def _purchases(lam, end, rng, p=None):
    """Poisson purchases at rate lam until ``end``; after each, drop out with probability p."""
    n = len(lam)
    x, t_x, now = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:
        now[active] += rng.exponential(1 / lam[active])
        active = active[now[active] <= end[active]]
        x[active] += 1
        t_x[active] = now[active]
        if p is not None:
            active = active[rng.random(active.size) >= p[active]]
    return x, t_x


def simulate_bgnbd(n: int, r: float, alpha, a, b, rng: np.random.Generator,
                   calibration_weeks: float = 39.0, birth_weeks: float = 12.0):
    """x, t_x, T of n BG/NBD customers; alpha, a, b may be per-customer arrays."""
    T = _ages(n, rng, calibration_weeks, birth_weeks)
    lam = rng.gamma(r, 1.0, n) / alpha
    p = rng.beta(a, b, n)
    x, t_x = _purchases(lam, T, rng, p)
    return _summary(x, t_x, T)


def simulate_paretonbd(n: int, r: float, alpha, s: float, beta, rng: np.random.Generator,
                       calibration_weeks: float = 39.0, birth_weeks: float = 12.0):
    """x, t_x, T of n Pareto/NBD customers; alpha and beta may be per-customer arrays."""
    T = _ages(n, rng, calibration_weeks, birth_weeks)
    lam = rng.gamma(r, 1.0, n) / alpha
    mu = rng.gamma(s, 1.0, n) / beta
    end = np.minimum(rng.exponential(1 / mu), T)
    x, t_x = _purchases(lam, end, rng)
    return _summary(x, t_x, T)
