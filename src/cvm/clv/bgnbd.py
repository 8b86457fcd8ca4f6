r"""BG/NBD: the beta-geometric/negative binomial distribution model of repeat purchasing.

While active, a customer buys as a Poisson process with rate :math:`\lambda`; after each
purchase they become inactive with probability :math:`p`. Across customers
:math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` and :math:`p \sim \mathrm{Beta}(a, b)`. For a
customer with ``x`` repeat purchases, the last at ``t_x``, observed for ``T``,

.. math::

    L = \frac{B(a, b+x)}{B(a, b)} \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
      + \delta_{x>0} \frac{B(a+1, b+x-1)}{B(a, b)}
        \frac{\Gamma(r+x)\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275-284.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betainc, betaln, digamma, gammaln, hyp2f1, polygamma

from cvm.clv._base import RepeatPurchaseModel, as_float, check_rfm

__all__ = ["BetaGeoModel"]


class BetaGeoModel(RepeatPurchaseModel):
    """BG/NBD purchase model, parameters ``r, alpha, a, b`` (Fader, Hardie & Lee 2005).

    Examples
    --------
    >>> import pandas as pd                                     # doctest: +SKIP
    >>> cdnow = pd.read_csv("cdnow_summary.csv")                # doctest: +SKIP
    >>> m = BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow["T"])  # doctest: +SKIP
    >>> m.params_.round(3).to_dict()                            # doctest: +SKIP
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> BetaGeoModel().probability_alive([1], [5.0], [10.0])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cvm.errors.NotFittedError: This BetaGeoModel instance is not fitted yet; call fit(...) ...
    """

    _param_names = ("r", "alpha", "a", "b")

    def _loglik(self, theta, data, grad):
        r, alpha, a, b = theta
        x, t_x, T = data
        if np.ndim(a) == 0:
            xs, inv = self._levels(x)  # count-only terms once per distinct x
        else:  # per-customer parameters (covariate models)
            xs, inv = x, slice(None)
        rep = x > 0
        xm = np.where(xs > 0, xs, 1.0)
        lb0 = betaln(a, b)
        log_aT, log_at = np.log(alpha + T), np.log(alpha + t_x)
        l1 = (betaln(a, b + xs) - lb0)[inv] - (r + x) * log_aT
        l2 = np.where(rep, (betaln(a + 1, b + xm - 1) - lb0)[inv] - (r + x) * log_at, -np.inf)
        common = (gammaln(r + xs) - gammaln(r))[inv] + r * np.log(alpha)
        mix = np.logaddexp(l1, l2)
        ll = common + mix
        if not grad:
            return ll, None
        w1 = np.exp(l1 - mix)
        w2 = np.exp(l2 - mix)
        if np.ndim(a) == 0:  # kept for _hessian at the same point (Newton steps follow a call)
            self._shared = (np.asarray(theta, float).tobytes(), x, log_aT, log_at, w1, w2, None)
        dab = digamma(a + b)
        dabx = digamma(a + b + xs)
        db = digamma(b)
        g = np.empty((len(x), 4))
        g[:, 0] = ((digamma(r + xs) - digamma(r))[inv] + np.log(alpha)
                   - w1 * log_aT - w2 * log_at)
        g[:, 1] = r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x))
        g[:, 2] = (w1 * (dab - dabx)[inv]
                   + w2 * (digamma(a + 1) - dabx - digamma(a) + dab)[inv])
        g[:, 3] = (w1 * (digamma(b + xs) - dabx - db + dab)[inv]
                   + w2 * (digamma(b + xm - 1) - dabx - db + dab)[inv])
        return ll, g

    def _level_weights(self, x, w):
        """Customers per distinct x (sum of weights), cached for the arrays x and w."""
        xs, inv = self._levels(x)
        cached = getattr(self, "_level_weights_cache", None)
        if cached is None or cached[0] is not x or cached[1] is not w:
            cached = (x, w, np.bincount(inv, weights=w, minlength=len(xs)), float(w.sum()))
            self._level_weights_cache = cached
        return xs, inv, cached[2], cached[3]

    def _loglik_sum(self, theta, data, w):
        """``sum_i w_i l_i`` and its gradient, without the per-row gradient matrix.

        The same terms as `_loglik`; the sums of terms that depend on x alone are taken per
        distinct x with the summed weights (`numpy.bincount`), so each evaluation is a few
        passes over the rows. Keeps the mixing weights for `_hessian` at the same point.
        """
        r, alpha, a, b = theta
        x, t_x, T = data
        xs, inv, nw, total = self._level_weights(x, w)
        xm = np.where(xs > 0, xs, 1.0)
        lb0 = betaln(a, b)
        rx = r + x
        log_aT, log_at = np.log(alpha + T), np.log(alpha + t_x)
        b2 = np.where(xs > 0, betaln(a + 1, b + xm - 1) - lb0, -np.inf)
        l1 = (betaln(a, b + xs) - lb0)[inv] - rx * log_aT
        l2 = b2[inv] - rx * log_at  # -inf for x = 0: that term is absent
        mix = np.logaddexp(l1, l2)
        w1, w2 = np.exp(l1 - mix), np.exp(l2 - mix)
        ll = float(nw @ (gammaln(r + xs) - gammaln(r)) + total * r * np.log(alpha) + w @ mix)
        ww1, ww2 = w * w1, w * w2
        n1 = np.bincount(inv, weights=ww1, minlength=len(xs))
        n2 = np.bincount(inv, weights=ww2, minlength=len(xs))
        inv_aT, inv_at = 1 / (alpha + T), 1 / (alpha + t_x)
        # what `_hessian` needs at this point, so that a Newton step costs one pass over the rows
        self._shared = (np.asarray(theta, float).tobytes(), x, log_aT, log_at, w1, w2,
                        (w, ww1, ww2, n1, n2, rx, inv_aT, inv_at))
        dab, dabx, db = digamma(a + b), digamma(a + b + xs), digamma(b)
        g = np.array([
            nw @ (digamma(r + xs) - digamma(r)) + total * np.log(alpha) - ww1 @ log_aT
            - ww2 @ log_at,
            total * r / alpha - (ww1 * rx) @ inv_aT - (ww2 * rx) @ inv_at,
            n1 @ (dab - dabx) + n2 @ (digamma(a + 1) - dabx - digamma(a) + dab),
            n1 @ (digamma(b + xs) - dabx - db + dab) + n2 @ (digamma(b + xm - 1) - dabx - db
                                                            + dab),
        ])
        return ll, g

    def _hessian(self, theta, data, w):
        r"""Hessian of :math:`\sum_i w_i \ell_i` in ``(r, alpha, a, b)``, analytic.

        With :math:`\ell = C + \log(e^{l_1} + e^{l_2})` (the two terms of :math:`L` above, the
        common factor :math:`C` taken out) and :math:`w_j = e^{l_j - \ell + C}`,
        :math:`\nabla^2\ell = \nabla^2 C + \sum_j w_j \nabla^2 l_j
        + w_1 w_2 (\nabla l_1 - \nabla l_2)(\nabla l_1 - \nabla l_2)^T`; each
        :math:`\nabla^2 l_j` splits into an ``(r, alpha)`` block and an ``(a, b)`` block of
        trigammas, summed once per distinct ``x``.
        """
        r, alpha, a, b = theta
        x, t_x, T = data
        xs, inv, nw, total = self._level_weights(x, w)
        xm = np.where(xs > 0, xs, 1.0)
        shared = getattr(self, "_shared", None)
        if shared is None or shared[1] is not x or shared[0] != np.asarray(theta, float).tobytes():
            self._loglik_sum(theta, data, w)
        _, _, log_aT, log_at, w1, w2, sums = self._shared
        if sums is not None and sums[0] is w:  # computed by _loglik_sum at this point
            _, ww1, ww2, n1, n2, rx, inv_aT, inv_at = sums
        else:
            ww1, ww2 = w * w1, w * w2
            n1 = np.bincount(inv, weights=ww1, minlength=len(xs))
            n2 = np.bincount(inv, weights=ww2, minlength=len(xs))
            rx = r + x
            inv_aT, inv_at = 1 / (alpha + T), 1 / (alpha + t_x)

        def tri(v):
            return polygamma(1, v)

        dab, dabx, db = digamma(a + b), digamma(a + b + xs), digamma(b)
        tab, tabx, tb = tri(a + b), tri(a + b + xs), tri(b)
        H = np.zeros((4, 4))
        H[0, 0] = nw @ (tri(r + xs) - tri(r))
        H[0, 1] = total / alpha - ww1 @ inv_aT - ww2 @ inv_at
        H[1, 1] = -total * r / alpha**2 + (ww1 * rx) @ inv_aT**2 + (ww2 * rx) @ inv_at**2
        H[2, 2] = n1 @ (tab - tabx) + n2 @ (tri(a + 1) - tabx - tri(a) + tab)
        H[2, 3] = (n1 + n2) @ (tab - tabx)
        H[3, 3] = (n1 @ (tri(b + xs) - tabx - tb + tab)
                   + n2 @ (np.where(xs > 0, tri(b + xm - 1), 0.0) - tabx - tb + tab))
        # gradient of l1 minus gradient of l2, per row (finite where x = 0, where w2 = 0)
        d = np.empty((len(x), 4))
        d[:, 0] = log_at - log_aT
        d[:, 1] = rx * (inv_at - inv_aT)
        d[:, 2] = ((dab - dabx) - (digamma(a + 1) - dabx - digamma(a) + dab))[inv]
        d[:, 3] = ((digamma(b + xs) - db) - (digamma(b + xm - 1) - db))[inv]
        H += d.T @ ((ww1 * w2)[:, None] * d)
        H[1, 0], H[3, 2] = H[0, 1], H[2, 3]
        return (H + H.T) / 2

    # -- predictions -------------------------------------------------------------------------
    def expected_purchases(self, t: Any) -> np.ndarray:
        r"""Expected purchases in :math:`(0, t]` of a new customer (paper's eq. 7).

        .. math:: E[X(t)] = \frac{a+b-1}{a-1}\left[1 - \left(\frac{\alpha}{\alpha+t}
                  \right)^r {}_2F_1\!\left(r, b; a+b-1; \frac{t}{\alpha+t}\right)\right]
        """
        r, alpha, a, b = self._p()
        t = as_float("t", t)
        return (a + b - 1) / (a - 1) * (
            1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""P(still active at T | x, t_x, T) (paper's eq. 11 of the technical note).

        .. math:: P = \left[1 + \delta_{x>0}\frac{a}{b+x-1}
                  \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}\right]^{-1}
        """
        r, alpha, a, b = self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        return np.exp(-self._log_odds_term(x, t_x, T))

    def _log_odds_term(self, x, t_x, T):
        """log(1 + delta a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), stable in log space."""
        r, alpha, a, b = self._theta
        rep = x > 0
        xm = np.where(rep, x, 1.0)
        z = np.where(rep, np.log(a) - np.log(b + xm - 1)
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
        return np.logaddexp(0.0, z)

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""Expected purchases in :math:`(T, T+t]` given the history (paper's eq. 10).

        .. math:: E[Y(t)\mid x, t_x, T] = \frac{\frac{a+b+x-1}{a-1}\left[1 -
            \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
            {}_2F_1\!\left(r+x, b+x; a+b+x-1; \frac{t}{\alpha+T+t}\right)\right]}
            {1 + \delta_{x>0}\frac{a}{b+x-1}\left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}}
        """
        r, alpha, a, b = self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        t = as_float("t", t)
        num = (a + b + x - 1) / (a - 1) * (
            1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t)))
        return num * np.exp(-self._log_odds_term(x, t_x, T))

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        r"""P(X(t) = n) for a new customer (paper's eq. 8).

        .. math:: P(X(t)=n) = \frac{B(a,b+n)}{B(a,b)}\,\mathrm{NB}_n(t) + \delta_{n>0}
            \frac{B(a+1,b+n-1)}{B(a,b)}\left[1 - \sum_{j=0}^{n-1}\mathrm{NB}_j(t)\right]

        with :math:`1 - \sum_{j<n}\mathrm{NB}_j(t) = I_{t/(\alpha+t)}(n, r)` (regularised
        incomplete beta) and :math:`\mathrm{NB}_j(t) = \frac{\Gamma(r+j)}{\Gamma(r) j!}
        (\frac{\alpha}{\alpha+t})^r (\frac{t}{\alpha+t})^j`.
        """
        r, alpha, a, b = self._p()
        n, t = np.broadcast_arrays(as_float("n", n), as_float("t", t))
        out = np.empty(n.shape)
        for i, (ni, ti) in enumerate(zip(n, t, strict=True)):
            nb = _nb_pmf(np.arange(ni + 1), r, alpha, ti)
            p = np.exp(betaln(a, b + ni) - betaln(a, b)) * nb[-1]
            if ni > 0:
                # 1 - sum_{j<n} NB_j(t) = P(N(t) >= n) = I_{t/(alpha+t)}(n, r), the regularised
                # incomplete beta: no cancellation (the sum's complement can go below zero)
                p += np.exp(betaln(a + 1, b + ni - 1) - betaln(a, b)) * betainc(
                    ni, r, ti / (alpha + ti))
            out[i] = p
        return out


def _nb_pmf(j: np.ndarray, r: float, alpha: float, t: float) -> np.ndarray:
    """Negative binomial P(N(t) = j) of a gamma(r, alpha) mixture of Poisson counts."""
    with np.errstate(divide="ignore"):
        logp = (gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * np.log(alpha / (alpha + t))
                + j * np.log(t / (alpha + t)))
    return np.exp(logp)
