"""Scores of a churn model's probabilities: discrimination, calibration and lift.

All functions take the true labels ``y`` (1 = churned, 0 = stayed) and the predicted
probabilities ``p`` of churn, as array-likes of equal length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from cvm.errors import InputError

__all__ = ["expected_calibration_error", "top_fraction_lift", "churn_metrics", "METRICS",
           "calibration_bins", "gains_curve"]

#: The metrics `churn_metrics` returns, in order.
METRICS = ("auc", "pr_auc", "brier", "ece", "top_decile_lift", "top_decile_capture",
           "base_rate")


def _check(y, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape:
        raise InputError(f"labels and probabilities differ in length: {y.size} and {p.size}")
    if y.size == 0:
        raise InputError("no rows to score: labels and probabilities are empty")
    if not np.isin(y, (0.0, 1.0)).all():
        raise InputError("labels must be 0 (stayed) or 1 (churned)")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise InputError("probabilities must be finite numbers in [0, 1]")
    return y, p


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    r"""Expected calibration error over equal-width probability bins.

    .. math:: \mathrm{ECE} = \sum_{b=1}^{B} \frac{n_b}{n}\,
              \Bigl|\bar y_b - \bar p_b\Bigr|

    Bin :math:`b` holds the rows with :math:`(b-1)/B \le p < b/B` (the last bin also holds
    :math:`p = 1`); :math:`\bar y_b` is the observed churn rate and :math:`\bar p_b` the mean
    predicted probability in the bin; empty bins add nothing. With ``n_bins=10`` this is the
    usual 10 equal-width bins of Naeini, Cooper & Hauskrecht (2015), "Obtaining well calibrated
    probabilities using Bayesian binning", AAAI.

    Parameters
    ----------
    y : array-like of {0, 1}
    p : array-like of float in [0, 1]
    n_bins : int, default=10
        Number of equal-width bins on [0, 1]; at least 1.
    """
    y, p = _check(y, p)
    if int(n_bins) < 1:
        raise InputError(f"n_bins must be an integer >= 1, got {n_bins}")
    idx = np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    sum_p = np.bincount(idx, weights=p, minlength=n_bins)
    # sum_b (n_b/n) |sum_y/n_b - sum_p/n_b| = sum_b |sum_y - sum_p| / n
    return float(np.abs(sum_y - sum_p).sum() / y.size)


def top_fraction_lift(y, p, fraction: float = 0.1) -> tuple[float, float]:
    r"""Lift and capture rate of the ``fraction`` of rows with the highest probabilities.

    The top group is the :math:`k = \lceil f n \rceil` highest-scored rows. Its expected number
    of churners :math:`c` counts every row scored above the cut-off score, plus, for the rows
    tied at the cut-off score, their churners pro rata to how many of them fit in the top
    :math:`k` (the expectation over random tie-breaking, so the result does not depend on row
    order). Then

    .. math:: \mathrm{lift} = \frac{c / k}{\bar y}, \qquad
              \mathrm{capture} = \frac{c}{\sum_i y_i},

    the churn rate in the top group over the overall churn rate, and the share of all churners
    the top group holds (a random ordering gives lift 1 and capture :math:`k/n`).

    Returns
    -------
    (lift, capture) : tuple of float
        Both NaN when there are no churners.
    """
    y, p = _check(y, p)
    if not 0 < fraction <= 1:
        raise InputError(f"fraction must be in (0, 1], got {fraction}")
    n = y.size
    k = int(np.ceil(fraction * n - 1e-9))
    total = y.sum()
    if total == 0:
        return float("nan"), float("nan")
    order = np.argsort(-p, kind="stable")
    cut = p[order[k - 1]]
    above = p > cut
    tied = p == cut
    c = y[above].sum() + (k - above.sum()) * y[tied].sum() / tied.sum()
    return float((c / k) / (total / n)), float(c / total)


def churn_metrics(y, p, n_bins: int = 10) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score, ECE and top-decile lift and capture.

    ``auc`` is the area under the ROC curve, ``pr_auc`` the average precision (the step-wise
    area under the precision-recall curve), ``brier`` the mean squared error of the
    probabilities, ``ece`` `expected_calibration_error` with ``n_bins`` equal-width bins,
    ``top_decile_lift`` and ``top_decile_capture`` `top_fraction_lift` at 10%, ``base_rate``
    the share of churners.
    """
    y, p = _check(y, p)
    both = 0 < y.sum() < y.size
    lift, capture = top_fraction_lift(y, p, 0.1)
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p, n_bins),
        "top_decile_lift": lift,
        "top_decile_capture": capture,
        "base_rate": float(y.mean()),
    }


def calibration_bins(y, p, n_bins: int = 10) -> pd.DataFrame:
    """The bins of `expected_calibration_error`: one row per non-empty bin with
    ``bin_low``, ``bin_high``, ``customers``, ``mean_probability`` and ``churn_rate``."""
    y, p = _check(y, p)
    if int(n_bins) < 1:
        raise InputError(f"n_bins must be an integer >= 1, got {n_bins}")
    idx = np.minimum(np.floor(p * n_bins).astype(int), n_bins - 1)
    n_b = np.bincount(idx, minlength=n_bins)
    keep = n_b > 0
    b = np.arange(n_bins)[keep]
    return pd.DataFrame({
        "bin_low": b / n_bins, "bin_high": (b + 1) / n_bins, "customers": n_b[keep],
        "mean_probability": np.bincount(idx, weights=p, minlength=n_bins)[keep] / n_b[keep],
        "churn_rate": np.bincount(idx, weights=y, minlength=n_bins)[keep] / n_b[keep]})


def gains_curve(y, p, points: int = 10) -> pd.DataFrame:
    """Cumulative gains and lift at ``points`` equal steps of the share targeted.

    Row ``i`` targets the top ``i / points`` of customers by probability (ties shared as
    in `top_fraction_lift`): ``share_targeted``, ``share_of_churners`` (capture) and
    ``lift``. A first row (0, 0, NaN) starts the curve at the origin.
    """
    y, p = _check(y, p)
    rows = [(0.0, 0.0, float("nan"))]
    for i in range(1, int(points) + 1):
        lift, capture = top_fraction_lift(y, p, i / points)
        rows.append((i / points, capture, lift))
    return pd.DataFrame(rows, columns=["share_targeted", "share_of_churners", "lift"])
