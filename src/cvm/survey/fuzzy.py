"""Fuzzy comprehensive evaluation: a grade for a service from survey grade counts and weights.

For factors ``u_1..u_m`` with weights ``A = (a_1..a_m)`` and grades ``v_1..v_k`` (e.g.
excellent, good, fair, poor), the membership matrix ``R`` has ``r_ij`` = share of respondents
who gave factor i grade j. The evaluation vector ``B = A o R`` uses one of four composition
operators (Zadeh's max-min and its arithmetic relatives; Wang P.Z. 1983, *Fuzzy Set Theory
and its Applications*; the usual four in Chinese textbooks on 模糊综合评价):

=============  ====================================  =======================================
operator       b_j                                   character
=============  ====================================  =======================================
``M(^,v)``     max_i min(a_i, r_ij)                  main factor decides; loses information
``M(.,v)``     max_i a_i r_ij                        main factor prominent
``M(^,+)``     min(1, sum_i min(a_i, r_ij))          bounded sum of capped memberships
``M(.,+)``     min(1, sum_i a_i r_ij)                weighted average; uses all information
=============  ====================================  =======================================

``B`` is normalised to sum 1; the grade is the maximum-membership one and the score is
``sum_j b_j s_j`` for grade scores ``s``. Two levels: each first-level factor's B (from its
sub-factors) becomes its row of the top-level R.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cvm.errors import InputError

__all__ = ["OPERATORS", "FuzzyComparison", "FuzzyResult", "compare_operators", "compose",
           "fuzzy_evaluation", "fuzzy_inputs", "fuzzy_two_level", "membership_matrix"]

OPERATORS = ("M(^,v)", "M(.,v)", "M(^,+)", "M(.,+)")
_ALIASES = {"M(∧,∨)": "M(^,v)", "M(·,∨)": "M(.,v)", "M(∧,⊕)": "M(^,+)", "M(·,⊕)": "M(.,+)",
            "maxmin": "M(^,v)", "weighted": "M(.,+)"}


@dataclass(frozen=True)
class FuzzyResult:
    """Evaluation vector (raw and normalised), maximum-membership grade and weighted score."""

    b: pd.Series
    b_normalised: pd.Series
    grade: str
    score: float | None
    operator: str

    def to_dict(self) -> dict:
        return {"operator": self.operator, "b": self.b.to_dict(),
                "b_normalised": self.b_normalised.to_dict(), "grade": self.grade,
                "score": self.score}


def membership_matrix(counts: pd.DataFrame) -> pd.DataFrame:
    """Row shares of a factors x grades table of counts (each row sums to 1)."""
    c = counts.astype(float)
    if (c.to_numpy() < 0).any() or c.isna().to_numpy().any():
        r, k = np.argwhere((c.to_numpy() < 0) | c.isna().to_numpy())[0]
        raise InputError(f"count for factor '{c.index[r]}', grade '{c.columns[k]}' is "
                         f"{c.iat[r, k]}; counts must be numbers >= 0")
    totals = c.sum(axis=1)
    if (totals == 0).any():
        raise InputError(f"factor '{totals.index[np.argmax(totals.to_numpy() == 0)]}' has no "
                         "answers; drop it or give it counts")
    return c.div(totals, axis=0)


def _operator(name: str) -> str:
    op = _ALIASES.get(name, name)
    if op not in OPERATORS:
        raise InputError(f"unknown composition operator {name!r}; use one of {OPERATORS} "
                         "(or M(∧,∨), M(·,∨), M(∧,⊕), M(·,⊕))")
    return op


def compose(a: np.ndarray, r: np.ndarray, operator: str = "M(.,+)") -> np.ndarray:
    """``B = A o R`` with one of the four operators (see the module docstring)."""
    a, r = np.asarray(a, float), np.asarray(r, float)
    op = _operator(operator)
    pairs = np.minimum(a[:, None], r) if op[2] == "^" else a[:, None] * r
    return pairs.max(axis=0) if op[4] == "v" else np.minimum(1.0, pairs.sum(axis=0))


def _weights(weights, factors: Sequence[str]) -> np.ndarray:
    if isinstance(weights, Mapping):
        missing = [f for f in factors if f not in weights]
        extra = [f for f in weights if f not in factors]
        if missing or extra:
            raise InputError(f"weights and factors differ: no weight for {missing}, weights for "
                             f"unknown factors {extra}")
        w = np.array([weights[f] for f in factors], float)
    else:
        w = np.asarray(weights, float)
        if w.shape != (len(factors),):
            raise InputError(f"{w.size} weights for {len(factors)} factors")
    if (w < 0).any() or w.sum() <= 0:
        raise InputError("factor weights must be >= 0 with a positive sum")
    return w / w.sum()


def fuzzy_evaluation(weights, counts: pd.DataFrame, grade_scores: Sequence[float] | None = None,
                     operator: str = "M(.,+)", *, shares: bool = False) -> FuzzyResult:
    """One-level evaluation from factor weights and factors x grades counts (or shares).

    ``grade_scores`` (one per grade, e.g. 95, 80, 65, 40) give the weighted score
    ``sum_j b_j s_j`` of the normalised B; without them the score is None.
    """
    r = counts.astype(float) if shares else membership_matrix(counts)
    a = _weights(weights, [str(f) for f in r.index])
    b = compose(a, r.to_numpy(), operator)
    total = b.sum()
    if total <= 0:
        raise InputError("the evaluation vector is all zero; check weights and memberships")
    grades = [str(g) for g in r.columns]
    bn = b / total
    score = None
    if grade_scores is not None:
        s = np.asarray(grade_scores, float)
        if s.shape != (len(grades),):
            raise InputError(f"{s.size} grade scores for {len(grades)} grades {grades}")
        score = float(bn @ s)
    return FuzzyResult(pd.Series(b, index=grades), pd.Series(bn, index=grades),
                       grades[int(np.argmax(b))], score, _operator(operator))


def fuzzy_two_level(weights, sub: Mapping[str, tuple], grade_scores=None,
                    operator: str = "M(.,+)") -> tuple[FuzzyResult, dict[str, FuzzyResult]]:
    """Two-level evaluation: ``sub[factor] = (sub-factor weights, sub-factor x grade counts)``.

    Each factor's normalised B is its row of the top-level membership matrix. Returns the
    overall result and each factor's.
    """
    factors = list(weights) if isinstance(weights, Mapping) else list(sub)
    missing = [f for f in factors if f not in sub]
    if missing:
        raise InputError(f"no sub-factors given for {missing}")
    first = {f: fuzzy_evaluation(sub[f][0], sub[f][1], grade_scores, operator) for f in factors}
    grades = list(first[factors[0]].b.index)
    for f in factors:
        if list(first[f].b.index) != grades:
            raise InputError(f"factor '{f}' uses grades {list(first[f].b.index)}, others "
                             f"{grades}; all must use the same grades")
    top = pd.DataFrame([first[f].b_normalised for f in factors], index=factors)
    return fuzzy_evaluation(weights, top, grade_scores, operator, shares=True), first


def fuzzy_inputs(counts: pd.DataFrame, weights: pd.DataFrame | None = None, *,
                 source: str = "counts", weights_source: str = "weights"
                 ) -> tuple[dict, pd.DataFrame]:
    """Factor weights and the factors x grades counts from the tables a person gives.

    ``counts``: factors as the index, one column of counts per grade (best first) and
    optionally a ``weight`` column; ``weights``: a (factor, weight) table such as the output
    of `cvm.survey.ahp` (it wins over the ``weight`` column). ``source`` and
    ``weights_source`` name the tables in errors.
    """
    counts = counts.copy()
    counts.index = counts.index.astype(str)
    if weights is not None:
        if weights.shape[1] < 2:
            raise InputError(f"{weights_source}: expected two columns, factor and weight (e.g. "
                             "the --out of `cvm survey ahp`)")
        w = dict(zip(weights.iloc[:, 0].astype(str), weights.iloc[:, 1], strict=True))
        if "weight" in counts.columns:
            counts = counts.drop(columns="weight")
    elif "weight" in counts.columns:
        w = counts.pop("weight").to_dict()
    else:
        raise InputError(f"{source}: no 'weight' column; add one or give --weights FILE "
                         "(factor, weight)")
    bad = [c for c in counts.columns if not pd.api.types.is_numeric_dtype(counts[c])]
    if bad:
        raise InputError(f"{source}: grade column(s) {bad} hold non-numbers; each cell "
                         "is how many respondents gave the factor that grade")
    return w, counts


@dataclass(frozen=True)
class FuzzyComparison:
    """The membership matrix and the evaluation under each of several operators."""

    membership: pd.DataFrame
    results: list[FuzzyResult]

    def table(self) -> pd.DataFrame:
        """One row per operator: operator, normalised b per grade, grade, score."""
        return pd.DataFrame([{"operator": r.operator, **r.b_normalised.to_dict(),
                              "grade": r.grade, "score": r.score} for r in self.results])

    def to_dict(self) -> dict:
        return {"membership": self.membership.to_dict(orient="index"),
                "results": [r.to_dict() for r in self.results]}


def compare_operators(weights, counts: pd.DataFrame, grade_scores: Sequence[float] | None = None,
                      operators: Sequence[str] | None = None, *,
                      shares: bool = False) -> FuzzyComparison:
    """`fuzzy_evaluation` under each of ``operators`` (default all four), side by side."""
    results = [fuzzy_evaluation(weights, counts, grade_scores, op, shares=shares)
               for op in (operators or OPERATORS)]
    membership = counts.astype(float) if shares else membership_matrix(counts)
    return FuzzyComparison(membership, results)
