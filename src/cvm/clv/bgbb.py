r"""BG/BB: beta-geometric/beta-Bernoulli model of discrete-opportunity repeat transactions.

At each of ``n`` discrete opportunities (e.g. annual fund-raising appeals) an active customer
transacts with probability :math:`p` and, at the start of each later period, becomes inactive
with probability :math:`\theta`. Across customers :math:`p \sim \mathrm{Beta}(\alpha, \beta)`
and :math:`\theta \sim \mathrm{Beta}(\gamma, \delta)`. With ``x`` transactions, the last at
opportunity ``t_x``, out of ``n``:

.. math::

    L = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}\frac{B(\gamma,\delta+n)}{B(\gamma,\delta)}
      + \sum_{i=0}^{n-t_x-1}\frac{B(\alpha+x,\beta+t_x-x+i)}{B(\alpha,\beta)}
        \frac{B(\gamma+1,\delta+t_x+i)}{B(\gamma,\delta)}

References
----------
Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base Analysis in a
Discrete-Time Noncontractual Setting. Marketing Science 29(6), 1086-1108.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln, logsumexp

from cvm.clv._base import RepeatPurchaseModel, as_float, check_rfm

__all__ = ["BetaGeoBetaBinomModel"]


def _dlbeta(p, q):
    """Derivatives of ln B(p, q) in p and in q."""
    dpq = digamma(p + q)
    return digamma(p) - dpq, digamma(q) - dpq


class BetaGeoBetaBinomModel(RepeatPurchaseModel):
    """BG/BB model, parameters ``alpha, beta, gamma, delta`` (Fader, Hardie & Shang 2010).

    ``fit(x, t_x, n, weights)``: transactions, the opportunity of the last one (0 if none) and the
    number of opportunities, all whole numbers.
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _discrete = True

    def _terms(self, theta, x, t_x, n):
        """Exponents (k = 1 + max(n - t_x) terms per row) of the likelihood's sum, and their
        Beta-function arguments (p1, q1, p2, q2)."""
        al, be, ga, de = theta
        kmax = int(np.max(n - t_x))
        i = np.arange(kmax)[None, :]
        valid = i <= (n - t_x - 1)[:, None]
        q1 = np.concatenate([(be + n - x)[:, None], be + (t_x - x)[:, None] + i], axis=1)
        q2 = np.concatenate([(de + n)[:, None], de + t_x[:, None] + i], axis=1)
        p2 = np.concatenate([np.full((len(x), 1), ga), np.full((len(x), kmax), ga + 1)], axis=1)
        p1 = (al + x)[:, None] * np.ones_like(q1)
        ok = np.concatenate([np.ones((len(x), 1), bool), valid], axis=1)
        q1s, q2s = np.where(ok, q1, 1.0), np.where(ok, q2, 1.0)
        lt = np.where(ok, betaln(p1, q1s) - betaln(al, be) + betaln(p2, q2s) - betaln(ga, de),
                      -np.inf)
        return lt, (p1, q1s, p2, q2s), ok

    def _loglik(self, theta, data, grad):
        al, be, ga, de = theta
        x, t_x, n = data
        lt, (p1, q1, p2, q2), ok = self._terms(theta, x, t_x, n)
        ll = logsumexp(lt, axis=1)
        if not grad:
            return ll, None
        w = np.where(ok, np.exp(lt - ll[:, None]), 0.0)
        d1p, d1q = _dlbeta(p1, q1)
        d2p, d2q = _dlbeta(p2, q2)
        d0a, d0b = _dlbeta(al, be)
        d0g, d0d = _dlbeta(ga, de)
        g = np.column_stack([
            (w * d1p).sum(1) - d0a, (w * d1q).sum(1) - d0b,
            (w * d2p).sum(1) - d0g, (w * d2q).sum(1) - d0d])
        return ll, g

    def _start_points(self, data, weights):
        return [np.array(v) for v in ((1.0, 1.0, 1.0, 1.0), (0.5, 0.5, 0.5, 2.0),
                                      (2.0, 1.0, 1.0, 3.0))]

    # -- predictions -------------------------------------------------------------------------
    def probability_alive(self, x: Any, t_x: Any, n: Any, future: int = 1) -> np.ndarray:
        r"""P(alive at opportunity n + future | x, t_x, n).

        .. math:: \frac{B(\alpha+x,\beta+n-x)}{B(\alpha,\beta)}
                  \frac{B(\gamma,\delta+n+m)}{B(\gamma,\delta)} \Big/ L, \quad m = \text{future}
        """
        al, be, ga, de = self._p()
        x, t_x, n = check_rfm(x, t_x, n, discrete=True)
        ll, _ = self._loglik(self._theta, [x, t_x, n], False)
        return np.exp(betaln(al + x, be + n - x) - betaln(al, be)
                      + betaln(ga, de + n + future) - betaln(ga, de) - ll)

    def expected_purchases(self, n: Any) -> np.ndarray:
        r"""Expected transactions in the first n opportunities of a new customer.

        .. math:: E[X(n)] = \frac{\alpha}{\alpha+\beta}\frac{\delta}{\gamma-1}\left[1 -
            \frac{\Gamma(\gamma+\delta)\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)\Gamma(1+\delta)}
            \right]
        """
        al, be, ga, de = self._p()
        n = as_float("n", n)
        ratio = np.exp(gammaln(ga + de) + gammaln(1 + de + n) - gammaln(ga + de + n)
                       - gammaln(1 + de))
        return al / (al + be) * de / (ga - 1) * (1 - ratio)

    def conditional_expected_purchases(self, m: Any, x: Any, t_x: Any, n: Any) -> np.ndarray:
        r"""Expected transactions in opportunities n+1 .. n+m given the history.

        .. math:: \frac{1}{L}\frac{B(\alpha+x+1,\beta+n-x)}{B(\alpha,\beta)}
            \frac{\delta}{\gamma-1}\frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}\left[
            \frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)} -
            \frac{\Gamma(1+\delta+n+m)}{\Gamma(\gamma+\delta+n+m)}\right]
        """
        al, be, ga, de = self._p()
        x, t_x, n = check_rfm(x, t_x, n, discrete=True)
        m = as_float("m", m)
        ll, _ = self._loglik(self._theta, [x, t_x, n], False)
        a = np.exp(gammaln(1 + de + n) - gammaln(ga + de + n))
        b = np.exp(gammaln(1 + de + n + m) - gammaln(ga + de + n + m))
        return (np.exp(betaln(al + x + 1, be + n - x) - betaln(al, be) - ll
                       + gammaln(ga + de) - gammaln(1 + de)) * de / (ga - 1) * (a - b))

    def probability_of_purchases(self, x: Any, n: Any) -> np.ndarray:
        r"""P(X(n) = x) for a new customer.

        .. math:: \binom{n}{x}\frac{B(\alpha+x,\beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma,\delta+n)}{B(\gamma,\delta)} + \sum_{i=x}^{n-1}\binom{i}{x}
            \frac{B(\alpha+x,\beta+i-x)}{B(\alpha,\beta)}\frac{B(\gamma+1,\delta+i)}{B(\gamma,\delta)}
        """
        al, be, ga, de = self._p()
        x, n = np.broadcast_arrays(as_float("x", x), as_float("n", n))
        out = np.empty(x.shape)

        def lchoose(a, k):
            return gammaln(a + 1) - gammaln(k + 1) - gammaln(a - k + 1)

        for j, (xj, nj) in enumerate(zip(x, n, strict=True)):
            if xj > nj:
                out[j] = 0.0
                continue
            p = np.exp(lchoose(nj, xj) + betaln(al + xj, be + nj - xj) - betaln(al, be)
                       + betaln(ga, de + nj) - betaln(ga, de))
            i = np.arange(xj, nj)
            p += np.exp(lchoose(i, xj) + betaln(al + xj, be + i - xj) - betaln(al, be)
                        + betaln(ga + 1, de + i) - betaln(ga, de)).sum()
            out[j] = p
        return out
