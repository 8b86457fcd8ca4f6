"""Shared maximum-likelihood machinery for cvm's probability models.

A model subclasses `MaximumLikelihoodModel` and supplies its parameter names, a vectorised
per-row log-likelihood with its analytic gradient (``_loglik``) and starting points. The base
class then

* compresses the data to its unique rows, with the row counts (times any weights) as weights,
* maximises ``sum_i w_i * l_i(theta)`` over ``log(theta)`` (model parameters are positive;
  covariate coefficients are optimised as they are) with L-BFGS-B,
  ``scipy.optimize.minimize(..., jac=True)``, from several starting points, then a few Newton
  steps; with more than 20,000 distinct rows the starting points are explored on a
  20,000-customer sample and the fit on all rows starts from the sample's optimum: Newton steps
  if the model has an analytic Hessian (``_hessian``), else steps with the sample's Hessian
  (chord method), each one evaluation on all rows (L-BFGS-B on all rows if they do not converge),
* takes standard errors from the inverse of the observed information (the Hessian of the negative
  log-likelihood in the natural parameters: the model's analytic one, else central differences
  of the analytic gradient),
* reports ``log_likelihood_``, ``aic_``, ``bic_`` and ``summary(level)``.

The pattern follows lifelines' fitters (base class does the MLE and the Hessian, a model adds its
likelihood); the settings follow cvm's one estimator contract (`cvm._estimator.Estimator`,
after scikit-learn's: ``__init__`` stores keyword settings only, ``fit`` checks them against
``_parameter_constraints`` and returns ``self``, learned attributes end in ``_``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import ThreadpoolController

from cvm._estimator import Estimator, Interval, normal_interval
from cvm.clv._inputs import (
    as_float,
    check_rfm,
    check_weights,
    compress_rows,
    customer_labels,
)
from cvm.errors import ConvergenceError, InputError, NotFittedError

__all__ = ["MaximumLikelihoodModel", "RepeatPurchaseModel", "as_float", "check_rfm",
           "check_weights", "compress_rows", "customer_labels"]

_LOG_BOUND = 25.0  # parameters live in [e^-25, e^25]; reaching it means "not identified"
_SUBSAMPLE_ROWS = 20_000  # above this many distinct rows, starting points are explored on a sample


_CONTROLLER: list[ThreadpoolController] = []


def _threadpools() -> ThreadpoolController:
    """The process's thread pools, inspected once (inspecting them costs ~3 ms a fit)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


