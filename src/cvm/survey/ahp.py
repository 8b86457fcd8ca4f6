"""Analytic hierarchy process: weights from pairwise comparisons, with a consistency check.

A judge compares criteria two at a time on Saaty's 1-9 scale: ``a_ij`` says how many times
more important i is than j, with ``a_ji = 1 / a_ij`` and ``a_ii = 1``. Weights are

* the principal right eigenvector of A, normalised to sum 1 (Saaty 1980), or
* the normalised geometric means of the rows, ``w_i ~ (prod_j a_ij)^(1/n)``.

``lambda_max`` is the principal eigenvalue (for the geometric-mean weights, the mean of
``(A w)_i / w_i``); ``CI = (lambda_max - n) / (n - 1)``, ``CR = CI / RI(n)`` with Saaty's
1980 random index; judgements are accepted when CR < 0.10. When they are not, the most
inconsistent pair is the one whose judgement is furthest from the weights' ratio,
``max |log(a_ij w_j / w_i)|``.

Missing judgements (NaN, both a_ij and a_ji unknown) are completed by Harker's method: the
weights are the principal eigenvector of C with ``c_ij = a_ij`` for known pairs, 0 for
missing ones and ``c_ii = 1 + m_i`` (m_i the number of missing judgements in row i), and the
missing a_ij become w_i / w_j (Harker 1987, "Incomplete pairwise comparisons in the analytic
hierarchy process", Mathematical Modelling 9(11), 837-848).

References
----------
Saaty T.L. (1980). The Analytic Hierarchy Process. McGraw-Hill.
Saaty T.L. (2008). Decision making with the analytic hierarchy process. Int. J. Services
Sciences 1(1), 83-98.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvm.errors import InconsistentJudgementsWarning, InputError

__all__ = ["RANDOM_INDEX", "AHPResult", "ahp", "ahp_hierarchy", "complete_harker",
           "read_matrix"]

#: Saaty's (1980) random consistency index by matrix order n (0 for n <= 2).
RANDOM_INDEX = {1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41,
                9: 1.45, 10: 1.49, 11: 1.51}
MAX_CR = 0.10
_RECIPROCAL_RTOL = 0.02  # 0.33 for 1/3 is a reciprocal


@dataclass(frozen=True)
class AHPResult:
    """Weights and consistency of one pairwise-comparison matrix."""

    weights: pd.Series
    lambda_max: float
    ci: float
    ri: float
    cr: float
    method: str
    matrix: pd.DataFrame  # completed when judgements were missing
    completed: tuple[tuple[str, str], ...]  # pairs filled in by Harker's method
    most_inconsistent: tuple[str, str, float, float] | None  # i, j, judged a_ij, w_i/w_j

    @property
    def consistent(self) -> bool:
        return self.cr < MAX_CR

    def to_dict(self) -> dict:
        return {"method": self.method, "weights": self.weights.to_dict(),
                "lambda_max": self.lambda_max, "ci": self.ci, "ri": self.ri, "cr": self.cr,
                "consistent": self.consistent,
                "completed": [list(p) for p in self.completed],
                "most_inconsistent": None if self.most_inconsistent is None else dict(
                    zip(("a", "b", "judged", "implied"), self.most_inconsistent, strict=True))}


def _principal(a: np.ndarray) -> tuple[float, np.ndarray]:
    vals, vecs = np.linalg.eig(a)
    k = int(np.argmax(vals.real))
    v = np.abs(vecs[:, k].real)
    return float(vals[k].real), v / v.sum()


def _check(a: np.ndarray, labels: Sequence[str]) -> None:
    n = len(labels)
    if a.shape != (n, n):
        raise InputError(f"a pairwise-comparison matrix must be square with one row and column "
                         f"per criterion; got shape {a.shape} for {n} labels")
    for i in range(n):
        for j in range(n):
            v = a[i, j]
            if np.isnan(v):
                if i == j:
                    raise InputError(f"cell ({labels[i]}, {labels[j]}) on the diagonal is "
                                     "empty; it must be 1")
                continue
            if not v > 0 or not np.isfinite(v):
                raise InputError(f"cell ({labels[i]}, {labels[j]}) is {v:g}; judgements must "
                                 "be positive numbers (1/9 .. 9), or empty when missing")
            if i == j and abs(v - 1) > 1e-9:
                raise InputError(f"cell ({labels[i]}, {labels[j]}) on the diagonal is {v:g}; "
                                 "a criterion compared with itself must be 1")
    for i in range(n):
        for j in range(i + 1, n):
            v, back = a[i, j], a[j, i]
            if not (np.isnan(v) or np.isnan(back)) and abs(v * back - 1) > _RECIPROCAL_RTOL:
                raise InputError(
                    f"cells ({labels[i]}, {labels[j]}) = {v:g} and ({labels[j]}, {labels[i]}) = "
                    f"{a[j, i]:g} are not reciprocal; expected ({labels[j]}, {labels[i]}) = "
                    f"1/{v:g} = {1 / v:.4g}")


def complete_harker(a: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray,
                                                                    list[tuple[str, str]]]:
    """Harker's completion: (completed matrix, weights, filled pairs)."""
    a = a.copy()
    n = len(labels)
    upper = [(i, j) for i in range(n) for j in range(i + 1, n)]
    for i, j in upper:  # one side given: the other is its reciprocal
        if np.isnan(a[i, j]) and not np.isnan(a[j, i]):
            a[i, j] = 1 / a[j, i]
        elif np.isnan(a[j, i]) and not np.isnan(a[i, j]):
            a[j, i] = 1 / a[i, j]
    missing = np.isnan(a)
    filled = [(labels[i], labels[j]) for i, j in upper if missing[i, j]]
    if not filled:
        return a, _principal(a)[1], []
    known = ~missing
    reach = known.astype(int)  # connectivity of the comparison graph
    for _ in range(n):
        reach = ((reach @ known.astype(int)) > 0).astype(int) | reach
    if not reach[0].all():
        lone = [labels[k] for k in range(n) if not reach[0, k]]
        raise InputError(f"criteria {lone} are not compared, directly or through others, with "
                         f"'{labels[0]}'; give at least one judgement linking them")
    c = np.where(missing, 0.0, a)
    c[np.diag_indices(n)] = 1 + missing.sum(axis=1)
    _, w = _principal(c)
    a[missing] = (w[:, None] / w[None, :])[missing]
    return a, w, filled


