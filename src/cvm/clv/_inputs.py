"""Input handling shared by the models: validation that names customers, row compression."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cvm.errors import InputError

__all__ = ["as_float", "check_rfm", "check_weights", "compress_rows", "customer_labels"]

_MAX_SHOWN = 10


def compress_rows(columns: Sequence[np.ndarray], weights: np.ndarray | None = None
                  ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Unique rows of the stacked columns, their summed weights and the inverse index.

    Real repeat-purchase summaries have far fewer distinct ``(x, t_x, T)`` rows than customers,
    so likelihoods and scores are computed once per distinct row. Each column is coded by
    hashing (`pandas.factorize`, O(n) rather than a sort; a column of small whole numbers, such
    as purchase counts, is its own code). The codes are combined into one mixed-radix key; when
    the key space is small (at most a few times the number of rows, as in real summaries) the
    distinct keys are found by counting into it, else by hashing the key. Unique rows come out
    in key order.
    """
    cols = [np.asarray(c, dtype=float).reshape(-1) for c in columns]
    n = len(cols[0])
    codes, levels = [], []
    for c in cols:
        cc, lv = _column_codes(c)
        codes.append(cc)
        levels.append(lv)
    sizes = [max(len(lv), 1) for lv in levels]
    space = float(np.prod(np.array(sizes, dtype=float)))
    if n and space <= max(4 * n, 1 << 16):
        key = codes[0].astype(np.int64)
        for cc, size in zip(codes[1:], sizes[1:], strict=True):
            key *= size
            key += cc
        per_key = np.bincount(key, minlength=int(space))
        keys = np.flatnonzero(per_key > 0)  # a bool scan is ~3x faster than an int64 one
        if weights is None:
            counts = per_key[keys].astype(float)
        else:
            counts = np.bincount(key, weights=np.asarray(weights, dtype=float),
                                 minlength=int(space))[keys]
        slot = np.empty(int(space), dtype=np.int64)  # read back only at the occupied keys
        slot[keys] = np.arange(len(keys))
        inverse = slot[key]
        out = []
        for lv, size in zip(levels[::-1], sizes[::-1], strict=True):
            out.append(lv[keys % size])
            keys = keys // size
        return out[::-1], counts, inverse
    inverse = np.zeros(n, dtype=np.int64)
    groups = 1
    for cc, size in zip(codes, sizes, strict=True):
        inverse, found = pd.factorize(inverse * size + cc)
        groups = len(found)
    first = np.empty(groups, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    counts = np.bincount(inverse, weights=w, minlength=groups)
    return [c[first] for c in cols], counts, inverse


_GRIDS = (1.0, 7.0, 12.0, 24.0, 52.0, 365.0)  # whole units, and weeks/months/... of smaller ones


def _column_codes(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column's values and the value of each code.

    A column of whole numbers, or of multiples of 1/k for a common k (recency and T in weeks
    computed from days are multiples of 1/7), spanning a small range is coded arithmetically:
    the code of v is ``round(v * k) - min``, kept only if every ``code / k`` gives back the
    stored value exactly. Anything else is coded by hashing (`pandas.factorize`).
    """
    head = c[:1024]
    for k in _GRIDS if len(c) else ():
        scaled_head = head * k
        if not np.array_equal(scaled_head, np.round(scaled_head)) and not np.allclose(
                scaled_head, np.round(scaled_head), rtol=0, atol=1e-9):
            continue
        lo, hi = float(c.min()), float(c.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            break
        lo_k = round(lo * k)
        if round(hi * k) - lo_k > 4 * len(c) + 1024:
            break
        scaled = np.rint(c * k) if k != 1 else c
        as_int = (scaled - lo_k).astype(np.int64)
        levels = (lo_k + np.arange(int(as_int.max(initial=0)) + 1, dtype=float)) / k
        if np.array_equal(levels[as_int], c):  # every value is exactly its grid point
            return as_int, levels
        break
    cc, lv = pd.factorize(c, use_na_sentinel=False)
    return cc.astype(np.int64, copy=False), np.asarray(lv, dtype=float)


def customer_labels(values: Any) -> np.ndarray | None:
    """Customer identifiers for messages: a pandas index if given one, else None (row numbers
    are then named, as "row 0", "row 1", ..., only when a message needs them)."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return np.asarray(values.index)
    return None


def _name_some(labels: np.ndarray | None, mask: np.ndarray) -> str:
    if labels is None:
        bad = np.array([f"row {i}" for i in np.flatnonzero(mask)[:_MAX_SHOWN]], dtype=object)
        bad = np.concatenate([bad, np.empty(int(mask.sum()) - len(bad), dtype=object)])
    else:
        bad = labels[mask]
    shown = ", ".join(str(b) for b in bad[:_MAX_SHOWN])
    more = f" and {len(bad) - _MAX_SHOWN} more" if len(bad) > _MAX_SHOWN else ""
    one = len(bad) == 1
    return f"{len(bad)} customer{'' if one else 's'} ({shown}{more}) {'has' if one else 'have'}"


def as_float(name: str, values: Any, n: int | None = None) -> np.ndarray:
    """A 1-d float array, or an `InputError` naming the argument."""
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected numbers, got {type(values).__name__}") from None
    if n is not None and len(arr) != n:
        raise InputError(f"{name}: expected {n} values (one per customer), got {len(arr)}")
    return arr


def check_weights(weights: Any, n: int, labels: np.ndarray | None) -> np.ndarray | None:
    """Validated non-negative finite weights (counts of customers per row), or None."""
    if weights is None:
        return None
    w = as_float("weights", weights, n)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise InputError(f"weights: {_name_some(labels, bad)} a negative or missing weight; "
                         "expected the number of customers each row stands for (>= 0).")
    if w.sum() <= 0:
        raise InputError("weights: all weights are zero; nothing to fit.")
    return w


def check_rfm(x: Any, t_x: Any, T: Any, *, labels: np.ndarray | None = None,
              discrete: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a repeat-purchase summary: frequency x, recency t_x and age T per customer.

    Rejects, naming the customers: missing values, negative or non-integer ``x``,
    ``t_x > T``, ``x > 0`` with ``t_x = 0``, ``x = 0`` with ``t_x > 0``, negative values,
    and (``discrete``) ``x > t_x`` or non-integer periods.

    Raises
    ------
    InputError
        With the number of offending customers, the first ten of them, and what was expected.
    """
    if labels is None:
        labels = customer_labels(x)
    x_ = as_float("frequency (x)", x)
    n = len(x_)
    t_ = as_float("recency (t_x)", t_x, n)
    T_ = as_float("age (T)", T, n)
    rules = [
        (~(np.isfinite(x_) & np.isfinite(t_) & np.isfinite(T_)),
         "a missing or infinite frequency, recency or T"),
        (np.isfinite(x_) & ((x_ < 0) | (x_ != np.round(x_))),
         "a negative or non-integer frequency x; expected a count of repeat purchases"),
        ((t_ < 0) | (T_ < 0), "a negative recency t_x or age T"),
        (t_ > T_, "recency t_x greater than age T; expected 0 <= t_x <= T "
                  "(is the calibration end before a purchase, or are the units mixed?)"),
        ((x_ > 0) & (t_ == 0), "x > 0 repeat purchases but recency t_x = 0; expected "
                               "t_x > 0, the time from first to last purchase"),
        ((x_ == 0) & (t_ > 0), "x = 0 repeat purchases but recency t_x > 0; expected "
                               "t_x = 0 for customers with no repeat purchase"),
    ]
    if discrete:
        rules += [
            ((t_ != np.round(t_)) | (T_ != np.round(T_)),
             "a non-integer recency or number of periods; expected whole periods"),
            (x_ > t_, "more transactions x than their recency t_x (the period of the last "
                      "one); expected x <= t_x"),
        ]
    problems = [f"{_name_some(labels, mask)} {text}" for mask, text in rules if mask.any()]
    if problems:
        raise InputError("invalid repeat-purchase summary: " + "; ".join(problems) + ".")
    return x_, t_, T_
