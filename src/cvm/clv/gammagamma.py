r"""Gamma-Gamma model of spend per transaction.

A customer's transaction values are :math:`z_j \sim \mathrm{Gamma}(p, \nu)` (mean
:math:`p/\nu`), and :math:`\nu \sim \mathrm{Gamma}(q, \gamma)` across customers, independent of
the purchase process. The mean :math:`\bar z` of a customer's ``x`` transactions has density

.. math::

    f(\bar z \mid p, q, \gamma, x) = \frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}
        \frac{\gamma^q\, \bar z^{px-1}\, x^{px}}{(\gamma + x\bar z)^{px+q}},

and the expected spend per transaction given the history is the weighted mean

.. math::

    E[Z \mid \bar z, x] = \frac{q-1}{px+q-1}\frac{p\gamma}{q-1} + \frac{px}{px+q-1}\bar z .

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis. Journal of Marketing Research 42(4), 415-430.
Colombo, R. and Jiang, W. (1999). A stochastic RFM model. Journal of Interactive Marketing 13(3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln

from cvm.clv._base import MaximumLikelihoodModel
from cvm.clv._inputs import _name_some, as_float, check_weights, customer_labels
from cvm.errors import InputError

__all__ = ["GammaGammaModel"]


def _check_spend(x: Any, mean_spend: Any, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x_ = as_float("frequency (x)", x)
    m_ = as_float("mean spend", mean_spend, len(x_))
    rules = [
        (~np.isfinite(x_) | (x_ < 1) | (x_ != np.round(x_)),
         "a frequency that is not a whole number >= 1; the spend model is fitted on "
         "repeat buyers only (drop customers with x = 0)"),
        (~np.isfinite(m_) | (m_ <= 0), "a missing, zero or negative mean spend"),
    ]
    problems = [f"{_name_some(labels, mask)} {text}" for mask, text in rules if mask.any()]
    if problems:
        raise InputError("invalid spend summary: " + "; ".join(problems) + ".")
    return x_, m_


class GammaGammaModel(MaximumLikelihoodModel):
    """Gamma-Gamma spend model, parameters ``p, q, gamma`` (Fader, Hardie & Lee 2005)."""

    _param_names = ("p", "q", "gamma")

    def fit(self, x: Any, mean_spend: Any, weights: Any = None, initial_params: Any = None):
        """Fit on repeat buyers.

        Parameters
        ----------
        x : array-like of int
            Number of transactions the mean is over (repeat transactions, >= 1).
        mean_spend : array-like of float
            Mean value of those transactions (> 0).
        weights : array-like, optional
            Number of customers each row stands for.

        Returns
        -------
        self
        """
        labels = customer_labels(x)
        x_, m_ = _check_spend(x, mean_spend, labels)
        w = check_weights(weights, len(x_), labels)
        return self._fit([x_, m_], w, initial_params)

    def _loglik(self, theta, data, grad):
        p, q, g = theta
        x, m = data
        px = p * x
        lgxm = np.log(g + x * m)
        ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
              + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * lgxm)
        if not grad:
            return ll, None
        dpq = digamma(px + q)
        jac = np.column_stack([
            x * (dpq - digamma(px) + np.log(m) + np.log(x) - lgxm),
            dpq - digamma(q) + np.log(g) - lgxm,
            q / g - (px + q) / (g + x * m)])
        return ll, jac

    def _start_points(self, data, weights):
        x, m = data
        mean = float(weights @ m) / float(weights.sum())
        return [np.array(v) for v in ((1.0, 2.0, mean), (5.0, 3.0, 2 * mean), (2.0, 5.0, mean))]

    def individual_log_likelihood(self, x: Any, mean_spend: Any) -> np.ndarray:
        """Log-density of each customer's mean spend under the fitted parameters."""
        x_, m_ = _check_spend(x, mean_spend, customer_labels(x))
        return self._loglik(self._p(), [x_, m_], False)[0]

    def expected_spend(self) -> float:
        """Population mean spend per transaction, p gamma / (q - 1) (infinite if q <= 1)."""
        p, q, g = self._p()
        return p * g / (q - 1) if q > 1 else np.inf

    def conditional_expected_spend(self, x: Any, mean_spend: Any) -> np.ndarray:
        r"""E[Z | zbar, x] :math:`= \frac{p(\gamma + x\bar z)}{px + q - 1}`.

        Customers with ``x = 0`` get the population mean :math:`p\gamma/(q-1)`.
        """
        p, q, g = self._p()
        x_ = as_float("frequency (x)", x)
        m_ = as_float("mean spend", mean_spend, len(x_))
        if np.any(x_ < 0) or np.any(~np.isfinite(m_)):
            raise InputError("conditional_expected_spend: expected x >= 0 and a finite mean "
                             "spend for every customer")
        m_ = np.where(x_ > 0, m_, 0.0)
        return p * (g + x_ * m_) / (p * x_ + q - 1)
