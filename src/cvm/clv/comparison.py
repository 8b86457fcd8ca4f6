"""Model comparison on the same repeat-purchase summary: fit, information criteria, hold-out.

One row per model: log-likelihood, number of parameters, AIC, BIC and, given each customer's
hold-out purchases over a hold-out period, the total expected vs actual and the mean absolute
error per customer of the conditional expectations (Fader, Hardie & Lee 2005 compare BG/NBD and
Pareto/NBD this way on CDNOW).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cvm.clv._inputs import as_float, check_rfm, compress_rows
from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.mbgnbd import ModifiedBetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.errors import ConvergenceError, InputError

__all__ = ["compare_models"]

_DEFAULT = {"bgnbd": BetaGeoModel, "paretonbd": ParetoNBDModel, "mbgnbd": ModifiedBetaGeoModel}


def compare_models(x: Any, t_x: Any, T: Any, *, holdout_x: Any = None,
                   holdout_length: float | None = None, weights: Any = None,
                   models: dict[str, Any] | None = None) -> pd.DataFrame:
    """Fit each purchase model on the same data and tabulate fit and hold-out accuracy.

    Parameters
    ----------
    x, t_x, T : array-like
        Calibration repeat-purchase summary.
    holdout_x : array-like, optional
        Each customer's purchases in the hold-out period (needs ``holdout_length``).
    weights : array-like, optional
        Customers per row (then ``holdout_x`` is the mean per customer of the row).
    models : dict, optional
        Name -> unfitted estimator; default BG/NBD, Pareto/NBD and MBG/NBD.

    Returns
    -------
    pandas.DataFrame
        ``model, parameters, log_likelihood, aic, bic`` and, with a hold-out,
        ``holdout_expected, holdout_actual, holdout_mae``; a model that does not converge has
        its error text in ``note``.
    """
    x_, t_, T_ = check_rfm(x, t_x, T)
    w = np.ones(len(x_)) if weights is None else as_float("weights", weights, len(x_))
    if (holdout_x is None) != (holdout_length is None):
        raise InputError("compare_models: give both holdout_x and holdout_length, or neither")
    actual = None if holdout_x is None else as_float("holdout_x", holdout_x, len(x_))
    models = models or {name: cls() for name, cls in _DEFAULT.items()}
    (xu, tu, Tu), _, inv = compress_rows([x_, t_, T_])
    rows = []
    for name, model in models.items():
        row: dict[str, Any] = {"model": name}
        try:
            model.fit(x_, t_, T_, weights=w)
        except ConvergenceError as exc:
            row["note"] = str(exc).splitlines()[0]
            rows.append(row)
            continue
        row.update(parameters=len(model.params_), log_likelihood=model.log_likelihood_,
                   aic=model.aic_, bic=model.bic_)
        if actual is not None:
            expected = model.conditional_expected_purchases(holdout_length, xu, tu, Tu)[inv]
            row.update(holdout_expected=float(w @ expected), holdout_actual=float(w @ actual),
                       holdout_mae=float(w @ np.abs(expected - actual) / w.sum()))
        rows.append(row)
    return pd.DataFrame(rows)
