r"""Pareto/NBD: Poisson purchasing with an exponential, unobserved lifetime.

While alive a customer buys as a Poisson process with rate :math:`\lambda`; the lifetime is
exponential with rate :math:`\mu`. Across customers :math:`\lambda \sim \mathrm{Gamma}(r,\alpha)`
and :math:`\mu \sim \mathrm{Gamma}(s, \beta)`, independent. Integrating the individual likelihood
:math:`\lambda^x e^{-(\lambda+\mu)T} + \lambda^x \mu \int_{t_x}^{T} e^{-(\lambda+\mu)y}\,dy`
over both mixing distributions gives

.. math::

    L = \frac{\Gamma(r+x)\,\alpha^r \beta^s}{\Gamma(r)} \left[
        \frac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + s\,I \right], \qquad
    I = \int_{t_x}^{T} (\alpha+y)^{-(r+x)} (\beta+y)^{-(s+1)}\,dy .

In closed form :math:`s I = \frac{s}{r+s+x} A_0` with Gauss hypergeometric terms
(Fader & Hardie 2005); for :math:`\alpha \ge \beta`

.. math::

    A_0 = \frac{{}_2F_1(r+s+x, s+1; r+s+x+1; \frac{\alpha-\beta}{\alpha+t_x})}
               {(\alpha+t_x)^{r+s+x}} - (\text{same at } T),

which overflows and cancels when :math:`\beta \ll \alpha`. cvm evaluates the log-likelihood and
its analytic gradient in log space from the integral: Gauss-Legendre quadrature on
:math:`u = \ln(\min(\alpha,\beta) + y)`, where the integrand is smooth, with ``logsumexp`` over
the nodes; the derivative of :math:`\ln I` in each parameter is the integrand-weighted mean of the
derivative of the log-integrand. `closed_form_log_likelihood` gives the hypergeometric form, made
stable by Euler's transformation :math:`{}_2F_1(a,b;c;z) = (1-z)^{c-a-b}{}_2F_1(c-a,c-b;c;z)`,
whose remaining series is bounded; tests check that the two agree.

References
----------
Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting Your Customers: Who Are They
and What Will They Do Next? Management Science 33(1), 1-24.
Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and Related
Expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1, logsumexp

from cvm.clv._base import RepeatPurchaseModel, as_float, check_rfm

__all__ = ["ParetoNBDModel"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(12)
# panel edges as fractions of the distance from the integrand's peak: graded towards the peak,
# so that an integrand falling by e^45 over a side is integrated to ~1e-12 relative
_GRADES = np.array([0.0, 1 / 27, 1 / 9, 1 / 3, 1.0])
_DROP = 45.0  # the integration range is cut where the integrand is below e^-45 of its peak
_SMOOTH_NODES, _SMOOTH_WEIGHTS = np.polynomial.legendre.leggauss(16)
_SMOOTH_DROP = 8.0  # a 16-node panel integrates exp(-8 t) on [0, 1] to ~1e-16
_BISECTIONS = 32  # a 2^-32 share of the range: placement only, not accuracy


def _bisect(fn, lo: np.ndarray, hi: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Vectorised bisection for the sign change of ``fn`` (negative at lo, positive at hi)."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(_BISECTIONS):
        mid = (lo + hi) / 2
        neg = fn(mid) < 0
        lo = np.where(active & neg, mid, lo)
        hi = np.where(active & ~neg, mid, hi)
    return (lo + hi) / 2


def _quadrature_plan(log_f, slope, u0: np.ndarray, u1: np.ndarray):
    """Peak, integration range and smoothness of a concave log-integrand on [u0, u1] per row.

    The peak u* is found by bisection on the slope and the range is cut where log_f has dropped
    by `_DROP`. A row is smooth when it falls from u0 by at most `_SMOOTH_DROP` over the range:
    one Gauss-Legendre panel then integrates it to ~1e-16; others get graded panels.
    """
    s0, s1 = slope(u0), slope(u1)
    interior = (s0 > 0) & (s1 < 0)
    peak = np.where(s0 <= 0, u0, u1)
    if interior.any():
        peak = np.where(interior, _bisect(lambda u: -slope(u), u0, u1, interior), peak)
    top = log_f(peak)
    end_value = log_f(u1)
    cut_hi = end_value < top - _DROP
    hi = u1
    if cut_hi.any():
        hi = np.where(cut_hi, _bisect(lambda u: top - _DROP - log_f(u), peak, u1, cut_hi), u1)
    cut_lo = log_f(u0) < top - _DROP
    lo = u0
    if cut_lo.any():
        lo = np.where(cut_lo, _bisect(lambda u: log_f(u) - top + _DROP, u0, peak, cut_lo), u0)
    with np.errstate(invalid="ignore"):
        smooth = (peak == u0) & ~cut_hi & ~(top - end_value > _SMOOTH_DROP)
    return peak, lo, hi, smooth


def _nodes(peak: np.ndarray, lo: np.ndarray, hi: np.ndarray, smooth: bool
           ) -> tuple[np.ndarray, np.ndarray]:
    """Nodes u (n, K) and log-weights: one panel on [peak, hi] if smooth, else graded panels
    on each side of the peak."""
    if smooth:
        span = (hi - peak)[:, None]
        with np.errstate(divide="ignore"):
            logw = np.log(span / 2 * _SMOOTH_WEIGHTS[None, :])
        return peak[:, None] + span * (_SMOOTH_NODES[None, :] + 1) / 2, logw
    nodes, logw = [], []
    # the rising side exists only for rows whose integrand peaks after u0 (rare in practice)
    sides = (hi, lo) if np.any(lo < peak) else (hi,)
    for end in sides:
        span = (end - peak)[:, None]
        for a, b in zip(_GRADES[:-1], _GRADES[1:], strict=True):
            frac = a + (b - a) * (_NODES + 1) / 2
            nodes.append(peak[:, None] + span * frac[None, :])
            with np.errstate(divide="ignore"):
                logw.append(np.log(np.abs(span) * (b - a) / 2 * _WEIGHTS[None, :]))
    return np.concatenate(nodes, axis=1), np.concatenate(logw, axis=1)


def _concave_quadrature(log_f, slope, u0: np.ndarray, u1: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights for all rows with the graded scheme (used for P(X(t) = n))."""
    peak, lo, hi, _ = _quadrature_plan(log_f, slope, u0, u1)
    return _nodes(peak, lo, hi, False)


