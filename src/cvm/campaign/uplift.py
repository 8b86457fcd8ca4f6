"""Whom to target next time: a model of each customer's uplift (the effect of the campaign
on that customer's outcome), learned from a randomised campaign, and its Qini curve.

Two ways (Gutierrez & Gerardy 2017, "Causal inference and uplift modelling: a review of
the literature", PMLR 67):

- ``two_model``: one model of the outcome on the treated, one on the control; the uplift
  is the difference of their predictions.
- ``transformed``: one regression of the transformed outcome
  z = y (w - e) / (e (1 - e)), with w = 1 for treated and e the treated share; in a
  randomised campaign E[z | x] is the uplift at x (Athey & Imbens 2015, "Machine learning
  methods for estimating heterogeneous causal effects").

The learner is scikit-learn's histogram gradient boosting or a linear model (logistic for
a 0/1 outcome in the two-model way, ridge otherwise). How well it ranks customers is
judged out of fold: each customer's uplift is predicted by models fitted without them
(``folds``-fold cross-fitting), customers are ranked by it, and the Qini curve
(Radcliffe 2007, "Using control groups to target on predicted lift") gives, for the top
share targeted, the incremental outcomes Q = Y_t - Y_c N_t / N_c (Y the sum of outcomes
and N the count of treated t and control c customers among them), against targeting at
random, the straight line to the same end. The models kept are fitted on all rows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from cvm._estimator import Estimator, Interval, Options
from cvm.campaign.randomised import compare_mean_stats, compare_rates
from cvm.errors import InputError

__all__ = ["UpliftModel", "qini_curve", "qini_coefficient"]

#: most categories of a text feature one-hot encoded (the most frequent; others: none)
MAX_CATEGORIES = 30
#: random rankings the model's Qini coefficient is compared with
RANDOM_RANKINGS = 199


def qini_curve(score: np.ndarray, treated: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """The Qini curve of ranking customers by ``score`` (highest first): after each block of
    equal scores, the ``fraction`` and number ``targeted``, ``incremental`` outcomes
    Q = Y_t - Y_c N_t / N_c (Y_t when no control customer is among them yet), and
    ``random``, what targeting the same fraction at random gets on average. Starts at 0."""
    score = np.asarray(score, dtype=float)
    w = np.asarray(treated, dtype=float)
    y = np.asarray(y, dtype=float)
    order = np.argsort(-score, kind="stable")
    s, w, y = score[order], w[order], y[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), s.size - 1]  # last row of each tie block
    nt, nc = np.cumsum(w)[ends], np.cumsum(1 - w)[ends]
    yt, yc = np.cumsum(y * w)[ends], np.cumsum(y * (1 - w))[ends]
    ratio = np.divide(nt, nc, out=np.zeros_like(nt), where=nc > 0)
    q = yt - yc * ratio
    k = ends + 1
    fraction = k / s.size
    return pd.DataFrame({"fraction": np.r_[0.0, fraction], "targeted": np.r_[0, k],
                         "incremental": np.r_[0.0, q],
                         "random": np.r_[0.0, fraction * q[-1]]})


def qini_coefficient(curve: pd.DataFrame) -> float:
    """Area between the Qini curve and the random line, per customer of the whole base
    (incremental outcomes / customers, integrated over the share targeted): 0 for a ranking
    no better than random, positive when the model finds those who respond."""
    n = float(curve["targeted"].iloc[-1])
    gain = (curve["incremental"] - curve["random"]).to_numpy() / n
    x = curve["fraction"].to_numpy()
    return float(np.sum((gain[1:] + gain[:-1]) / 2 * np.diff(x)))


class UpliftModel(Estimator):
    """Predicted uplift per customer from a randomised campaign.

    Parameters
    ----------
    method : {"two_model", "transformed"}, default="two_model"
        Two outcome models, or one regression of the transformed outcome.
    learner : {"boosting", "linear"}, default="boosting"
        Histogram gradient boosting, or a logistic / ridge model on standardised features.
    folds : int in [2, 20], default=5
        Cross-fitting folds for the out-of-fold Qini curve and uplift groups.
    groups : int in [2, 20], default=5
        Groups of equal size by predicted uplift (group 1: the highest) whose observed
        uplift `summary` shows.
    random_state : int >= 0, default=0
        Seed of the folds, the learners and the random rankings.
    threads : int >= 1 or None, default=1
        Threads of the boosting learner (None: all cores). One is fastest for tables of
        some thousands of rows, on a busy machine above all.

    After `fit`: ``qini_`` (the out-of-fold curve), ``qini_coefficient_``,
    ``random_qini_`` (the 95th percentile of the coefficient over `RANDOM_RANKINGS` random
    rankings of the same customers) and ``qini_p_value_`` (the share of them reaching the
    model's: a permutation test of "no better than random"), ``binary_``,
    ``treated_share_``, ``features_`` and ``models_``.
    """

    _parameter_constraints: ClassVar[dict[str, list]] = {
        "method": [Options(("two_model", "transformed"))],
        "learner": [Options(("boosting", "linear"))],
        "folds": [Interval(int, 2, 20)],
        "groups": [Interval(int, 2, 20)],
        "random_state": [Interval(int, 0, None)],
        "threads": [Interval(int, 1, None), None],
    }

    def __init__(self, *, method: str = "two_model", learner: str = "boosting", folds: int = 5,
                 groups: int = 5, random_state: int = 0, threads: int | None = 1):
        self.method = method
        self.learner = learner
        self.folds = folds
        self.groups = groups
        self.random_state = random_state
        self.threads = threads

    # -- features -----------------------------------------------------------------------
    def _learn_encoding(self, x: pd.DataFrame) -> None:
        numeric, categories = [], {}
        for col in x.columns:
            values = x[col]
            if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                numeric.append(col)
                continue
            text = values.astype("string").str.strip()
            as_num = pd.to_numeric(text.where(text != ""), errors="coerce")
            if (as_num.notna() | text.isna() | (text == "")).all() and as_num.notna().any():
                numeric.append(col)
            else:
                counts = text.fillna("").value_counts()
                categories[col] = list(counts.index[:MAX_CATEGORIES])
        self.numeric_features_ = numeric
        self.categories_ = categories

    def _matrix(self, x: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features_ if c not in x.columns]
        if missing:
            raise InputError(f"the table lacks feature column(s) the model needs: "
                             f"{', '.join(map(str, missing))}")
        parts = []
        for col in self.numeric_features_:
            text = x[col] if pd.api.types.is_numeric_dtype(x[col]) else \
                x[col].astype("string").str.strip().replace("", pd.NA)
            parts.append(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)[:, None])
        for col, cats in self.categories_.items():
            text = x[col].astype("string").str.strip().fillna("").to_numpy()
            parts.append((text[:, None] == np.array(cats, dtype=object)[None, :]).astype(float))
        return np.hstack(parts) if parts else np.empty((len(x), 0))

    # -- learners -----------------------------------------------------------------------
    def _model(self, classify: bool):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.impute import SimpleImputer
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.learner == "boosting":
            kw = dict(max_iter=150, learning_rate=0.05, max_leaf_nodes=15,
                      min_samples_leaf=40, l2_regularization=1.0,
                      random_state=self.random_state)
            return (HistGradientBoostingClassifier(**kw) if classify
                    else HistGradientBoostingRegressor(**kw))
        last = LogisticRegression(max_iter=2000) if classify else Ridge(alpha=1.0)
        return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), last)

    def _threads(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.threads, user_api="openmp")

    def _fit_models(self, x, w, y) -> tuple:
        with self._threads():
            return self._fit_each(x, w, y)

    def _fit_each(self, x, w, y) -> tuple:
        if self.method == "two_model":
            out = []
            for arm in (1, 0):
                m = self._model(self.binary_)
                yy = y[w == arm]
                if self.binary_ and np.unique(yy).size < 2:
                    raise InputError(f"every {'treated' if arm else 'control'} customer has "
                                     f"outcome {yy[0]:g}; a two-model uplift needs both 0 and "
                                     "1 in each group (try --method transformed)")
                out.append(m.fit(x[w == arm], yy))
            return tuple(out)
        e = self.treated_share_
        z = y * (w - e) / (e * (1 - e))
        return (self._model(False).fit(x, z),)

    def _predict(self, models: tuple, x: np.ndarray) -> np.ndarray:
        with self._threads():
            return self._predict_each(models, x)

    def _predict_each(self, models: tuple, x: np.ndarray) -> np.ndarray:
        if self.method == "transformed":
            return models[0].predict(x)
        if self.binary_:
            return models[0].predict_proba(x)[:, 1] - models[1].predict_proba(x)[:, 1]
        return models[0].predict(x) - models[1].predict(x)

    # -- fit ----------------------------------------------------------------------------
    def fit(self, x: pd.DataFrame, treated: Any, y: Any) -> UpliftModel:
        """Learn from a randomised campaign: features ``x`` (a DataFrame, numbers or text),
        ``treated`` (1 for customers of the arm, 0 for the control) and the outcome ``y``
        (0/1, or a number such as spend)."""
        from sklearn.model_selection import StratifiedKFold

        self._validate_params()
        x = pd.DataFrame(x).reset_index(drop=True)
        w = np.asarray(treated, dtype=float)
        y = np.asarray(y, dtype=float)
        if not (len(x) == w.size == y.size):
            raise InputError(f"x, treated and y differ in length: {len(x)}, {w.size}, {y.size}")
        if not np.isin(w, (0.0, 1.0)).all():
            raise InputError("treated must be 1 (the arm) or 0 (the control) for every row")
        if not np.isfinite(y).all():
            raise InputError("the outcome is missing for some rows; leave them out first")
        if x.shape[1] == 0:
            raise InputError("no feature columns to learn from")
        n1, n0 = int(w.sum()), int((1 - w).sum())
        if min(n1, n0) < 5 * self.folds:
            raise InputError(f"{n1} treated and {n0} control customers: too few for "
                             f"{self.folds}-fold cross-fitting (need {5 * self.folds} of each)")
        self.features_ = list(x.columns)
        self._learn_encoding(x)
        self.binary_ = bool(np.isin(y, (0.0, 1.0)).all())
        self.treated_share_ = n1 / w.size
        m = self._matrix(x)

        strata = w * 2 + (y if self.binary_ else (y > np.median(y)))
        if np.unique(strata, return_counts=True)[1].min() < self.folds:
            strata = w  # a rare outcome in one arm: keep the arms' shares per fold only
        folds = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        oof = np.empty(w.size)
        for train, test in folds.split(m, strata):
            oof[test] = self._predict(self._fit_models(m[train], w[train], y[train]), m[test])
        self.qini_ = qini_curve(oof, w, y)
        self.qini_coefficient_ = qini_coefficient(self.qini_)
        rng = np.random.default_rng(self.random_state)
        null = np.array([qini_coefficient(qini_curve(rng.permutation(w.size).astype(float),
                                                     w, y))
                         for _ in range(RANDOM_RANKINGS)])
        self.random_qini_ = float(np.quantile(null, 0.95))
        self.qini_p_value_ = float((1 + np.sum(null >= self.qini_coefficient_))
                                   / (1 + RANDOM_RANKINGS))
        self.group_stats_ = self._group_stats(oof, w, y)
        self.models_ = self._fit_models(m, w, y)
        return self

    def _group_stats(self, score, w, y) -> pd.DataFrame:
        """Per group by predicted uplift (and all customers): counts, means, variances."""
        rank = np.argsort(np.argsort(-score, kind="stable"), kind="stable")
        group = rank * self.groups // score.size + 1
        rows = []
        share = 100 / self.groups
        for g in [0, *range(1, self.groups + 1)]:
            sel = np.ones(score.size, bool) if g == 0 else group == g
            a, b = y[sel & (w == 1)], y[sel & (w == 0)]
            term = ("all customers" if g == 0 else
                    f"group {g} (top {share * (g - 1):g}-{share * g:g}%)")
            rows.append({"term": term, "predicted": float(np.mean(score[sel])),
                         "n": a.size, "control_n": b.size,
                         "mean": a.mean() if a.size else np.nan,
                         "control_mean": b.mean() if b.size else np.nan,
                         "var": a.var(ddof=1) if a.size > 1 else np.nan,
                         "control_var": b.var(ddof=1) if b.size > 1 else np.nan})
        return pd.DataFrame(rows)

    # -- use ----------------------------------------------------------------------------
    def predict(self, x: pd.DataFrame) -> np.ndarray:
        """Predicted uplift of each row of ``x`` (the arm's effect on its outcome)."""
        self._check_fitted()
        return self._predict(self.models_, self._matrix(pd.DataFrame(x)))

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """The observed uplift (arm mean - control mean) among all customers and within each
        group of predicted uplift (out of fold), with its interval at ``level``: a model
        that ranks well shows a high uplift in group 1 and a low one in the last group."""
        self._check_fitted()
        rows = []
        for r in self.group_stats_.itertuples():
            if r.n < 2 or r.control_n < 2:
                est = {"difference": np.nan, "std_err": np.nan, "ci_low": np.nan,
                       "ci_high": np.nan, "p_value": np.nan}
            elif self.binary_:
                est = compare_rates(round(r.mean * r.n), r.n, round(r.control_mean * r.control_n),
                                    r.control_n, level)
            else:
                est = compare_mean_stats(r.n, r.mean, r.var, r.control_n, r.control_mean,
                                         r.control_var, level)
            rows.append({"term": r.term, "predicted": r.predicted, "n": r.n,
                         "control_n": r.control_n, "mean": r.mean,
                         "control_mean": r.control_mean,
                         "estimate": float(est["difference"]),
                         **{k: float(est[k]) for k in ("std_err", "ci_low", "ci_high",
                                                       "p_value")}})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Settings, what was learned (features, Qini coefficient against random) and the
        summary, JSON-ready."""
        self._check_fitted()
        return {"model": type(self).__name__, "params": self.get_params(),
                "features": [str(f) for f in self.features_], "binary": self.binary_,
                "treated_share": self.treated_share_,
                "qini_coefficient": self.qini_coefficient_,
                "random_qini_95th_percentile": self.random_qini_,
                "qini_p_value": self.qini_p_value_,
                "summary": self.summary().to_dict("records")}
