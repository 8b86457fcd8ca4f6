"""Helpers shared by the CLV model tests (gradient checks, reference data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import approx_fprime, check_grad

from conftest import shared_data


def sig3(value: float) -> str:
    """A number to three significant digits, as published tables round them."""
    return f"{value:.3g}"


def assert_gradient_matches(model, theta, data, weights=None, rtol=1e-6):
    """The analytic gradient of the weighted log-likelihood equals central finite differences.

    Checked at a point away from the optimum (where the gradient is not ~0), with
    scipy.optimize.check_grad (forward differences, step ~1.5e-8) and approx_fprime with a
    relative central-difference step for a tighter comparison.
    """
    data = [np.asarray(c, dtype=float) for c in data]
    w = np.ones(len(data[0])) if weights is None else np.asarray(weights, dtype=float)
    theta = np.asarray(theta, dtype=float)

    def f(t):
        return float(w @ model._loglik(t, data, False)[0])

    def g(t):
        return w @ model._loglik(t, data, True)[1]

    analytic = g(theta)
    assert np.all(np.isfinite(analytic))
    norm = np.linalg.norm(analytic)
    assert check_grad(f, g, theta, epsilon=1e-7 * float(np.min(theta))) / norm < 1e-4
    central = np.array([
        (f(theta + e) - f(theta - e)) / (2 * e.sum())
        for e in np.diag(1e-5 * theta)])
    np.testing.assert_allclose(analytic, central, rtol=rtol, atol=rtol * norm)
    # approx_fprime (forward differences) agrees to its own, looser accuracy
    np.testing.assert_allclose(analytic, approx_fprime(theta, f, 1e-8 * theta), rtol=1e-3,
                               atol=1e-4 * norm)


def cdnow_summary() -> pd.DataFrame:
    return pd.read_csv(shared_data() / "cdnow" / "cdnow_summary.csv")


def rfm_from_transactions(tx: pd.DataFrame, calibration_end: str) -> pd.DataFrame:
    """x, t_x, T in weeks per customer from day-level transactions (data/README.md's recipe).

    Several purchases on one day are one transaction; x = distinct purchase days - 1 up to the
    calibration end, t_x = (last - first purchase day) / 7, T = (calibration end - first) / 7.
    """
    end = pd.Timestamp(calibration_end)
    days = tx[["customer_id", "date"]].drop_duplicates()
    cal = days[days["date"] <= end]
    g = cal.groupby("customer_id")["date"]
    first, last, n = g.min(), g.max(), g.nunique()
    return pd.DataFrame({
        "frequency": n - 1,
        "recency": (last - first).dt.days / 7.0,
        "T": (end - first).dt.days / 7.0,
    })