class MaximumLikelihoodModel(Estimator):
    """Base class: maximum likelihood over positive parameters with an analytic gradient.

    Parameters
    ----------
    max_iter : int, default=2000
        Iterations of L-BFGS-B per starting point, in [1, inf).
    tol : float, default=1e-9
        Target for the largest gradient component (log-likelihood per customer, in
        log-parameters) of the Newton steps that finish each fit, in (0, 1e-3]; a fit whose
        gradient stays above ``1000 * tol`` raises `ConvergenceError`.

    Both are checked at ``fit``; an out-of-range value raises `InvalidParameterError`.

    Attributes
    ----------
    params_ : pandas.Series
        Maximum-likelihood estimates, indexed by parameter name.
    standard_errors_ : pandas.Series
        Standard errors from the inverse observed information (NaN if it is singular).
    covariance_ : pandas.DataFrame
        Inverse of the observed information matrix.
    log_likelihood_ : float
        Maximised log-likelihood.
    aic_, bic_ : float
        ``2k - 2LL`` and ``k ln(n) - 2LL`` with ``n`` the number of customers (sum of weights).
    n_customers_ : float
        Sum of weights (customers, or cohort members).
    n_unique_rows_ : int
        Distinct data rows the likelihood was evaluated on.
    """

    _param_names: tuple[str, ...] = ()
    _start_points_extra: tuple[tuple[float, ...], ...] = ()
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "max_iter": [Interval(int, 1, None)],
        "tol": [Interval(float, 0, 1e-3, closed="right")],
    }

    def __init__(self, *, max_iter: int = 2000, tol: float = 1e-9):
        self.max_iter = max_iter
        self.tol = tol

    def _levels(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values of x and the index of each row's value, cached for the array.

        Terms that depend on the parameters and on the purchase count alone (Beta and Gamma
        functions, digammas) are computed once per distinct count: real data have a few dozen.
        """
        cached = getattr(self, "_levels_cache", None)
        if cached is not None and cached[0] is x:
            return cached[1], cached[2]
        levels, inverse = np.unique(x, return_inverse=True)
        self._levels_cache = (x, levels, inverse.reshape(-1))
        return levels, inverse.reshape(-1)

    def _free_mask(self) -> np.ndarray:
        """True for parameters that may be any real number (covariate coefficients)."""
        free = getattr(self, "_free", None)
        return np.zeros(len(self._param_names), bool) if free is None else np.asarray(free)

    # -- to be supplied by a model ---------------------------------------------------------
    def _loglik(self, theta: np.ndarray, data: Sequence[np.ndarray], grad: bool
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-row log-likelihood (n,) and, if ``grad``, its gradient in theta (n, k)."""
        raise NotImplementedError

    def _start_points(self, data: Sequence[np.ndarray], weights: np.ndarray
                      ) -> list[np.ndarray]:
        return [np.ones(len(self._param_names))]

    # optional: analytic Hessian of sum_i w_i l_i(theta) in theta, (k, k); models without one
    # get it by central differences of the analytic gradient
    _hessian = None
    # optional: (sum_i w_i l_i, its gradient) computed without the per-row gradient matrix
    _loglik_sum = None

    def _log_hessian(self, cols, w, total):
        """Hessian of the objective (mean negative LL) in the optimiser's coordinates, or None.

        With theta = exp(u): d2f/du_i du_j = theta_i theta_j f_ij + [i = j] theta_i f_i.
        """
        if self._hessian is None:
            return None
        free = self._free_mask()

        def hess(u: np.ndarray, g_u: np.ndarray) -> np.ndarray:
            theta = np.where(free, u, np.exp(u))
            with np.errstate(all="ignore"):
                H = -self._hessian(theta, cols, w) / total
            scale = np.where(free, 1.0, theta)
            return scale[:, None] * H * scale[None, :] + np.diag(np.where(free, 0.0, g_u))

        return hess

    # -- fitting -----------------------------------------------------------------------------
    def _fit(self, data: Sequence[np.ndarray], weights: np.ndarray | None,
             initial_params: dict[str, float] | Sequence[float] | None = None,
             compressed: bool = False):
        # the work is elementwise numpy; multithreaded BLAS only adds thread start-up to the
        # small products (w @ g) and to L-BFGS-B, which on a busy machine doubles fit times
        with _threadpools().limit(limits=1, user_api="blas"):
            return self._fit_single_threaded(data, weights, initial_params, compressed)

    def _fit_single_threaded(self, data, weights, initial_params, compressed):
        self._validate_params()
        if compressed:  # distinct rows with their summed weights already
            cols, w = list(data), np.asarray(weights, dtype=float)
        else:
            cols, w, _ = compress_rows(data, weights)
        keep = w > 0
        cols, w = [c[keep] for c in cols], w[keep]
        total = float(w.sum())
        starts = self._start_points(cols, w)
        if initial_params is not None:
            starts = [self._initial_vector(initial_params)] + list(starts)

        free = self._free_mask()

        def make_objective(cols, w, summed=False):
            total = float(w.sum())
            summed = summed and self._loglik_sum is not None

            def objective(log_theta: np.ndarray) -> tuple[float, np.ndarray]:
                # positive parameters are optimised on the log scale, free ones (covariate
                # coefficients) as they are
                theta = np.where(free, log_theta, np.exp(np.minimum(log_theta, 700)))
                with np.errstate(all="ignore"):
                    if summed:  # many rows: the model's sums, without per-row gradients
                        ll_sum, g_sum = self._loglik_sum(theta, cols, w)
                    else:
                        ll, g = self._loglik(theta, cols, True)
                        ll_sum, g_sum = float(w @ ll), w @ g
                    f = -ll_sum / total
                    jac = -g_sum * np.where(free, 1.0, theta) / total
                if not np.isfinite(f) or not np.all(np.isfinite(jac)):
                    return np.inf, np.zeros_like(log_theta)
                return f, jac

            return objective

        objective = make_objective(cols, w, summed=len(w) > _SUBSAMPLE_ROWS)
        bounds = [(None, None) if fr else (-_LOG_BOUND, _LOG_BOUND) for fr in free]
        options = {"maxiter": self.max_iter, "ftol": 1e-12, "gtol": 1e-8, "maxcor": 30}
        hess = self._log_hessian(cols, w, total)
        converged = None
        if len(w) > _SUBSAMPLE_ROWS:
            # many distinct rows: explore the starting points on a sample of customers (drawn
            # in proportion to the row counts, fixed seed), then finish on all the data
            draw = np.random.default_rng(0).choice(len(w), _SUBSAMPLE_ROWS, p=w / total)
            counts = np.bincount(draw, minlength=len(w))
            sub = counts > 0
            sub_objective = make_objective([c[sub] for c in cols], counts[sub].astype(float),
                                           summed=True)
            explore = self._multistart(sub_objective, starts, bounds, options, free)[0]
            if explore is not None:
                starts = [np.where(free, explore.x, np.exp(explore.x))]
                # the sample's optimum is within sampling error of the full one: Newton steps
                # (analytic Hessian), or steps with the sample's Hessian (its mean per customer
                # is the full one's within sampling error), finish in a few evaluations
                if hess is not None:
                    finish = self._polish(objective, explore, self.tol, hess)
                else:
                    finish = self._chord(objective, explore, self.tol, _difference_hessian(
                        sub_objective, explore.x))
                if finish is not None and np.max(np.abs(finish.jac)) < self.tol:
                    converged = (finish, [explore])
        if converged is not None:
            best, tried = converged
        else:
            best, tried = self._multistart(objective, starts, bounds, options, free)
            if best is not None:
                best = self._polish(objective, best, self.tol, hess)
        self._raise_unless_converged(best, tried)
        theta = np.where(free, best.x, np.exp(best.x))
        self._theta = theta
        self.params_ = pd.Series(theta, index=list(self._param_names), name="estimate")
        self.log_likelihood_ = -best.fun * total
        k = len(theta)
        self.n_customers_ = total
        self.n_unique_rows_ = len(w)
        self.aic_ = 2 * k - 2 * self.log_likelihood_
        self.bic_ = k * np.log(total) - 2 * self.log_likelihood_
        self._set_covariance(cols, w)
        self._raise_if_unidentified()
        self._levels_cache = self._shared = self._level_weights_cache = None  # no customer data
        return self

    def _multistart(self, objective, starts, bounds, options, free):
        """L-BFGS-B from each start; stop early once two reach the same optimum."""
        best = None
        tried = []
        for start in starts:
            start = np.asarray(start, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                x0 = np.where(free, start,
                              np.clip(np.log(start), -_LOG_BOUND + 1, _LOG_BOUND - 1))
            res = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                    options=options)
            tried.append(res)
            if np.isfinite(res.fun) and best is not None and abs(res.fun - best.fun) < 1e-9 * abs(
                    best.fun) and np.allclose(res.x, best.x, atol=1e-2):
                break  # two starting points reached the same optimum
            if np.isfinite(res.fun) and (best is None or res.fun < best.fun):
                best = res
        return best, tried

    def _initial_vector(self, initial: dict[str, float] | Sequence[float]) -> np.ndarray:
        if isinstance(initial, dict):
            missing = [p for p in self._param_names if p not in initial]
            if missing:
                raise InputError(f"parameters: missing {missing}; expected a value for each "
                                 f"of {list(self._param_names)}")
            vec = np.array([initial[p] for p in self._param_names], dtype=float)
        else:
            vec = np.asarray(initial, dtype=float)
        if vec.shape != (len(self._param_names),) or not np.all(vec > 0):
            raise InputError(f"parameters: expected {len(self._param_names)} positive values "
                             f"for {list(self._param_names)}, got {initial!r}")
        return vec

    @staticmethod
    def _polish(objective, res, tol, hess=None):
        """A few Newton steps to tighten the optimum (Hessian analytic if the model has one,
        else by central differences of the gradient)."""
        x = res.x.copy()
        f, g = objective(x)
        if not np.isfinite(f):
            return res
        for _ in range(8):
            if np.max(np.abs(g)) < tol:
                break
            if hess is not None:
                H = hess(x, g)
            else:
                h = 1e-6
                H = np.empty((len(x), len(x)))
                for j in range(len(x)):
                    e = np.zeros_like(x)
                    e[j] = h
                    H[:, j] = (objective(x + e)[1] - objective(x - e)[1]) / (2 * h)
            H = (H + H.T) / 2
            if not np.all(np.isfinite(H)):
                break
            try:
                if np.linalg.eigvalsh(H).min() <= 0:
                    break
                step = np.linalg.solve(H, g)
            except np.linalg.LinAlgError:
                break
            x_new = np.clip(x - step, -_LOG_BOUND, _LOG_BOUND)
            f_new, g_new = objective(x_new)
            if not np.isfinite(f_new) or f_new > f + 1e-14 * abs(f):
                break
            x, f, g = x_new, f_new, g_new
            if np.max(np.abs(g)) < tol:
                break
        return optimize.OptimizeResult(x=x, fun=f, jac=g, success=res.success,
                                       message=res.message, nit=res.nit)

    @staticmethod
    def _chord(objective, res, tol, H, max_steps=30):
        """Quasi-Newton steps with a fixed Hessian H (the chord method); None if H is unusable.

        Converges linearly at the rate of H's relative error; each step costs one evaluation.
        A step that raises the objective is halved (up to 10 times), else the steps stop.
        """
        if H is None or not np.all(np.isfinite(H)):
            return None
        H = (H + H.T) / 2
        try:
            if np.linalg.eigvalsh(H).min() <= 0:
                return None
        except np.linalg.LinAlgError:
            return None
        x = res.x.copy()
        f, g = objective(x)
        if not np.isfinite(f):
            return None
        for _ in range(max_steps):
            if np.max(np.abs(g)) < tol:
                break
            step = np.linalg.solve(H, g)
            for _ in range(10):
                x_new = np.clip(x - step, -_LOG_BOUND, _LOG_BOUND)
                f_new, g_new = objective(x_new)
                if np.isfinite(f_new) and f_new <= f + 1e-14 * abs(f):
                    break
                step = step / 2
            else:
                break
            x, f, g = x_new, f_new, g_new
        return optimize.OptimizeResult(x=x, fun=f, jac=g, success=res.success,
                                       message=res.message, nit=res.nit)

    def _checklist(self) -> str:
        return (
            "What to try:\n"
            "  1. Check the input: frequency counts repeat purchases only (first purchase "
            "excluded), and recency and T are in the same time unit.\n"
            "  2. Use a longer calibration period or more customers: with few repeat buyers the "
            "parameters are not identified.\n"
            "  3. Try a simpler or different model (e.g. BG/NBD instead of Pareto/NBD; on the "
            "command line --model bgnbd) and compare log-likelihoods.\n"
            "  4. From Python only: give starting values near a plausible answer, "
            "fit(..., initial_params={...}).\n"
            f"  5. From Python only: raise max_iter (now {self.max_iter}).")

    def _raise_unless_converged(self, best, tried) -> None:
        name = type(self).__name__
        checklist = self._checklist()
        if best is None:
            raise ConvergenceError(
                f"{name}: the log-likelihood is not finite at any of {len(tried)} starting points."
                f"\n{checklist}")
        gmax = float(np.max(np.abs(best.jac)))
        free = self._free_mask()
        at_bound = [p for p, v, fr in zip(self._param_names, best.x, free, strict=True)
                    if not fr and abs(v) >= _LOG_BOUND - 1e-3]
        if at_bound:
            raise ConvergenceError(
                f"{name} did not converge: parameter(s) {at_bound} ran off to "
                f"zero or infinity (the data do not identify them).\n{checklist}")
        drifting = [p for p, v, fr in zip(self._param_names, best.x, free, strict=True)
                    if abs(v) > 10 and not fr]
        if gmax > 1000 * self.tol and drifting:
            raise ConvergenceError(
                f"{name} did not converge: parameter(s) {drifting} keep growing or shrinking "
                f"(now {', '.join(f'{v:.3g}' for v in np.where(free, best.x, np.exp(best.x)))}); "
                "the likelihood is flat "
                f"along them, so the data do not identify them.\n{checklist}")
        if gmax > 1000 * self.tol:
            raise ConvergenceError(
                f"{name} did not converge from {len(tried)} starting points: the largest "
                f"gradient component is {gmax:.3g} per customer (optimizer: {best.message}).\n"
                f"{checklist}")

    def _raise_if_unidentified(self) -> None:
        """`ConvergenceError` if the optimiser stopped on a ridge towards zero or infinity.

        Where the likelihood keeps rising, ever more slowly, as parameters grow (BG/NBD's a and b
        on data with almost no repeat buyers), L-BFGS-B may stop with a small gradient far out
        on the ridge before reaching the bound. Such a parameter is far from 1 (|log theta| > 10)
        and its standard error is more than 100 times its value.
        """
        free = self._free_mask()
        theta = self._theta
        rel_se = self.standard_errors_.to_numpy() / theta
        off = [p for p, t, r, fr in zip(self._param_names, theta, rel_se, free, strict=True)
               if not fr and abs(np.log(t)) > 10 and not (r <= 100)]
        if off:
            raise ConvergenceError(
                f"{type(self).__name__} did not converge: parameter(s) {off} drift off towards "
                f"zero or infinity (now {', '.join(f'{v:.3g}' for v in theta)}; a standard error "
                "over 100 times the estimate, or none): the likelihood is flat along them, so the "
                f"data do not identify them.\n{self._checklist()}")

    def _set_covariance(self, cols: Sequence[np.ndarray], w: np.ndarray) -> None:
        theta = self._theta

        def grad_neg(t: np.ndarray) -> np.ndarray:
            _, g = self._loglik(t, cols, True)
            return -(w @ g)

        k = len(theta)
        free = self._free_mask()
        H = np.empty((k, k))
        with np.errstate(all="ignore"):
            if self._hessian is not None:
                H[:] = -self._hessian(theta, cols, w)
            for j in range(k if self._hessian is None else 0):
                h = 1e-5 * (max(abs(theta[j]), 1.0) if free[j] else theta[j])
                e = np.zeros(k)
                e[j] = h
                H[:, j] = (grad_neg(theta + e) - grad_neg(theta - e)) / (2 * h)
        H = (H + H.T) / 2
        names = list(self._param_names)
        try:
            cov = np.linalg.inv(H)
            if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            cov = np.full((k, k), np.nan)
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(cov)), index=names, name="std_err")

    @classmethod
    def from_params(cls, params: dict[str, float], **hyper: Any):
        """A model with given parameters (e.g. published ones), ready to predict.

        Standard errors, log-likelihood and information criteria are NaN: nothing was fitted.
        """
        model = cls(**hyper)
        theta = model._initial_vector(params)
        names = list(cls._param_names)
        model._theta = theta
        model.params_ = pd.Series(theta, index=names, name="estimate")
        model.standard_errors_ = pd.Series(np.nan, index=names, name="std_err")
        model.covariance_ = pd.DataFrame(np.nan, index=names, columns=names)
        model.log_likelihood_ = model.aic_ = model.bic_ = model.n_customers_ = np.nan
        model.n_unique_rows_ = 0
        return model

    # -- reporting ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet; call "
                                 "fit(...) with the calibration data first.")

    def _p(self) -> np.ndarray:
        self._check_fitted()
        return self._theta

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Estimates with standard errors and two-sided ``level`` Wald intervals (estimate -/+
        z * std_err), one row per parameter: columns estimate, std_err, ci_low, ci_high."""
        self._check_fitted()
        se = self.standard_errors_
        low, high = normal_interval(self.params_, se, level)
        return pd.DataFrame({"estimate": self.params_, "std_err": se, "ci_low": low,
                             "ci_high": high})

    def to_dict(self) -> dict[str, Any]:
        """Model name, parameters, standard errors, log-likelihood, AIC and BIC (JSON-ready)."""
        self._check_fitted()
        return {
            "model": type(self).__name__,
            "parameters": {k: float(v) for k, v in self.params_.items()},
            "standard_errors": {k: float(v) for k, v in self.standard_errors_.items()},
            "log_likelihood": float(self.log_likelihood_),
            "aic": float(self.aic_),
            "bic": float(self.bic_),
            "n_customers": float(self.n_customers_),
            "n_unique_rows": int(self.n_unique_rows_),
        }

    def __repr__(self) -> str:
        """The fitted parameters once fitted, else the settings that differ from the defaults."""
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner})"
        return super().__repr__()


class RepeatPurchaseModel(MaximumLikelihoodModel):
    """Base of the continuous-time purchase models fitted on ``(x, t_x, T)`` per customer."""

    _discrete = False

    def fit(self, x: Any, t_x: Any, T: Any, weights: Any = None,
            initial_params: dict[str, float] | Sequence[float] | None = None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        x : array-like of int
            Number of repeat purchases in the calibration period (first purchase excluded).
        t_x : array-like of float
            Recency: time from the first to the last purchase (0 if ``x`` is 0).
        T : array-like of float
            Age: time from the first purchase to the end of the calibration period.
        weights : array-like of float, optional
            Number of customers each row stands for (aggregated summaries).
        initial_params : dict or sequence, optional
            A starting point tried before the built-in ones.

        Returns
        -------
        self
        """
        labels = customer_labels(x)
        x_ = as_float("frequency (x)", x)
        t_ = as_float("recency (t_x)", t_x, len(x_))
        T_ = as_float("age (T)", T, len(x_))
        w = check_weights(weights, len(x_), labels)
        # the checks are per row, so they are run on the distinct rows; if one fails, the
        # full check names the customers
        cols, counts, _ = compress_rows([x_, t_, T_], w)
        try:
            check_rfm(*cols, discrete=self._discrete)
        except InputError:
            check_rfm(x, t_x, T, labels=labels, discrete=self._discrete)
            raise
        return self._fit(cols, counts, initial_params, compressed=True)

    def individual_log_likelihood(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """Log-likelihood of each customer's history under the fitted parameters."""
        x_, t_, T_ = check_rfm(x, t_x, T, discrete=self._discrete)
        ll, _ = self._loglik(self._p(), [x_, t_, T_], False)
        return ll

    def _start_points(self, data, weights):
        x, _, T = data
        rate = max(float(weights @ x) / max(float(weights @ T), 1e-12), 1e-6)
        k = len(self._param_names)
        base = [(1.0, 1.0 / rate), (0.5, 0.5 / rate), (2.0, 2.0 / rate)]
        rest = [(1.0, 1.0), (1.0, 3.0), (0.5, 2.0)]
        return [np.array(list(b) + list(o))[:k] for b, o in zip(base, rest, strict=True)]


def _difference_hessian(objective, x: np.ndarray, h: float = 1e-6) -> np.ndarray | None:
    """Hessian of an objective returning (f, gradient), by central differences of the gradient."""
    H = np.empty((len(x), len(x)))
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        H[:, j] = (objective(x + e)[1] - objective(x - e)[1]) / (2 * h)
    return H
