r"""Shifted-beta-geometric (sBG) model of contract renewals.

Each customer of a cohort renews at the end of every period with probability :math:`1-\theta`
(churns with :math:`\theta`), :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` across customers.
Then

.. math::

    P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha, \beta)}, \qquad
    S(t) = \frac{B(\alpha, \beta+t)}{B(\alpha, \beta)}, \qquad
    r_t = \frac{S(t)}{S(t-1)} = \frac{\beta+t-1}{\alpha+\beta+t-1}.

Fitted on a cohort survival table (customers active at the start of periods 0..n): those lost in
period t contribute :math:`\ln P(T=t)`, those still active after n contribute :math:`\ln S(n)`.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer Retention. Journal of
Interactive Marketing 21(1), 76-90.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from cvm.clv._base import MaximumLikelihoodModel, as_float
from cvm.errors import InputError

__all__ = ["ShiftedBetaGeoModel"]


class ShiftedBetaGeoModel(MaximumLikelihoodModel):
    """sBG contractual retention model, parameters ``alpha, beta`` (Fader & Hardie 2007).

    Examples
    --------
    >>> m = ShiftedBetaGeoModel().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(float(m.params_["alpha"]), 3), round(float(m.params_["beta"]), 3)
    (0.704, 1.182)
    """

    _param_names = ("alpha", "beta")

    def fit(self, survivors: Any, initial_params: Any = None):
        """Fit on a cohort's survival table.

        Parameters
        ----------
        survivors : array-like of int
            Customers still active at the start of periods 0, 1, ..., n (non-increasing,
            at least two periods).

        Returns
        -------
        self
        """
        s = as_float("survivors", survivors)
        if len(s) < 2:
            raise InputError("survivors: expected counts for at least periods 0 and 1, got "
                             f"{len(s)} value(s)")
        bad = [i for i, v in enumerate(s) if not np.isfinite(v) or v < 0 or v != round(v)]
        if bad:
            raise InputError(f"survivors: period(s) {bad} have a missing, negative or "
                             "non-integer count; expected whole numbers of customers")
        rising = [i for i in range(1, len(s)) if s[i] > s[i - 1]]
        if rising:
            raise InputError(f"survivors: period(s) {rising} have more customers than the period "
                             "before; a cohort's survivor counts cannot increase")
        if s[0] <= 0:
            raise InputError("survivors: period 0 has no customers")
        n = len(s) - 1
        t = np.concatenate([np.arange(1, n + 1), [n]]).astype(float)
        lost = np.concatenate([np.ones(n), [0.0]])
        w = np.concatenate([s[:-1] - s[1:], [s[-1]]])
        self.n_periods_ = n
        return self._fit([t, lost], w, initial_params)

    def _loglik(self, theta, data, grad):
        a, b = theta
        t, lost = data
        churn = lost > 0
        ll = np.where(churn, betaln(a + 1, b + t - 1), betaln(a, b + t)) - betaln(a, b)
        if not grad:
            return ll, None
        dab = digamma(a + b)
        dabt = digamma(a + b + t)
        ga = np.where(churn, digamma(a + 1) - digamma(a), 0.0) - dabt + dab
        gb = np.where(churn, digamma(b + t - 1), digamma(b + t)) - digamma(b) - dabt + dab
        return ll, np.column_stack([ga, gb])

    def _start_points(self, data, weights):
        return [np.array(v) for v in ((1.0, 1.0), (0.5, 2.0), (2.0, 5.0))]

    # -- predictions -------------------------------------------------------------------------
    def survival_function(self, t: Any) -> np.ndarray:
        r"""S(t): share of the cohort still active at the start of period t."""
        a, b = self._p()
        t = as_float("t", t)
        return np.exp(betaln(a, b + t) - betaln(a, b))

    def churn_probability(self, t: Any) -> np.ndarray:
        r"""P(T = t): share of the cohort lost in period t (t >= 1)."""
        a, b = self._p()
        t = as_float("t", t)
        return np.exp(betaln(a + 1, b + t - 1) - betaln(a, b))

    def retention_rate(self, t: Any) -> np.ndarray:
        r"""r_t = (beta + t - 1) / (alpha + beta + t - 1): share of those active at t-1 who renew.

        It is also an individual customer's probability of renewing at the end of period t given
        that they have renewed t-1 times (the posterior of :math:`\theta` sharpens with tenure).
        """
        a, b = self._p()
        t = as_float("t", t)
        return (b + t - 1) / (a + b + t - 1)

    def discounted_expected_residual_lifetime(self, t: Any, discount_rate: float) -> np.ndarray:
        r"""Discounted expected residual lifetime of a customer active in period t.

        The expected number of further renewals, each discounted by a whole period per period
        ahead, :math:`\sum_{k\ge 1} S(t+k)/S(t)\,(1+d)^{-k}`,
        computed as :math:`\frac{\beta+t}{\alpha+\beta+t}\,{}_2F_1(1, \beta+t+1;
        \alpha+\beta+t+1; \frac{1}{1+d})/(1+d)`.
        """
        a, b = self._p()
        t = as_float("t", t)
        if not 0 < discount_rate < 1:
            raise InputError(f"discount_rate: expected a rate in (0, 1), got {discount_rate}")
        z = 1 / (1 + discount_rate)
        return (b + t) / (a + b + t) * hyp2f1(1, b + t + 1, a + b + t + 1, z) * z
