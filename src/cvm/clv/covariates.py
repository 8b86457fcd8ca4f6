r"""Time-invariant covariates on the BG/NBD and Pareto/NBD purchase and dropout processes.

Customer i's covariates :math:`z_i` (e.g. acquisition channel, region, relationship type as
0/1 columns) scale the gamma and beta mixing distributions, as in Fader & Hardie (2007) and R's
CLVTools ``staticcov`` models:

* purchase process, both models: :math:`\alpha_i = \alpha_0 \exp(-\gamma_p^\top z_i)`, so a
  positive coefficient raises the purchase rate (:math:`E[\lambda_i] = r/\alpha_i`);
* Pareto/NBD dropout: :math:`\beta_i = \beta_0 \exp(-\gamma_d^\top z_i)`, a positive coefficient
  raises the dropout rate;
* BG/NBD dropout: :math:`a_i = a_0 \exp(\gamma_d^\top z_i)`, :math:`b_i = b_0
  \exp(\gamma_d^\top z_i)` (CLVTools' parameterisation).

The likelihood is the model's own with customer-specific parameters; the gradient follows by the
chain rule from the model's analytic gradient. Rows compress on ``(x, t_x, T, z)``.

References
----------
Fader, P. S. and Hardie, B. G. S. (2007). Incorporating Time-Invariant Covariates into the
Pareto/NBD and BG/NBD Models. http://brucehardie.com/notes/019/
Meierer, P., Bachmann, P., Jung, J. and Niederhauser, M. CLVTools: Customer Lifetime Value Tools
(R package).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cvm.clv._base import MaximumLikelihoodModel
from cvm.clv._inputs import _name_some, check_rfm, check_weights, customer_labels
from cvm.clv.bgnbd import BetaGeoModel
from cvm.clv.paretonbd import ParetoNBDModel
from cvm.errors import InputError

__all__ = ["BetaGeoCovariateModel", "ParetoNBDCovariateModel"]


class _StaticCovariateModel(MaximumLikelihoodModel):
    _core: type = MaximumLikelihoodModel
    # base parameter index -> (process, sign of the exponent)
    _links: dict[int, tuple[str, float]] = {}

    def fit(self, x: Any, t_x: Any, T: Any, covariates: Any, weights: Any = None, *,
            purchase: list[str] | None = None, dropout: list[str] | None = None,
            initial_params: Any = None):
        """Fit by maximum likelihood.

        Parameters
        ----------
        x, t_x, T : array-like
            Repeat-purchase summary, as for the model without covariates.
        covariates : pandas.DataFrame or 2-d array, shape (n_customers, k)
            Numeric, finite, time-invariant covariates (one column each; code categories as
            0/1 columns, leaving one level out).
        weights : array-like, optional
            Number of customers each row stands for.
        purchase, dropout : list of str, optional
            Covariate columns acting on the purchase and the dropout process (default: all, on
            both).

        Returns
        -------
        self
        """
        labels = customer_labels(x)
        x_, t_, T_ = check_rfm(x, t_x, T, labels=labels)
        Z, names = self._check_covariates(covariates, len(x_), labels)
        purchase = list(names) if purchase is None else list(purchase)
        dropout = list(names) if dropout is None else list(dropout)
        unknown = sorted(set(purchase + dropout) - set(names))
        if unknown:
            raise InputError(f"covariates {unknown} are not columns of the covariate table; "
                             f"expected some of {names}")
        self.covariate_names_ = names
        self._ip = [names.index(c) for c in purchase]
        self._id = [names.index(c) for c in dropout]
        core = list(self._core._param_names)
        self._param_names = tuple(core + [f"purchase:{c}" for c in purchase]
                                  + [f"dropout:{c}" for c in dropout])
        self._free = np.array([False] * len(core) + [True] * (len(purchase) + len(dropout)))
        w = check_weights(weights, len(x_), labels)
        return self._fit([x_, t_, T_, *Z.T], w, initial_params)

    @staticmethod
    def _check_covariates(covariates: Any, n: int, labels) -> tuple[np.ndarray, list[str]]:
        if isinstance(covariates, pd.Series):
            covariates = covariates.to_frame()
        if isinstance(covariates, pd.DataFrame):
            names = [str(c) for c in covariates.columns]
            try:
                Z = covariates.to_numpy(dtype=float)
            except (TypeError, ValueError):
                raise InputError("covariates: expected numeric columns; code categories as 0/1 "
                                 "columns") from None
        else:
            Z = np.asarray(covariates, dtype=float)
            Z = Z.reshape(-1, 1) if Z.ndim == 1 else Z
            names = [f"z{j}" for j in range(Z.shape[1])]
        if Z.shape[0] != n:
            raise InputError(f"covariates: expected one row per customer ({n}), got {Z.shape[0]}")
        bad = ~np.isfinite(Z).all(axis=1)
        if bad.any():
            raise InputError(f"covariates: {_name_some(labels, bad)} a missing or infinite "
                             "covariate value")
        return Z, names

    def _start_points(self, data, weights):
        core = self._core()._start_points(data[:3], weights)
        k = len(self._param_names) - len(self._core._param_names)
        return [np.concatenate([c, np.zeros(k)]) for c in core]

    def _per_row(self, theta, Z):
        k0 = len(self._core._param_names)
        gp = theta[k0:k0 + len(self._ip)]
        gd = theta[k0 + len(self._ip):]
        scale = {"purchase": Z[:, self._ip] @ gp, "dropout": Z[:, self._id] @ gd}
        rows = []
        for j in range(k0):
            if j in self._links:
                proc, sign = self._links[j]
                rows.append(theta[j] * np.exp(sign * scale[proc]))
            else:
                rows.append(theta[j])
        return rows

    def _loglik(self, theta, data, grad):
        x, t_x, T = data[:3]
        Z = np.column_stack(data[3:])
        rows = self._per_row(theta, Z)
        ll, g = self._core()._loglik(rows, [x, t_x, T], grad)
        if not grad:
            return ll, None
        k0 = len(self._core._param_names)
        parts = []
        for j in range(k0):
            parts.append(g[:, j] * rows[j] / theta[j] if j in self._links else g[:, j])
        dscale = {"purchase": 0.0, "dropout": 0.0}
        for j, (proc, sign) in self._links.items():
            dscale[proc] = dscale[proc] + g[:, j] * rows[j] * sign
        gp = dscale["purchase"][:, None] * Z[:, self._ip] if self._ip else np.empty((len(x), 0))
        gd = dscale["dropout"][:, None] * Z[:, self._id] if self._id else np.empty((len(x), 0))
        return ll, np.column_stack([np.column_stack(parts), gp, gd])

    def per_customer_parameters(self, covariates: Any) -> pd.DataFrame:
        """The model's parameters for each customer given their covariates."""
        self._check_fitted()
        Z, names = self._check_covariates(covariates, len(covariates), customer_labels(
            covariates))
        if names != self.covariate_names_ and not names[0].startswith("z"):
            raise InputError(f"covariates: expected columns {self.covariate_names_}, got {names}")
        rows = self._per_row(self._theta, Z)
        n = Z.shape[0]
        return pd.DataFrame({p: np.broadcast_to(v, (n,)) for p, v in
                             zip(self._core._param_names, rows, strict=True)})

    def _model_for(self, covariates: Any):
        """A model without covariates whose parameters are per-customer arrays."""
        per = self.per_customer_parameters(covariates)
        model = self._core()
        # linked parameters per customer, the others stay scalars
        model._theta = tuple(per[c].to_numpy() if j in self._links else float(per[c].iloc[0])
                             for j, c in enumerate(per.columns))
        model.params_ = per  # marks it fitted; predictions read _theta
        return model

    def probability_alive(self, x: Any, t_x: Any, T: Any, covariates: Any) -> np.ndarray:
        """P(alive at T | history, covariates), per customer."""
        return self._model_for(covariates).probability_alive(x, t_x, T)

    def conditional_expected_purchases(self, t: Any, x: Any, t_x: Any, T: Any,
                                       covariates: Any) -> np.ndarray:
        """Expected purchases in (T, T+t] given history and covariates, per customer."""
        return self._model_for(covariates).conditional_expected_purchases(t, x, t_x, T)

    def expected_purchases(self, t: float, covariates: Any) -> np.ndarray:
        """Expected purchases in (0, t] of a new customer with these covariates."""
        return self._model_for(covariates).expected_purchases(np.full(len(covariates), t))


class BetaGeoCovariateModel(_StaticCovariateModel):
    """BG/NBD with time-invariant covariates: parameters r, alpha, a, b, then the coefficients
    ``purchase:<column>`` and ``dropout:<column>``."""

    _core = BetaGeoModel
    _links = {1: ("purchase", -1.0), 2: ("dropout", 1.0), 3: ("dropout", 1.0)}


class ParetoNBDCovariateModel(_StaticCovariateModel):
    """Pareto/NBD with time-invariant covariates: parameters r, alpha, s, beta, then the
    coefficients ``purchase:<column>`` and ``dropout:<column>``."""

    _core = ParetoNBDModel
    _links = {1: ("purchase", -1.0), 3: ("dropout", -1.0)}
