"""Loyalty classes (loyal / general / drifting) and Oliver's four loyalty levels.

**Classes.** Source document 000 sorts customers into 忠诚客户 loyal, 一般客户 general and
游离客户 drifting "by behavioural intention" (从行为意愿上来讲): a loyal customer says she
will keep using the service, even use more of it, and introduce it to others. Stated
intention is the mean of the intention items rescaled to 0-100 (recommend, repurchase and
use-more as given, "would switch" reversed). Two views, side by side:

* ``intention_class``, the documents' classes from what she says alone: loyal when
  intention >= ``loyal_intention``, drifting when it is < ``drifting_intention``, general
  otherwise;
* ``checked_class``, that class checked against what she does (cvm's addition, after Dick &
  Basu 1994, "Customer loyalty: toward an integrated conceptual framework", J. Academy of
  Marketing Science 22(2): loyalty is attitude *and* repeat patronage), when behaviour
  columns are given (repeat-purchase rate, tenure in months, days since the last purchase):
  loyal only if she also has repeat rate >= ``loyal_min_repeat``, tenure >=
  ``loyal_min_tenure_months`` and recency <= ``drifting_recency_days``; drifting when she
  says so or has not bought for more than ``drifting_recency_days``; general otherwise.
  Without behaviour columns it equals the intention class;
* ``says_vs_does``: "consistent" when the two agree, else e.g. "says loyal, does general".

**Levels** (Oliver 1999, "Whence consumer loyalty?", J. Marketing 63: cognitive -> affective ->
conative -> action; source document 003: 认知, 情感, 意向, 行为). Each level's score is the
mean of its items on 0-100; the level attained is the last one of the sequence whose score,
and every earlier one's, reaches ``level_threshold`` ("none" if the cognitive level does not).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from cvm.config import SurveySettings
from cvm.errors import InputError

__all__ = ["LEVELS", "loyalty_classes", "loyalty_levels"]

LEVELS = ("cognitive", "affective", "conative", "action")


def _rescaled(data: pd.DataFrame, items: Sequence[str], scale: tuple[float, float],
              reverse: bool = False) -> pd.DataFrame:
    missing = [c for c in items if c not in data.columns]
    if missing:
        raise InputError(f"column(s) {missing} are not in the data")
    lo, hi = scale
    out = data[list(items)].apply(pd.to_numeric, errors="coerce")
    bad = (out < lo) | (out > hi) | (out.isna() & data[list(items)].notna())
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        value = data[items[c]].iloc[r]
        value = value.item() if isinstance(value, np.generic) else value
        raise InputError(f"row {r + 1}, item '{items[c]}': {value!r} is not "
                         f"a number from {lo:g} to {hi:g}")
    z = 100 * (out - lo) / (hi - lo)
    return 100 - z if reverse else z


def loyalty_classes(data: pd.DataFrame, *, recommend: Sequence[str] = (),
                    repurchase: Sequence[str] = (), use_more: Sequence[str] = (),
                    switch: Sequence[str] = (),
                    scale: tuple[float, float] = (0, 10), repeat_rate: str | None = None,
                    tenure_months: str | None = None, recency_days: str | None = None,
                    settings: SurveySettings | None = None) -> pd.DataFrame:
    """Intention score (0-100) and classes of each respondent; see the module docstring.

    Returns the columns intention, intention_class, checked_class and says_vs_does (all
    empty for a respondent without an intention answer).
    """
    s = settings or SurveySettings()
    items = [*recommend, *repurchase, *use_more]
    if not items and not switch:
        raise InputError("give at least one intention item (recommend, repurchase, use_more "
                         "or switch)")
    parts = []
    if items:
        parts.append(_rescaled(data, items, scale))
    if switch:
        parts.append(_rescaled(data, list(switch), scale, reverse=True))
    intention = pd.concat(parts, axis=1).mean(axis=1)
    said = np.where(intention >= s.loyal_intention, "loyal",
                    np.where(intention < s.drifting_intention, "drifting", "general"))
    behaves = pd.Series(True, index=data.index)
    lapsed = pd.Series(False, index=data.index)
    for col, ok in ((repeat_rate, lambda v: v >= s.loyal_min_repeat),
                    (tenure_months, lambda v: v >= s.loyal_min_tenure_months),
                    (recency_days, lambda v: v <= s.drifting_recency_days)):
        if col is None:
            continue
        if col not in data.columns:
            raise InputError(f"behaviour column '{col}' is not in the data")
        v = pd.to_numeric(data[col], errors="coerce")
        behaves &= ok(v).fillna(False)
        if col == recency_days:
            lapsed = (v > s.drifting_recency_days).fillna(False)
    final = np.where(lapsed | (said == "drifting"), "drifting",
                     np.where((said == "loyal") & behaves, "loyal", "general"))
    final = pd.Series(final, index=data.index).where(intention.notna())
    said = pd.Series(said, index=data.index).where(intention.notna())
    verdict = np.where(said == final, "consistent", "says " + said.astype(str) + ", does "
                       + final.astype(str))
    out = pd.DataFrame({"intention": intention, "intention_class": said, "checked_class": final,
                        "says_vs_does": verdict}, index=data.index)
    out.loc[intention.isna(), "says_vs_does"] = None
    return out


def loyalty_levels(data: pd.DataFrame, levels: Mapping[str, Sequence[str]],
                   scale: tuple[float, float] = (1, 7),
                   settings: SurveySettings | None = None) -> pd.DataFrame:
    """Score (0-100) of each of Oliver's four levels and the level attained, per respondent.

    ``levels`` maps each of cognitive, affective, conative, action to its items.
    """
    s = settings or SurveySettings()
    unknown = sorted(set(levels) - set(LEVELS))
    absent = [lv for lv in LEVELS if lv not in levels]
    if unknown or absent:
        raise InputError(f"levels must be exactly {LEVELS}: missing {absent}, unknown {unknown}")
    scores = pd.DataFrame({lv: _rescaled(data, list(levels[lv]), scale).mean(axis=1)
                           for lv in LEVELS}, index=data.index)
    attained = pd.Series("none", index=data.index, dtype=object)
    ok = pd.Series(True, index=data.index)
    for lv in LEVELS:
        ok &= scores[lv] >= s.level_threshold
        attained[ok] = lv
    scores["level"] = attained.where(scores[list(LEVELS)].notna().all(axis=1))
    return scores
