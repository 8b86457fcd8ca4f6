"""SERVQUAL gap scores and satisfaction as disconfirmation (perceived minus expected).

Each item is asked twice, what the customer expects (E) and what she perceived (P). Gap 5
of Parasuraman, Zeithaml & Berry's model is ``P - E`` per item; a dimension's gap is the
mean of its items' gaps, and the overall SERVQUAL score is the importance-weighted mean of
the five dimension gaps (tangibles, reliability, responsiveness, assurance, empathy), the
weights being e.g. the points out of 100 respondents allocate to each dimension
(Parasuraman, Zeithaml & Berry 1988, "SERVQUAL", Journal of Retailing 64(1);
1991, Journal of Retailing 67(4)).

More generally, satisfaction = perceived - expected (disconfirmation, Oliver 1980): negative
is dissatisfied, about zero satisfied, positive delighted.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cvm.errors import InputError

__all__ = ["DIMENSIONS", "disconfirmation", "servqual", "servqual_long"]

DIMENSIONS = ("tangibles", "reliability", "responsiveness", "assurance", "empathy")


def _pairs(data: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    need = {"item", "expected", "perceived"}
    if not need <= set(items.columns):
        raise InputError(f"the item table needs columns {sorted(need)} (and optionally "
                         f"dimension); got {list(items.columns)}")
    cols = [c for c in (*items["expected"], *items["perceived"]) if c not in data.columns]
    if cols:
        raise InputError(f"column(s) {cols} of the item table are not in the data")
    for col in (*items["expected"], *items["perceived"]):
        num = pd.to_numeric(data[col], errors="coerce")
        bad = num.isna() & data[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise InputError(f"row {row}, column '{col}': {data[col].iloc[row - 1]!r} is not "
                             "a number")
    return items


def disconfirmation(data: pd.DataFrame, items: pd.DataFrame, tolerance: float = 0.5
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Perceived - expected per respondent and per item.

    ``items`` has columns item, expected, perceived (data column names). Returns
    (per-respondent table: the P - E of each item, their mean ``disconfirmation`` and a
    ``verdict`` of dissatisfied / satisfied / delighted by whether the mean is below
    -tolerance, within it, or above; per-item table: item, n, expected, perceived, gap).
    Missing answers are left out pairwise.
    """
    items = _pairs(data, items)
    gaps = pd.DataFrame({
        it: pd.to_numeric(data[p], errors="coerce") - pd.to_numeric(data[e], errors="coerce")
        for it, e, p in zip(items["item"], items["expected"], items["perceived"], strict=True)},
        index=data.index)
    person = gaps.copy()
    person["disconfirmation"] = gaps.mean(axis=1)
    person["verdict"] = np.select(
        [person["disconfirmation"] < -tolerance, person["disconfirmation"] > tolerance],
        ["dissatisfied", "delighted"], "satisfied")
    person.loc[person["disconfirmation"].isna(), "verdict"] = None
    rows = []
    for it, e, p in zip(items["item"], items["expected"], items["perceived"], strict=True):
        ok = gaps[it].notna()
        rows.append({"item": it, "n": int(ok.sum()),
                     "expected": float(pd.to_numeric(data.loc[ok, e]).mean()),
                     "perceived": float(pd.to_numeric(data.loc[ok, p]).mean()),
                     "gap": float(gaps[it].mean())})
    return person, pd.DataFrame(rows)


def servqual(data: pd.DataFrame, items: pd.DataFrame,
             importance: Mapping[str, float] | None = None) -> dict[str, object]:
    """Gap 5 per item and dimension, and the unweighted and importance-weighted overall score.

    ``items``: columns item, dimension, expected, perceived. ``importance``: dimension ->
    weight (any positive numbers, normalised to sum 1; default equal weights).
    Returns ``{"items": DataFrame, "dimensions": DataFrame, "score": float,
    "weighted_score": float}``.
    """
    if "dimension" not in items.columns:
        raise InputError("the item table needs a dimension column (tangibles, reliability, "
                         "responsiveness, assurance, empathy)")
    _, per_item = disconfirmation(data, items)
    per_item.insert(1, "dimension", list(items["dimension"]))
    dims = list(dict.fromkeys(items["dimension"]))
    imp = {d: 1.0 for d in dims} if importance is None else dict(importance)
    missing = [d for d in dims if d not in imp]
    extra = [d for d in imp if d not in dims]
    if missing or extra:
        raise InputError(f"importance weights and dimensions differ: no weight for {missing}, "
                         f"weights for unknown dimensions {extra}")
    if any(v < 0 for v in imp.values()) or sum(imp.values()) <= 0:
        raise InputError("importance weights must be >= 0 with a positive sum")
    total = sum(imp.values())
    table = (per_item.groupby("dimension", sort=False)
             .agg(items=("item", "size"), expected=("expected", "mean"),
                  perceived=("perceived", "mean"), gap=("gap", "mean")).reset_index())
    table["weight"] = [imp[d] / total for d in table["dimension"]]
    table["weighted_gap"] = table["gap"] * table["weight"]
    return {"items": per_item, "dimensions": table, "score": float(table["gap"].mean()),
            "weighted_score": float(table["weighted_gap"].sum())}


def servqual_long(result: dict[str, object]) -> pd.DataFrame:
    """The items and dimensions of a `servqual` result in one table: level (item or
    dimension), name, dimension, expected, perceived, gap, weight, weighted_gap."""
    items, dims = result["items"], result["dimensions"]
    long = pd.concat([items.assign(level="item").rename(columns={"item": "name"}),
                      dims.assign(level="dimension", name=dims["dimension"])],
                     ignore_index=True)
    return long[["level", "name", "dimension", "expected", "perceived", "gap", "weight",
                 "weighted_gap"]]
