"""The scores of the monthly run: each a named, versioned definition with its inputs and a
one-line meaning.

A score's ``version`` changes whenever what it computes changes, so a history that mixes
versions says so (`cvm score drift` warns). Scores per product line (``propensity_<line>``,
``share_<line>``) are families: one score per line, named by `line_key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ScoreDef", "SCORES", "line_key", "line_keys", "score_def"]


@dataclass(frozen=True)
class ScoreDef:
    """One score: ``name`` (a prefix for a per-line family), ``version``, ``kind``
    (strategic or tactical), the canonical tables it reads and what it means."""

    name: str
    version: str
    kind: str
    inputs: tuple[str, ...]
    meaning: str
    categorical: bool = False  # the value is a label (a tier, a stage, a class)
    per_line: bool = False  # one score per product line: ``<name>_<line>``


_TX = ("transactions",)
SCORES: dict[str, ScoreDef] = {s.name: s for s in [
    ScoreDef("value_tier", "1", "strategic", ("transactions", "customers", "interactions"),
             "Pareto value tier over the value window: VIP, major, ordinary or small.",
             categorical=True),
    ScoreDef("profitability", "1", "strategic", ("transactions", "interactions"),
             "Profit after cost to serve over the value window ending on the as-of day."),
    ScoreDef("lifecycle_stage", "1", "strategic", ("transactions", "customers"),
             "new, growing, mature, declining or lapsed, from tenure, recency and the spend "
             "trend (rules in docs/scoring.md).", categorical=True),
    ScoreDef("revenue_potential", "1", "strategic", _TX,
             "Discounted CLV over the CLV horizon from BG/NBD and Gamma-Gamma fitted on the "
             "history up to the as-of day."),
    ScoreDef("default_risk", "1", "strategic", ("contracts", "transactions", "interactions"),
             "Probability that the relationship ends by passive churn (arrears) in the next "
             "90 days; absent without contracts ended passive_*."),
    ScoreDef("loyalty", "1", "strategic", ("survey_responses", "survey_items", "transactions"),
             "Stated intention (0-1) of the latest survey answer, and the loyalty class "
             "(loyal, general, drifting) checked against behaviour."),
    ScoreDef("overall_risk", "1", "strategic", ("contracts", "transactions"),
             "The larger of churn_probability and default_risk: a lower bound of the "
             "probability of losing the customer either way."),
    ScoreDef("churn_probability", "1", "tactical", ("contracts", "transactions"),
             "Probability of cancelling in the next 90 days (with contracts); without "
             "contracts, of making no purchase in the 90 days after the as-of day."),
    ScoreDef("propensity", "1", "tactical", ("transactions", "customers", "interactions",
                                              "opportunity outcomes"),
             "Probability of buying the line in the 90 days after the as-of day, for "
             "customers who did not buy it in the 365 days up to it.", per_line=True),
    ScoreDef("product_depth", "1", "tactical", _TX,
             "Number of product lines bought in the 365 days up to the as-of day."),
    ScoreDef("share", "1", "tactical", _TX,
             "The line's share of the customer's spend in the 365 days up to the as-of day.",
             per_line=True),
]}


def score_def(name: str) -> ScoreDef:
    """The definition behind a stored score name (``propensity_home_garden`` ->
    ``propensity``)."""
    if name in SCORES:
        return SCORES[name]
    for prefix in ("propensity", "share"):
        if name.startswith(prefix + "_"):
            return SCORES[prefix]
    raise KeyError(name)


def line_key(line: str) -> str:
    """A product line's name in score names: lower case, each run of characters other than
    letters and digits as one ``_`` (``Home & Garden`` -> ``home_garden``)."""
    key = re.sub(r"[\W_]+", "_", str(line).lower()).strip("_")
    return key or "_"


def line_keys(lines: list[str]) -> dict[str, str]:
    """`line_key` of each line, made distinct (``a-b`` and ``a b`` -> ``a_b``, ``a_b_2``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for line in lines:
        key = base = line_key(line)
        n = 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        out[line] = key
    return out
