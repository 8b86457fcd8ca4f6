"""PLS path modelling (PLS-PM) of satisfaction indices such as ECSI/ACSI, on numpy.

Model: each construct (latent variable) ``xi_j`` is estimated as a weighted sum of its block
of centred items, ``Y_j = X_j w_j`` with unit variance; the outer weights ``w`` come from
Wold's iterative algorithm (`cvm.survey.pls._algorithm`) with a centroid, factorial or path
inner scheme and mode A (reflective) or B (formative) blocks; the inner model
``Y_j = sum_{i -> j} beta_ij Y_i + zeta_j`` is then fitted by OLS on the standardised scores.

Quality measures, for a block with loadings ``lambda_k = cor(x_k, Y_j)``:
communality ``lambda_k^2``; AVE the block's mean communality; Cronbach's alpha
``p/(p-1) (1 - sum var(x_k) / var(sum x_k))``; Dillon-Goldstein
``rho = (sum lambda)^2 / ((sum lambda)^2 + sum (1 - lambda^2))``; and
``GoF = sqrt(mean communality x mean R^2)``, the communality averaged over the items of the
blocks with more than one item and R^2 over the endogenous constructs (Tenenhaus et al.
2005, section 3.4; semPLS's ``gof`` gives 0.4715 on mobi this way).

The 0-100 index of a construct (the customer satisfaction index, CSI) uses the
unstandardised weights, i.e. the weights of the items in their own units
``w_k / sd(x_k)``, normalised to sum to one in the block: the score
``sum_k w~_k x_k`` is on the answer scale and ``100 (score - min) / (max - min)``
(Fornell, Johnson, Anderson, Cha & Bryant 1996, J. Marketing 60(4)).

Standard errors are bootstrap ones: resamples of respondents (distinct as multisets), each
refitted, signs of each construct aligned with the full-sample fit; percentile intervals.
`PLSPathModel` follows the estimator contract of `cvm._estimator` (settings checked at
``fit``, learned values ending in ``_``, ``summary(level)``, ``to_dict()``).

References
----------
Tenenhaus M., Esposito Vinzi V., Chatelin Y.-M., Lauro C. (2005). PLS path modeling.
Computational Statistics & Data Analysis 48(1), 159-205.
Lohmoeller J.-B. (1989). Latent Variable Path Modeling with Partial Least Squares. Physica.
Monecke A., Leisch F. (2012). semPLS: Structural equation modeling using partial least
squares. Journal of Statistical Software 48(3).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvm._estimator import Estimator, Interval, Options
from cvm._json import to_jsonable
from cvm.errors import InputError, InvalidParameterError, SmallSampleWarning
from cvm.survey.pls import _algorithm as core
from cvm.survey.pls.spec import PathModel

__all__ = ["PLSPathModel", "bootstrap_indices"]


def bootstrap_indices(n: int, n_resamples: int, rng: np.random.Generator,
                      X: np.ndarray | None = None) -> np.ndarray:
    """``(n_resamples, n)`` row indices of resamples with replacement, pairwise distinct.

    Two resamples are the same when they hold the same rows the same number of times;
    duplicates (and, when ``X`` is given, resamples in which some column is constant) are
    redrawn.
    """
    if n < 2:
        raise InputError(f"bootstrap needs at least 2 respondents, got {n}")
    idx = rng.integers(0, n, size=(n_resamples, n))
    for _ in range(100):
        key = np.sort(idx, axis=1)
        _, first = np.unique(key, axis=0, return_index=True)
        bad = np.ones(n_resamples, dtype=bool)
        bad[first] = False
        if X is not None:
            sample = X[idx]
            bad |= np.any(sample.max(axis=1) == sample.min(axis=1), axis=1)
        if not bad.any():
            return idx
        idx[bad] = rng.integers(0, n, size=(int(bad.sum()), n))
    raise InputError(f"could not draw {n_resamples} distinct usable resamples of {n} "
                     "respondents; use fewer resamples or more respondents")


class PLSPathModel(Estimator):
    """Partial least squares path model (Wold / Lohmoeller), e.g. a satisfaction index.

    Parameters
    ----------
    model : PathModel, default=None
        Blocks, modes, paths and scale; None is the seven-factor ECSI telecom model.
    scheme : {"centroid", "factorial", "path"}, default="centroid"
        Inner weighting scheme.
    standardize : bool, default=True
        Standardise the items (n - 1 standard deviation, as R's ``scale``); False keeps them
        in their own units (centred only), so items with more spread weigh more.
    tol : float, default=1e-10
        Convergence: largest change of an outer weight between iterations.
    max_iter : int, default=300
        Iterations before `ConvergenceError`.
    n_bootstrap : int, default=0
        Bootstrap resamples for standard errors and percentile intervals (0: none).
    random_state : int or None, default=None
        Seed of the numpy Generator drawing the resamples.
    confidence : float, default=0.95
        Level of the percentile intervals.
    drop_incomplete : bool, default=False
        Leave out respondents with an empty answer (``n_dropped_`` counts them) instead of
        raising `ValidationError`.

    Attributes
    ----------
    weights_, loadings_, communality_, unstd_weights_ : pandas.Series indexed by item
    path_coefficients_, total_effects_ : pandas.DataFrame, construct x construct
        ``[i, j]``: effect of i on j.
    paths_ : pandas.DataFrame with columns from, to, coefficient
    r2_ : pandas.Series over the endogenous constructs
    blocks_ : pandas.DataFrame per construct: mode, items, ave, cronbach_alpha, dg_rho, r2
    gof_ : float
    index_ : pandas.Series, construct -> mean 0-100 score (only when the model has a scale)
    bootstrap_ : pandas.DataFrame or None
        One row per parameter: kind, name, estimate, boot_mean, se, ci_low, ci_high (the
        percentile interval at ``confidence``).
    bootstrap_draws_ : numpy.ndarray, (n_bootstrap, parameters)
        Each resample's estimates, in the row order of ``bootstrap_`` (only with bootstrap).
    n_iter_ : int
    n_, n_dropped_ : int
        Respondents used, and left out for empty answers.

    Notes
    -----
    Standardisation uses the n - 1 standard deviation (R's ``scale``, as semPLS does) and
    latent scores have unit n - 1 variance. Only the size of the outer weights depends on
    that choice: standardising with the n sd makes every item sqrt(n / (n - 1)) times larger
    and every weight sqrt((n - 1) / n) times smaller (1.002 for n = 250), while loadings, path
    coefficients, R², total effects and GoF are correlations or functions of them and do not
    change at all. With n - 1 throughout, the ECSI fit on mobi matches semPLS's printed path
    coefficients, R² and CUSL loadings to 6 decimals (largest difference 4e-7) and its GoF
    (0.4715) to 4; the tests check 4 decimals.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "model": [PathModel, None],
        "scheme": [Options(core.SCHEMES)],
        "standardize": [bool],
        "tol": [Interval(float, 0, None, closed="neither")],
        "max_iter": [Interval(int, 1, None)],
        "n_bootstrap": [Interval(int, 0, None)],
        "random_state": [Interval(int, 0, None), np.random.Generator, None],
        "confidence": [Interval(float, 0, 1, closed="neither")],
        "drop_incomplete": [bool],
    }

    def __init__(self, *, model: PathModel | None = None, scheme: str = "centroid",
                 standardize: bool = True, tol: float = 1e-10, max_iter: int = 300,
                 n_bootstrap: int = 0, random_state: int | None = None,
                 confidence: float = 0.95, drop_incomplete: bool = False):
        self.model = model
        self.scheme = scheme
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.confidence = confidence
        self.drop_incomplete = drop_incomplete

    # ------------------------------------------------------------------ fitting
    def _prepare(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Centre (and scale) the last-but-one axis; returns data, means, divisors."""
        mean = X.mean(axis=-2, keepdims=True)
        sd = X.std(axis=-2, ddof=1, keepdims=True)
        div = sd if self.standardize else np.ones_like(sd)
        return (X - mean) / div, mean, sd

    def fit(self, data: pd.DataFrame, y: Any = None, *, source: str = "data") -> PLSPathModel:
        """Estimate the model from one row per respondent and one column per item; returns
        ``self``. A bad setting raises `InvalidParameterError`."""
        self._validate_params()
        model = self.model if self.model is not None else PathModel.ecsi()
        X = model.check_data(data, source, drop_incomplete=self.drop_incomplete)
        n = X.shape[0]
        self.n_, self.n_dropped_ = n, len(data) - n
        if n < 3:
            raise InputError(f"{source}: PLS needs at least 3 respondents, got {n}")
        sd0 = X.std(axis=0, ddof=1)
        if np.any(sd0 == 0):
            flat = [it for it, s in zip(model.items, sd0, strict=True) if s == 0]
            raise InputError(f"{source}: item(s) {', '.join(flat)} have the same answer from "
                             "every respondent; drop them from the model")
        cindex = {c: k for k, c in enumerate(model.constructs)}
        self._s = core.Structure(
            block_of=np.array([cindex[c] for c, items in model.blocks.items() for _ in items]),
            modes=[model.mode(c) for c in model.constructs], adjacency=model.adjacency())
        self.model_ = model
        Xp, mean, sd = self._prepare(X[None])
        w, self.n_iter_, _ = core.fit_weights(Xp, self._s, self.scheme, self.tol, self.max_iter)
        est = core.estimates(Xp, w, self._s)
        self._cov = np.cov(Xp[0], rowvar=False)
        self.means_ = pd.Series(mean[0, 0], index=model.items)
        self.scales_ = pd.Series(sd[0, 0] if self.standardize else 1.0, index=model.items)
        self._store(model, w[0], est, sd[0, 0], mean[0, 0])
        self.bootstrap_ = self._bootstrap(X, est["loadings"][0]) if self.n_bootstrap else None
        return self

    def _store(self, model: PathModel, w: np.ndarray, est: dict, sd: np.ndarray,
               mean: np.ndarray) -> None:
        items, cons = model.items, model.constructs
        s = self._s
        self.weights_ = pd.Series(w, index=items, name="weight")
        lam = est["loadings"][0]
        self.loadings_ = pd.Series(lam, index=items, name="loading")
        self.communality_ = pd.Series(lam ** 2, index=items, name="communality")
        B = est["B"][0]
        self.path_coefficients_ = pd.DataFrame(B, index=cons, columns=cons)
        self.total_effects_ = pd.DataFrame(core.total_effects(B), index=cons, columns=cons)
        self.paths_ = pd.DataFrame(
            [(cons[i], cons[j], B[i, j]) for j in range(len(cons)) for i in range(len(cons))
             if s.adjacency[i, j]], columns=["from", "to", "coefficient"])
        endo = model.endogenous()
        self.r2_ = pd.Series(est["r2"][0], index=cons, name="r2")[endo]
        multi = np.bincount(s.block_of)[s.block_of] > 1
        # undefined (NaN) when every block has a single item
        self.gof_ = (float(np.sqrt(np.mean(lam[multi] ** 2) * self.r2_.mean()))
                     if multi.any() else float("nan"))
        self.unstd_weights_ = pd.Series(self._unstd(w[None], sd[None])[0], index=items,
                                        name="unstandardised_weight")
        rows = []
        for j, c in enumerate(cons):
            idx = np.flatnonzero(s.block_of == j)
            rows.append({"construct": c, "mode": s.modes[j], "items": idx.size,
                         "ave": float(np.mean(lam[idx] ** 2)),
                         "cronbach_alpha": self._alpha(idx),
                         "dg_rho": _dg_rho(lam[idx]),
                         "r2": float(self.r2_.get(c, np.nan))})
        self.blocks_ = pd.DataFrame(rows)
        if model.scale is not None:
            self.index_ = pd.Series(self._index(mean[None], self.unstd_weights_.to_numpy()[None],
                                                model.scale)[0], index=cons, name="index")
            self.blocks_["index"] = self.index_.to_numpy()
        else:
            self.index_ = None

    def _alpha(self, idx: np.ndarray) -> float:
        if idx.size < 2:
            return float("nan")  # undefined for a single item
        cov = self._cov[np.ix_(idx, idx)]
        k = idx.size
        return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))

    def _unstd(self, w: np.ndarray, sd: np.ndarray) -> np.ndarray:
        """Weights of the items in their own units, summing to one within each block."""
        raw = w / sd if self.standardize else w
        sums = np.zeros((w.shape[0], self._s.n_blocks))
        for j in range(self._s.n_blocks):
            sums[:, j] = raw[:, self._s.block_of == j].sum(axis=1)
        return raw / sums[:, self._s.block_of]

    def _index(self, mean: np.ndarray, uw: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
        lo, hi = scale
        out = np.zeros((uw.shape[0], self._s.n_blocks))
        for j in range(self._s.n_blocks):
            idx = self._s.block_of == j
            out[:, j] = (uw[:, idx] * mean[:, idx]).sum(axis=1)
        return 100 * (out - lo) / (hi - lo)

    # ------------------------------------------------------------------ bootstrap
    def _bootstrap(self, X: np.ndarray, lam0: np.ndarray) -> pd.DataFrame:
        model, s = self.model_, self._s
        rng = np.random.default_rng(self.random_state)
        idx = bootstrap_indices(X.shape[0], self.n_bootstrap, rng, X)
        draws: list[np.ndarray] = []
        n_failed = 0
        for start in range(0, self.n_bootstrap, 250):  # bounded memory
            Xb, mean, sd = self._prepare(X[idx[start:start + 250]])
            w, _, ok = core.fit_weights(Xb, s, self.scheme, self.tol, self.max_iter)
            n_failed += int((~ok).sum())
            Xb, w, mean, sd = Xb[ok], w[ok], mean[ok, 0], sd[ok, 0]
            est = core.estimates(Xb, w, s)
            # a construct's sign is arbitrary: align each with the full-sample loadings
            agree = np.zeros((w.shape[0], s.n_blocks))
            for j in range(s.n_blocks):
                m = s.block_of == j
                agree[:, j] = est["loadings"][:, m] @ lam0[m]
            flip = np.where(agree < 0, -1.0, 1.0)
            if (flip < 0).any():
                w = w * flip[:, s.block_of]
                est = core.estimates(Xb, w, s)
            parts = [est["B"][:, s.adjacency > 0], est["r2"][:, self._endo_idx()],
                     est["loadings"], w, core.total_effects(est["B"])[:, self._te_mask()]]
            if model.scale is not None:
                parts.append(self._index(mean, self._unstd(w, sd), model.scale))
            draws.append(np.concatenate(parts, axis=1))
        if n_failed:
            warnings.warn(f"{n_failed} of {self.n_bootstrap} bootstrap resamples did not "
                          "converge and were left out", SmallSampleWarning, stacklevel=3)
        D = np.concatenate(draws, axis=0)
        self.bootstrap_draws_ = D
        labels, estimate = self._parameters()
        a = (1 - self.confidence) / 2
        lo, hi = np.quantile(D, [a, 1 - a], axis=0)
        kinds, names = zip(*labels, strict=True)
        return pd.DataFrame({"kind": kinds, "name": names, "estimate": estimate,
                             "boot_mean": D.mean(axis=0), "se": D.std(axis=0, ddof=1),
                             "ci_low": lo, "ci_high": hi})

    def _endo_idx(self) -> list[int]:
        return [self.model_.constructs.index(c) for c in self.model_.endogenous()]

    def _te_mask(self) -> np.ndarray:
        te = core.total_effects(self._s.adjacency)  # reachability: nonzero where a route exists
        return te != 0

    def _parameters(self) -> tuple[list[tuple[str, str]], np.ndarray]:
        """Labels and full-sample values, in the order of the bootstrap draws."""
        cons = self.model_.constructs
        pc = self.path_coefficients_.to_numpy()
        te = self.total_effects_.to_numpy()
        ii, jj = np.nonzero(self._s.adjacency > 0)
        ti, tj = np.nonzero(self._te_mask())
        labels = [("path", f"{cons[i]} -> {cons[j]}") for i, j in zip(ii, jj, strict=True)]
        values = [pc[ii, jj], self.r2_.to_numpy(), self.loadings_.to_numpy(),
                  self.weights_.to_numpy(), te[ti, tj]]
        labels += [("r2", c) for c in self.r2_.index]
        labels += [("loading", i) for i in self.loadings_.index]
        labels += [("weight", i) for i in self.weights_.index]
        labels += [("total_effect", f"{cons[i]} -> {cons[j]}")
                   for i, j in zip(ti, tj, strict=True)]
        if self.index_ is not None:
            labels += [("index", c) for c in cons]
            values.append(self.index_.to_numpy())
        return labels, np.concatenate(values)

    # ------------------------------------------------------------------ using the fit
    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The path coefficients with bootstrap standard errors and intervals.

        One row per path: from, to, estimate (the full-sample coefficient), std_err (the
        standard deviation of the bootstrap draws, n - 1 divisor, as ``bootstrap_``'s se) and
        ci_low, ci_high: the bootstrap *percentile* interval at ``level`` (the (1 - level) / 2
        and (1 + level) / 2 quantiles of the draws, as ``bootstrap_`` at ``confidence``).
        Without bootstrap (``n_bootstrap=0``) std_err and the interval are NaN.
        """
        self._check_fitted()
        if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
            raise InvalidParameterError("The 'level' parameter of summary must be a float in "
                                        f"the range (0, 1). Got {level!r} instead.")
        out = self.paths_.rename(columns={"coefficient": "estimate"})
        names = [f"{a} -> {b}" for a, b in zip(out["from"], out["to"], strict=True)]
        if self.bootstrap_ is None:
            nan = np.full(len(out), np.nan)
            return out.assign(std_err=nan, ci_low=nan, ci_high=nan)
        labels, _ = self._parameters()
        column = {name: k for k, (kind, name) in enumerate(labels) if kind == "path"}
        draws = self.bootstrap_draws_[:, [column[n] for n in names]]
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        return out.assign(std_err=draws.std(axis=0, ddof=1), ci_low=lo, ci_high=hi)

    def to_frame(self) -> pd.DataFrame:
        """Every estimate in one long table: kind (path, r2, loading, weight, gof, index),
        name, estimate, and with bootstrap se, ci_low, ci_high (percentile, at
        ``confidence``); the table ``cvm survey index`` prints."""
        self._check_fitted()
        rows = [("path", f"{r['from']} -> {r['to']}", r["coefficient"])
                for r in self.paths_.to_dict(orient="records")]
        rows += [("r2", c, v) for c, v in self.r2_.items()]
        rows += [("loading", i, v) for i, v in self.loadings_.items()]
        rows += [("weight", i, v) for i, v in self.weights_.items()]
        rows += [("gof", "", self.gof_)]
        if self.index_ is not None:
            rows += [("index", c, v) for c, v in self.index_.items()]
        table = pd.DataFrame(rows, columns=["kind", "name", "estimate"])
        if self.bootstrap_ is not None:
            table = table.merge(self.bootstrap_[["kind", "name", "se", "ci_low", "ci_high"]],
                                on=["kind", "name"], how="left")
        return table

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        """Standardised latent scores of each respondent (fitted means, scales and weights)."""
        self._check_fitted()
        X = self.model_.check_data(data)
        Xp = (X - self.means_.to_numpy()) / self.scales_.to_numpy()
        Y = Xp @ (self.weights_.to_numpy()[:, None] * self._s.members())
        return pd.DataFrame(Y, index=data.index, columns=self.model_.constructs)

    def index_scores(self, data: pd.DataFrame) -> pd.DataFrame:
        """Each respondent's 0-100 score on each construct (needs a model scale)."""
        self._check_fitted()
        if self.model_.scale is None:
            raise InputError("the model has no [scale] (min and max answer), so no 0-100 index")
        X = self.model_.check_data(data)
        lo, hi = self.model_.scale
        score = X @ (self.unstd_weights_.to_numpy()[:, None] * self._s.members())
        return pd.DataFrame(100 * (score - lo) / (hi - lo), index=data.index,
                            columns=self.model_.constructs)

    def to_dict(self) -> dict[str, Any]:
        """The results as plain JSON-ready data (the ``cvm survey index`` output)."""
        self._check_fitted()
        out: dict[str, Any] = {
            "scheme": self.scheme, "standardized": self.standardize, "n_iter": self.n_iter_,
            "n": self.n_, "n_dropped": self.n_dropped_,
            "paths": self.paths_.to_dict(orient="records"),
            "r2": self.r2_.to_dict(), "loadings": self.loadings_.to_dict(),
            "weights": self.weights_.to_dict(),
            "unstandardized_weights": self.unstd_weights_.to_dict(), "gof": self.gof_,
            "index": None if self.index_ is None else self.index_.to_dict(),
            "blocks": self.blocks_.to_dict(orient="records"),
            "total_effects": [
                {"from": i, "to": j, "effect": float(v)}
                for i, row in self.total_effects_.iterrows() for j, v in row.items() if v != 0],
        }
        if self.bootstrap_ is not None:
            out["bootstrap"] = self.bootstrap_.to_dict(orient="records")
        return to_jsonable(out)


def _dg_rho(lam: np.ndarray) -> float:
    if lam.size < 2:
        return float("nan")  # undefined for a single item
    s = lam.sum() ** 2
    return float(s / (s + np.sum(1 - lam ** 2)))