def _log_gap(c, u):
    """ln(c + e^u) for c >= 0, exactly u when c is the scalar 0; c per row broadcasts."""
    if np.ndim(c) == 0:
        return u if c == 0 else np.log(c + np.exp(u))
    return np.log(_col(c, u) + np.exp(u))


def _col(v, u):
    """A per-row array shaped to broadcast against u, which is (n,) or (n, K)."""
    return v if np.ndim(v) == 0 or np.ndim(u) == 1 else v[:, None]


class ParetoNBDModel(RepeatPurchaseModel):
    """Pareto/NBD purchase model, parameters ``r, alpha, s, beta`` (Schmittlein et al. 1987)."""

    _param_names = ("r", "alpha", "s", "beta")

    def _integral_terms(self, theta, x, t_x, T):
        """log A_T, log(s I) and, per row, the I-weighted means of ln(alpha+y),
        1/(alpha+y), ln(beta+y) and 1/(beta+y) over the quadrature nodes."""
        r, alpha, s, beta = theta
        m = np.minimum(alpha, beta)  # scalars, or per customer in covariate models
        ca, cb = alpha - m, beta - m  # alpha + y = ca + e^u, beta + y = cb + e^u
        rx = (r + x)

        def log_f(u):
            return (-_col(rx, u) * _log_gap(ca, u) - (s + 1) * _log_gap(cb, u) + u)

        def slope(u):
            eu = np.exp(u)
            return 1 - rx * eu / (ca + eu) - (s + 1) * eu / (cb + eu)

        peak, lo, hi, smooth = _quadrature_plan(log_f, slope, np.log(m + t_x), np.log(m + T))
        n = len(x)
        log_i = np.empty(n)
        means = np.empty((4, n))
        for scheme in (True, False):
            idx = np.flatnonzero(smooth == scheme)
            if idx.size == 0:
                continue

            def sub(v, idx=idx):
                return v[idx] if np.ndim(v) else v

            u, logw = _nodes(peak[idx], lo[idx], hi[idx], scheme)
            eu = np.exp(u)
            ay, by = _col(sub(ca), u) + eu, _col(sub(cb), u) + eu  # alpha + y, beta + y
            la, lb = np.log(ay), np.log(by)
            lf = -rx[idx][:, None] * la - (s + 1) * lb + u + logw
            top = np.max(lf, axis=1)
            top = np.where(np.isfinite(top), top, 0.0)
            q = np.exp(lf - top[:, None])  # 0 at nodes of empty ranges
            total = q.sum(axis=1)
            with np.errstate(divide="ignore"):
                log_i[idx] = np.log(total) + top
            q /= np.where(total > 0, total, 1.0)[:, None]
            means[:, idx] = [(q * la).sum(1), (q / ay).sum(1), (q * lb).sum(1), (q / by).sum(1)]
        log_at = -rx * np.log(alpha + T) - s * np.log(beta + T)
        return log_at, np.log(s) + log_i, means

    def _loglik(self, theta, data, grad):
        r, alpha, s, beta = theta
        x, t_x, T = data
        log_at, log_si, (m_la, m_ia, m_lb, m_ib) = self._integral_terms(theta, x, t_x, T)
        mix = np.logaddexp(log_at, log_si)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + mix
        if not grad:
            return ll, None
        pa = np.exp(log_at - mix)
        pi = np.exp(log_si - mix)
        g = np.empty((len(x), 4))
        g[:, 0] = (digamma(r + x) - digamma(r) + np.log(alpha)
                   - pa * np.log(alpha + T) - pi * m_la)
        g[:, 1] = r / alpha - (r + x) * (pa / (alpha + T) + pi * m_ia)
        g[:, 2] = np.log(beta) - pa * np.log(beta + T) + pi * (1 / s - m_lb)
        g[:, 3] = s / beta - pa * s / (beta + T) - pi * (s + 1) * m_ib
        return ll, g

    def closed_form_log_likelihood(self, x: Any, t_x: Any, T: Any,
                                   params: Any = None) -> np.ndarray:
        """Per-customer log-likelihood from the hypergeometric closed form (for checking).

        Uses `scipy.special.hyp2f1`, which loses accuracy for some arguments (c - a - b an
        integer with z near 1, e.g. r + x = 1 and beta >> alpha); fitting and predictions use
        the quadrature, which tests check against this form and a 40-digit mpmath evaluation.
        """
        r, alpha, s, beta = self._p() if params is None else np.asarray(params, dtype=float)
        x, t_x, T = check_rfm(x, t_x, T)
        rho = r + s + x

        def log_term(y):
            if alpha >= beta:
                z = (alpha - beta) / (alpha + y)
                g = hyp2f1(1.0, r + x, rho + 1, z)
                return -s * np.log(beta + y) - (r + x) * np.log(alpha + y) + np.log(g)
            z = (beta - alpha) / (beta + y)
            g = hyp2f1(1.0, s + 1, rho + 1, z)
            return (1 - r - x) * np.log(alpha + y) - (s + 1) * np.log(beta + y) + np.log(g)

        lt_x, l_T = log_term(t_x), log_term(T)
        with np.errstate(divide="ignore"):
            log_a0 = lt_x + np.log1p(-np.exp(l_T - lt_x))
        log_at = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        mix = np.logaddexp(log_at, np.log(s) - np.log(rho) + log_a0)
        return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + mix

    # -- predictions -------------------------------------------------------------------------
    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""P(alive at T | x, t_x, T) :math:`= (\alpha+T)^{-(r+x)}(\beta+T)^{-s} / (L/C)`."""
        theta = self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        log_at, log_si, _ = self._integral_terms(theta, x, t_x, T)
        return np.exp(log_at - np.logaddexp(log_at, log_si))

    def expected_purchases(self, t: Any) -> np.ndarray:
        r"""Expected purchases in (0, t] of a new customer.

        .. math:: E[X(t)] = \frac{r\beta}{\alpha(s-1)}\left[1 -
                  \left(\frac{\beta}{\beta+t}\right)^{s-1}\right]
        """
        r, alpha, s, beta = self._p()
        t = as_float("t", t)
        return r / alpha * beta * _power_ratio(s - 1, np.log1p(t / beta))

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        r"""Expected purchases in (T, T+t] given the history.

        .. math:: E[Y(t)\mid x,t_x,T] = \frac{(r+x)(\beta+T)}{(\alpha+T)(s-1)}\left[1 -
                  \left(\frac{\beta+T}{\beta+T+t}\right)^{s-1}\right] P(\text{alive})
        """
        r, alpha, s, beta = self._p()
        x, t_x, T = check_rfm(x, t_x, T)
        t = as_float("t", t)
        alive = self.probability_alive(x, t_x, T)
        return ((r + x) / (alpha + T) * (beta + T) * _power_ratio(s - 1, np.log1p(t / (beta + T)))
                * alive)

    def probability_of_purchases(self, n: Any, t: Any) -> np.ndarray:
        r"""P(X(t) = n) for a new customer.

        .. math:: P(X(t)=n) = \mathrm{NB}_n(t)\left(\frac{\beta}{\beta+t}\right)^s
            + \int_0^t \mathrm{NB}_n(\tau)\,\frac{s\beta^s}{(\beta+\tau)^{s+1}}\,d\tau

        (alive throughout, or died at :math:`\tau` having bought n times), with
        :math:`\mathrm{NB}_n(t)` the gamma-Poisson probability of n purchases in t; the integral by
        the same log-space quadrature as the likelihood.
        """
        r, alpha, s, beta = self._p()
        n, t = np.broadcast_arrays(as_float("n", n), as_float("t", t))
        n, t = n.astype(float), t.astype(float)

        m = min(alpha, beta)
        ca, cb = alpha - m, beta - m
        const = (gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha) + np.log(s)
                 + s * np.log(beta))

        def log_tau(u):
            with np.errstate(divide="ignore", invalid="ignore"):
                return u + np.log1p(-m * np.exp(-u))

        def log_f(u, nn=n):
            nn = nn if np.ndim(u) == 1 else nn[:, None]
            with np.errstate(invalid="ignore"):
                lt = np.where(nn > 0, nn * log_tau(u), 0.0)
            return lt - (r + nn) * _log_gap(ca, u) - (s + 1) * _log_gap(cb, u) + u

        def slope(u):
            with np.errstate(divide="ignore", invalid="ignore"):
                first = np.where(n > 0, n * np.exp(u - log_tau(u)), 0.0)
            return (first + 1 - (r + n) * np.exp(u - _log_gap(ca, u))
                    - (s + 1) * np.exp(u - _log_gap(cb, u)))

        u, logw = _concave_quadrature(log_f, slope, np.full(len(n), np.log(m)), np.log(m + t))
        log_dead = logsumexp(log_f(u) + logw, axis=1) + const
        with np.errstate(divide="ignore"):
            log_alive = (gammaln(r + n) - gammaln(r) - gammaln(n + 1)
                         + r * np.log(alpha / (alpha + t)) + n * np.log(t / (alpha + t))
                         + s * np.log(beta / (beta + t)))
        return np.exp(np.logaddexp(log_alive, log_dead))


def _power_ratio(k: float, log_ratio: np.ndarray) -> np.ndarray:
    """(1 - exp(-k L)) / k, with its limit L at k = 0 (L = log of a ratio >= 1)."""
    if abs(k) < 1e-12:
        return log_ratio
    return -np.expm1(-k * log_ratio) / k