def ahp(matrix, labels: Sequence[str] | None = None, *, method: str = "eigenvector",
        max_cr: float = MAX_CR, source: str = "matrix") -> AHPResult:
    """Weights, lambda_max, CI and CR of a pairwise-comparison matrix.

    Parameters
    ----------
    matrix : array-like or DataFrame (n, n)
        Judgements; NaN where missing. A DataFrame's index gives the labels.
    method : {"eigenvector", "geometric"}
    max_cr : float, default=0.10
        A consistency ratio at or above it raises an `InconsistentJudgementsWarning` naming
        the most inconsistent pair.
    """
    if method not in ("eigenvector", "geometric"):
        raise InputError(f"method must be 'eigenvector' or 'geometric', got {method!r}")
    if isinstance(matrix, pd.DataFrame):
        labels = labels or [str(x) for x in matrix.index]
        matrix = matrix.to_numpy(dtype=float)
    a = np.asarray(matrix, dtype=float)
    labels = list(labels) if labels is not None else [f"c{k + 1}" for k in range(len(a))]
    _check(a, labels)
    n = len(labels)
    a, w, filled = complete_harker(a, labels)
    if method == "geometric":
        g = np.exp(np.log(a).mean(axis=1))
        w = g / g.sum()
        lam = float(np.mean(a @ w / w))
    else:
        lam, w = _principal(a)
    # lambda_max >= n for a positive reciprocal matrix (Perron); clip rounding below it
    ci = max((lam - n) / (n - 1), 0.0) if n > 2 else 0.0
    ri = RANDOM_INDEX.get(n)
    if ri is None:
        raise InputError(f"{n} criteria: Saaty's random index is tabulated for n <= 11; split "
                         "the criteria into a hierarchy")
    cr = ci / ri if ri > 0 else 0.0
    worst = None
    if n > 2:
        dev = np.abs(np.log(a * w[None, :] / w[:, None]))
        i, j = np.unravel_index(int(np.argmax(dev)), dev.shape)
        i, j = (i, j) if a[i, j] >= 1 else (j, i)
        worst = (labels[i], labels[j], float(a[i, j]), float(w[i] / w[j]))
    if cr >= max_cr:
        warnings.warn(
            f"{source}: consistency ratio {cr:.3f} >= {max_cr:.2f}; the judgements are not "
            f"consistent enough. Most inconsistent pair: {worst[0]} vs {worst[1]}, judged "
            f"{worst[2]:.3g} but the weights imply {worst[3]:.3g}; revisit that comparison "
            "first.", InconsistentJudgementsWarning, stacklevel=2)
    return AHPResult(pd.Series(w, index=labels, name="weight"), lam, float(ci), float(ri),
                     float(cr), method, pd.DataFrame(a, index=labels, columns=labels),
                     tuple(filled), worst)


def ahp_hierarchy(criteria: AHPResult, sub: Mapping[str, AHPResult]) -> pd.DataFrame:
    """Global weights of a two-level hierarchy: criterion weight x local sub-criterion weight.

    Criteria without sub-criteria are leaves with local weight 1. Columns: criterion,
    sub_criterion, criterion_weight, local_weight, global_weight (summing to 1).
    """
    unknown = sorted(set(sub) - set(criteria.weights.index))
    if unknown:
        raise InputError(f"sub-criteria given for {unknown}, which are not criteria; criteria "
                         f"are {list(criteria.weights.index)}")
    rows = []
    for crit, cw in criteria.weights.items():
        local = sub[crit].weights if crit in sub else pd.Series({crit: 1.0})
        for name, lw in local.items():
            rows.append((crit, name, float(cw), float(lw), float(cw * lw)))
    return pd.DataFrame(rows, columns=["criterion", "sub_criterion", "criterion_weight",
                                       "local_weight", "global_weight"])


def read_matrix(path) -> pd.DataFrame:
    """Read a CSV with criterion labels in the header and first column; ``1/3`` allowed."""
    try:
        raw = pd.read_csv(path, index_col=0, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    if [str(c) for c in raw.columns] != [str(i) for i in raw.index]:
        raise InputError(f"{path}: the header {list(raw.columns)} and the first column "
                         f"{list(raw.index)} must list the same criteria in the same order")
    out = pd.DataFrame(np.nan, index=raw.index.astype(str), columns=raw.columns.astype(str))
    for i, row in enumerate(raw.itertuples(index=False)):
        for j, cell in enumerate(row):
            out.iat[i, j] = _number(cell.strip(), path, raw.index[i], raw.columns[j])
    return out


def _number(text: str, path, row: str, col: str) -> float:
    if text in ("", "NA", "nan", "?"):
        return np.nan
    try:
        if "/" in text:
            num, den = text.split("/")
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        raise InputError(f"{path}: cell ({row}, {col}) is {text!r}; expected a number such as "
                         "3, 0.2 or 1/5, or empty when missing") from None
