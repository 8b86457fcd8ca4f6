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

from cvm.models._base import RepeatPurchaseModel, as_float, check_rfm

__all__ = ["ParetoNBDModel"]

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)
_PANELS = 3


def _log_quadrature(lo: np.ndarray, hi: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``y`` (n, K) in [lo, hi] and log-weights including the Jacobian of u = ln(m+y).

    Composite Gauss-Legendre with `_PANELS` equal panels in u.
    """
    u0 = np.log(m + lo)[:, None]
    u1 = np.log(m + hi)[:, None]
    width = (u1 - u0) / _PANELS
    edges = np.arange(_PANELS)[None, :, None]
    u = u0[:, :, None] + width[:, :, None] * (edges + (_NODES[None, None, :] + 1) / 2)
    u = u.reshape(len(lo), -1)
    w = np.tile(_WEIGHTS, _PANELS)[None, :]
    with np.errstate(divide="ignore"):
        logw = np.log(width / 2 * w) + u
    y = np.maximum(np.exp(u) - m, 0.0)
    return y, logw


class ParetoNBDModel(RepeatPurchaseModel):
    """Pareto/NBD purchase model, parameters ``r, alpha, s, beta`` (Schmittlein et al. 1987)."""

    _param_names = ("r", "alpha", "s", "beta")

    def _integral_terms(self, theta, x, t_x, T):
        """log A_T, log(s I), and the node shares / log-terms for the gradient."""
        r, alpha, s, beta = theta
        m = min(alpha, beta)
        y, logw = _log_quadrature(t_x, T, m)
        la = np.log(alpha + y)
        lb = np.log(beta + y)
        lf = -(r + x)[:, None] * la - (s + 1) * lb + logw
        log_i = logsumexp(lf, axis=1)
        log_at = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        return log_at, np.log(s) + log_i, (lf, log_i, y)

    def _loglik(self, theta, data, grad):
        r, alpha, s, beta = theta
        x, t_x, T = data
        log_at, log_si, (lf, log_i, y) = self._integral_terms(theta, x, t_x, T)
        mix = np.logaddexp(log_at, log_si)
        ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + mix
        if not grad:
            return ll, None
        pa = np.exp(log_at - mix)
        pi = np.exp(log_si - mix)
        q = np.exp(lf - log_i[:, None])  # quadrature shares of I, rows sum to 1
        q = np.where(np.isfinite(q), q, 0.0)
        g = np.empty((len(x), 4))
        g[:, 0] = (digamma(r + x) - digamma(r) + np.log(alpha)
                   - pa * np.log(alpha + T) - pi * (q * np.log(alpha + y)).sum(1))
        g[:, 1] = r / alpha - (r + x) * (pa / (alpha + T) + pi * (q / (alpha + y)).sum(1))
        g[:, 2] = (np.log(beta) - pa * np.log(beta + T)
                   + pi * (1 / s - (q * np.log(beta + y)).sum(1)))
        g[:, 3] = s / beta - pa * s / (beta + T) - pi * (s + 1) * (q / (beta + y)).sum(1)
        return ll, g

    def closed_form_log_likelihood(self, x: Any, t_x: Any, T: Any,
                                   params: Any = None) -> np.ndarray:
        """Per-customer log-likelihood from the hypergeometric closed form (for checking)."""
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

        def log_nb(j, tau):
            with np.errstate(divide="ignore"):
                return (gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * np.log(alpha)
                        + j * np.log(tau) - (r + j) * np.log(alpha + tau))

        y, logw = _log_quadrature(np.zeros_like(t), t, min(alpha, beta))
        lf = (log_nb(n[:, None], y) + np.log(s) + s * np.log(beta) - (s + 1) * np.log(beta + y)
              + logw)
        alive = log_nb(n, t) + s * (np.log(beta) - np.log(beta + t))
        return np.exp(np.logaddexp(alive, logsumexp(lf, axis=1)))


def _power_ratio(k: float, log_ratio: np.ndarray) -> np.ndarray:
    """(1 - exp(-k L)) / k, with its limit L at k = 0 (L = log of a ratio >= 1)."""
    if abs(k) < 1e-12:
        return log_ratio
    return -np.expm1(-k * log_ratio) / k
