"""Net Promoter Score with its sampling error, group comparisons and monthly trend.

Each 0-10 answer to "how likely are you to recommend us" becomes a score
``s = +1`` (promoter, 9-10), ``0`` (passive, 7-8) or ``-1`` (detractor, 0-6); the NPS is
``100 * mean(s) = 100 (p_P - p_D)``. Its standard error is that of a mean of ``s``,

    SE = 100 * sqrt((p_P + p_D - (p_P - p_D)^2) / n),

(the variance of s with the n divisor, as a multinomial proportion difference), and the
interval is ``NPS +/- z SE``. Two independent groups differ by ``z = (NPS_1 - NPS_2) /
sqrt(SE_1^2 + SE_2^2)`` (Rocks 2016, "Confidence intervals for the Net Promoter Score";
Reichheld 2003, "The one number you need to grow", Harvard Business Review 81(12)).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cvm.errors import InputError, Problem, SmallSampleWarning, ValidationError

__all__ = ["DETRACTOR_MAX", "NPSResult", "PROMOTER_MIN", "nps", "nps_by", "nps_class_expr",
           "nps_classes", "nps_compare", "nps_difference", "nps_from_counts", "nps_items",
           "nps_trend"]

MIN_SAMPLE = 30
#: Reichheld's classes of the 0-10 answer: promoters 9-10, passives 7-8, detractors 0-6.
PROMOTER_MIN = 9
DETRACTOR_MAX = 6


@dataclass(frozen=True)
class NPSResult:
    """NPS of one group, on the -100..100 scale."""

    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float
    se: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_row(cls, row) -> NPSResult:
        """The result held in a row (mapping or Series) of an NPS table."""
        return cls(**{f: row[f] for f in cls.__dataclass_fields__})


def _answers(values: pd.Series | np.ndarray | list, source: str = "answers") -> np.ndarray:
    """Check 0-10 whole-number answers (missing ones are dropped), naming bad rows."""
    s = pd.Series(values).reset_index(drop=True)
    num = pd.to_numeric(s, errors="coerce")
    bad = (num.isna() & s.notna()) | (num.notna() & ((num < 0) | (num > 10) | (num % 1 != 0)))
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        problems = [Problem(int(r) + 1, source, s.iloc[r], "a whole number from 0 to 10")
                    for r in rows[:10]]
        raise ValidationError(source, "NPS", problems, len(rows), hint=(
            "NPS needs the 0-10 'likely to recommend' answer; leave non-answers empty."))
    return num.dropna().to_numpy(dtype=float)


def nps_classes(values) -> pd.Series:
    """``promoter`` (9-10), ``passive`` (7-8) or ``detractor`` (0-6) per answer; NaN stays NaN."""
    s = pd.to_numeric(pd.Series(values), errors="coerce")
    _answers(s)
    out = pd.Series(np.where(s >= PROMOTER_MIN, "promoter",
                             np.where(s > DETRACTOR_MAX, "passive", "detractor")),
                    index=s.index, dtype=object)
    return out.where(s.notna())


def nps_items(items):
    """The 0-10 NPS items of a survey_items table (construct ``nps``, any case): an Ibis
    table of (survey, item)."""
    return items.filter((items.construct.lower() == "nps") & (items.scale_min == 0)
                        & (items.scale_max == 10)).select("survey", "item")


def nps_class_expr(answer):
    """`nps_classes` as an Ibis expression over a column of 0-10 answers (null stays null)."""
    import ibis

    return ibis.cases((answer >= PROMOTER_MIN, "promoter"), (answer > DETRACTOR_MAX, "passive"),
                      (answer.notnull(), "detractor"), else_=ibis.null("string"))


def nps(values, confidence: float = 0.95, source: str = "answers") -> NPSResult:
    """NPS, its standard error and normal-approximation interval from 0-10 answers.

    >>> r = nps([10] * 100 + [8] * 60 + [3] * 40)
    >>> round(r.nps, 1), round(r.se, 2), round(r.ci_low, 1), round(r.ci_high, 1)
    (30.0, 5.52, 19.2, 40.8)
    """
    x = _answers(values, source)
    if x.size == 0:
        raise InputError(f"{source}: no answers, so no NPS")
    return nps_from_counts(x.size, int(np.sum(x >= PROMOTER_MIN)),
                           int(np.sum(x <= DETRACTOR_MAX)), confidence)


def nps_from_counts(n: int, promoters: int, detractors: int,
                    confidence: float = 0.95) -> NPSResult:
    """NPS, standard error and interval from the counts of answers, promoters, detractors.

    >>> round(nps_from_counts(200, 100, 40).nps, 1)
    30.0
    """
    if n <= 0 or promoters < 0 or detractors < 0 or promoters + detractors > n:
        raise InputError(f"counts must satisfy 0 <= promoters + detractors <= n, n > 0; got "
                         f"n={n}, promoters={promoters}, detractors={detractors}")
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    se = 100 * np.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    z = stats.norm.ppf(0.5 + confidence / 2)
    return NPSResult(n, promoters, n - promoters - detractors, detractors, float(score),
                     float(se), float(max(score - z * se, -100.0)),
                     float(min(score + z * se, 100.0)))


def nps_difference(a: NPSResult, b: NPSResult) -> dict:
    """z test of NPS(a) - NPS(b) for independent samples: difference, se, z, two-sided p."""
    diff = a.nps - b.nps
    se = float(np.hypot(a.se, b.se))
    if se == 0:
        z = 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    else:
        z = diff / se
    return {"difference": diff, "se": se, "z": z, "p_value": float(2 * stats.norm.sf(abs(z)))}


def _small(groups: list, counts: list[int], min_n: int, what: str) -> None:
    small = [f"{g} (n={c})" for g, c in zip(groups, counts, strict=True) if c < min_n]
    if small:
        warnings.warn(f"{len(small)} {what} below the minimum sample of {min_n}: "
                      f"{', '.join(map(str, small))}; their NPS is too uncertain to compare",
                      SmallSampleWarning, stacklevel=3)


def nps_by(data: pd.DataFrame, column: str, by: str | None = None, *,
           confidence: float = 0.95, min_n: int = MIN_SAMPLE) -> pd.DataFrame:
    """NPS per group of ``by`` (or overall), with ``small_sample`` flags and a warning.

    Columns: group, n, promoters, passives, detractors, nps, se, ci_low, ci_high,
    small_sample.
    """
    for col in (column, by):
        if col is not None and col not in data.columns:
            raise InputError(f"no column '{col}'; columns are {list(map(str, data.columns))}")
    _answers(data[column], column)  # whole-file check, so rows are numbered in file order
    if by is None:
        parts = [("all", data[column])]
    else:
        parts = [(g, frame[column]) for g, frame in data.groupby(by, sort=True, dropna=False)]
    rows = []
    for group, values in parts:
        rows.append({"group": group if not pd.isna(group) else "(missing)",
                     **nps(values, confidence, column).to_dict()})
    out = pd.DataFrame(rows)
    out["small_sample"] = out["n"] < min_n
    _small(list(out["group"]), list(out["n"]), min_n, "group(s)")
    return out


def nps_trend(data: pd.DataFrame, column: str, date: str, *, confidence: float = 0.95,
              min_n: int = MIN_SAMPLE) -> pd.DataFrame:
    """NPS per calendar month, with the z test of each month against the month before.

    Columns: month (YYYY-MM), the `nps_by` columns, change, z, p_value (NaN for the first
    month or a month after a gap).
    """
    if date not in data.columns:
        raise InputError(f"no column '{date}'; columns are {list(map(str, data.columns))}")
    when = pd.to_datetime(data[date], errors="coerce")
    if when.isna().any():
        row = int(np.flatnonzero(when.isna().to_numpy())[0]) + 1
        raise InputError(f"column '{date}', row {row}: {data[date].iloc[row - 1]!r} is not a "
                         "date; expected e.g. 2024-03-31")
    month = when.dt.to_period("M").astype(str)
    frame = data.assign(month=month)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallSampleWarning)
        out = nps_by(frame, column, "month", confidence=confidence, min_n=min_n)
    out = out.rename(columns={"group": "month"})
    periods = pd.PeriodIndex(out["month"], freq="M")
    change, z, p = [np.nan], [np.nan], [np.nan]
    for k in range(1, len(out)):
        if (periods[k] - periods[k - 1]).n != 1:
            change.append(np.nan), z.append(np.nan), p.append(np.nan)
            continue
        res = [NPSResult.from_row(out.iloc[i]) for i in (k, k - 1)]
        test = nps_difference(*res)
        change.append(test["difference"]), z.append(test["z"]), p.append(test["p_value"])
    out["change"], out["z"], out["p_value"] = change, z, p
    for w in caught:
        warnings.warn(str(w.message).replace("group(s)", "month(s)"), SmallSampleWarning,
                      stacklevel=2)
    return out


def nps_compare(table: pd.DataFrame, a: str, b: str) -> dict:
    """z test of NPS(a) - NPS(b) between two rows of an NPS table (`nps_by`, `nps_trend`,
    ``ws.survey.nps``): a, b, nps_a, nps_b, n_a, n_b, difference, se, z, p_value.

    ``a`` and ``b`` name a group, or a month (YYYY-MM) of a table by month only.
    """
    col = "group" if "group" in table.columns else "month" if "month" in table.columns else None
    if col is None or ("group" in table.columns and "month" in table.columns):
        raise InputError("compare two groups (--by) or two months (--month), not both or none")
    known = [str(v) for v in table[col]]
    rows = []
    for name in (a, b):
        if name not in known:
            raise InputError(f"no {col} '{name}' to compare; the {col}s are {', '.join(known)}")
        rows.append(table.iloc[known.index(name)])
    test = nps_difference(NPSResult.from_row(rows[0]), NPSResult.from_row(rows[1]))
    return {"a": a, "b": b, "nps_a": float(rows[0]["nps"]), "nps_b": float(rows[1]["nps"]),
            "n_a": int(rows[0]["n"]), "n_b": int(rows[1]["n"]), **test}
