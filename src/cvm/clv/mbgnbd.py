r"""MBG/NBD: the BG/NBD with a chance of dropping out right after the first purchase too.

As BG/NBD (Poisson purchasing at rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)`), but the
customer may become inactive with probability :math:`p \sim \mathrm{Beta}(a, b)` at time 0 as
well as after each repeat purchase, so customers without repeat purchases can be inactive:

.. math::

    L = \frac{B(a, b+x+1)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
      + \frac{B(a+1, b+x)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}

For a customer with :math:`x \ge 1` this is :math:`\frac{b}{a+b}` times the BG/NBD likelihood
with :math:`b+1` in place of :math:`b`, and P(alive) and the conditional expectations equal
BG/NBD's at :math:`(r, \alpha, a, b+1)`; the tests check this.

References
----------
Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and comparison of
models for customer base analysis. International Journal of Research in Marketing 24(3), 201-209.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1

from cvm.clv._base import RepeatPurchaseModel, as_float, check_rfm
from cvm.clv.bgnbd import _nb_pmf

__all__ = ["ModifiedBetaGeoModel"]


class ModifiedBetaGeoModel(RepeatPurchaseModel):
    """MBG/NBD purchase model, parameters ``r, alpha, a, b`` (Batislam et al. 2007)."""

    _param_names = ("r", "alpha", "a", "b")

    def _loglik(self, theta, data, grad):
        r, alpha, a, b = theta
        x, t_x, T = data
        xs, inv = self._levels(x)  # count-only terms once per distinct x
        lb0 = betaln(a, b)
        l1 = (betaln(a, b + xs + 1) - lb0)[inv] - (r + x) * np.log(alpha + T)
        l2 = (betaln(a + 1, b + xs) - lb0)[inv] - (r + x) * np.log(alpha + t_x)
        mix = np.logaddexp(l1, l2)
        ll = (gammaln(r + xs) - gammaln(r))[inv] + r * np.log(alpha) + mix
        if not grad:
            return ll, None
        w1 = np.exp(l1 - mix)
        w2 = 1.0 - w1
        dab = digamma(a + b)
        dabx = digamma(a + b + xs + 1)
        db = digamma(b)
        g = np.empty((len(x), 4))
        g[:, 0] = ((digamma(r + xs) - digamma(r))[inv] + np.log(alpha)
                   - w1 * np.log(alpha + T) - w2 * np.log(alpha + t_x))
        g[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
        g[:, 2] = w1 * (dab - dabx)[inv] + w2 * (digamma(a + 1) - dabx - digamma(a) + dab)[inv]
        g[:, 3] = (w1 * (digamma(b + xs + 1) - dabx - db + dab)[inv]
                   + w2 * (digamma(b + xs) - dabx - db + dab)[inv])
        return ll, g

    def _log_odds_term(self, x, t_x, T):
        r, alpha, a, b = self._theta
        z = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.logaddexp(0.0, z)

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""P(active at T | x, t_x, T) :math:`= [1 + \frac{a}{b+x}
        (\frac{\alpha+T}{\alpha+t_x})^{r+x}]^{-1}`."""
        self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        return np.exp(-self._log_odds_term(x, t_x, T))

    def expected_purchases(self, t: Any) -> np.ndarray:
        r"""E[X(t)] :math:`= \frac{b}{a-1}[1 - (\frac{\alpha}{\alpha+t})^r
        {}_2F_1(r, b+1; a+b; \frac{t}{\alpha+t})]`."""
        r, alpha, a, b = self._p()
        t = as_float("t", t)
        return b / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                              * hyp2f1(r, b + 1, a + b, t / (alpha + t)))

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""E[Y(t) | x, t_x, T] :math:`= \frac{a+b+x}{a-1}[1 - (\frac{\alpha+T}{\alpha+T+t})^{r+x}
        {}_2F_1(r+x, b+x+1; a+b+x; \frac{t}{\alpha+T+t})]\,P(\text{alive})`."""
        r, alpha, a, b = self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        t = as_float("t", t)
        num = (a + b + x) / (a - 1) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * hyp2f1(r + x, b + x + 1, a + b + x, t / (alpha + T + t)))
        return num * np.exp(-self._log_odds_term(x, t_x, T))

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        r"""P(X(t) = n) :math:`= \frac{B(a,b+n+1)}{B(a,b)}\mathrm{NB}_n(t) +
        \frac{B(a+1,b+n)}{B(a,b)}[1 - \sum_{j<n}\mathrm{NB}_j(t)]`.

        (Alive through the n+1 coin flips at time 0 and after each purchase with exactly n
        purchases, or dropped at the n-th flip with at least n purchases possible by t.)
        """
        r, alpha, a, b = self._p()
        n, t = np.broadcast_arrays(as_float("n", n), as_float("t", t))
        out = np.empty(n.shape)
        for i, (ni, ti) in enumerate(zip(n, t, strict=True)):
            nb = _nb_pmf(np.arange(ni + 1), r, alpha, ti)
            out[i] = (np.exp(betaln(a, b + ni + 1) - betaln(a, b)) * nb[-1]
                      + np.exp(betaln(a + 1, b + ni) - betaln(a, b)) * (1 - nb[:-1].sum()))
        return out
