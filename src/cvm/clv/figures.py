"""Plotly figures of a fitted purchase model against what customers did.

Each figure has a ``*_table`` twin that returns the plotted numbers as a DataFrame (what the
tests check, and what ``--format csv`` would print). The three are the standard diagnostics of
Fader, Hardie & Lee (2005): conditional expectations against the hold-out by calibration
frequency (their Figure 5), cumulative repeat transactions tracked week by week (Figure 4), and
P(alive) over frequency and recency.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cvm.clv._inputs import as_float, compress_rows

__all__ = ["calibration_holdout_table", "calibration_holdout_figure", "tracking_table",
           "tracking_figure", "probability_alive_table", "probability_alive_figure"]


def calibration_holdout_table(model: Any, x: Any, t_x: Any, T: Any, holdout_x: Any,
                              holdout_length: float, max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and expected hold-out purchases per calibration frequency.

    Customers with ``max_frequency`` or more calibration repeat purchases share the last row
    (labelled e.g. ``"7+"``).
    """
    x_, t_, T_ = as_float("x", x), as_float("t_x", t_x), as_float("T", T)
    actual = as_float("holdout_x", holdout_x, len(x_))
    (xu, tu, Tu), _, inv = compress_rows([x_, t_, T_])
    expected = model.conditional_expected_purchases(holdout_length, xu, tu, Tu)[inv]
    group = np.minimum(x_, max_frequency).astype(int)
    frame = pd.DataFrame({"frequency": group, "actual": actual, "expected": expected})
    out = frame.groupby("frequency").agg(customers=("actual", "size"),
                                         actual=("actual", "mean"),
                                         expected=("expected", "mean")).reset_index()
    out["frequency"] = [f"{f}+" if f == max_frequency else str(f) for f in out.frequency]
    return out


def calibration_holdout_figure(model: Any, x: Any, t_x: Any, T: Any, holdout_x: Any,
                               holdout_length: float, max_frequency: int = 7) -> go.Figure:
    """Grouped bars: mean hold-out purchases, actual vs model, by calibration frequency."""
    t = calibration_holdout_table(model, x, t_x, T, holdout_x, holdout_length, max_frequency)
    fig = go.Figure([go.Bar(name="actual", x=t.frequency, y=t.actual),
                     go.Bar(name=type(model).__name__, x=t.frequency, y=t.expected)])
    fig.update_layout(barmode="group", xaxis_title="repeat purchases in calibration",
                      yaxis_title=f"mean purchases in the next {holdout_length:g} periods",
                      title="Calibration vs hold-out")
    return fig


def tracking_table(model: Any, first_purchase: Any, repeat_times: Any,
                   until: float, step: float = 1.0) -> pd.DataFrame:
    r"""Cumulative repeat transactions of a cohort, actual and expected, at t = step, 2 step ...

    ``first_purchase``: each customer's first purchase time; ``repeat_times``: the time of
    every repeat transaction (same clock). Expected at calendar time t:
    :math:`\sum_i E[X(t - b_i)]` over customers born before t.
    """
    births = as_float("first_purchase", first_purchase)
    repeats = np.sort(as_float("repeat_times", repeat_times))
    grid = np.arange(step, until + step / 2, step)
    ages, counts = np.unique(births, return_counts=True)
    expected = np.array([
        float(counts[ages < t] @ model.expected_purchases(t - ages[ages < t]))
        if np.any(ages < t) else 0.0 for t in grid])
    actual = np.searchsorted(repeats, grid, side="right").astype(float)
    return pd.DataFrame({"time": grid, "actual": actual, "expected": expected})


def tracking_figure(model: Any, first_purchase: Any, repeat_times: Any, until: float,
                    step: float = 1.0, calibration_end: float | None = None) -> go.Figure:
    """Lines: cumulative repeat transactions, actual vs model; a dashed line at calibration end."""
    t = tracking_table(model, first_purchase, repeat_times, until, step)
    fig = go.Figure([go.Scatter(name="actual", x=t.time, y=t.actual, mode="lines"),
                     go.Scatter(name=type(model).__name__, x=t.time, y=t.expected,
                                mode="lines", line={"dash": "dot"})])
    if calibration_end is not None:
        fig.add_vline(x=calibration_end, line_dash="dash", annotation_text="calibration end")
    fig.update_layout(xaxis_title="time", yaxis_title="cumulative repeat transactions",
                      title="Tracking cumulative repeat transactions")
    return fig


def probability_alive_table(model: Any, T: float, max_frequency: int = 20,
                            recency_points: int = 40) -> pd.DataFrame:
    """P(alive) for customers of age T over a grid of frequency (rows) and recency (columns)."""
    freq = np.arange(max_frequency + 1, dtype=float)
    rec = np.linspace(0, T, recency_points + 1)[1:]
    xx, rr = np.meshgrid(freq, rec, indexing="ij")
    rr = np.where(xx == 0, 0.0, rr)
    p = model.probability_alive(xx.ravel(), rr.ravel(), np.full(xx.size, float(T)))
    return pd.DataFrame(p.reshape(xx.shape), index=pd.Index(freq.astype(int), name="frequency"),
                        columns=pd.Index(np.round(rec, 4), name="recency"))


def probability_alive_figure(model: Any, T: float, max_frequency: int = 20,
                             recency_points: int = 40) -> go.Figure:
    """Heatmap of P(alive) by frequency and recency for customers of age T."""
    t = probability_alive_table(model, T, max_frequency, recency_points)
    fig = go.Figure(go.Heatmap(z=t.to_numpy(), x=t.columns, y=t.index, zmin=0, zmax=1,
                               colorbar={"title": "P(alive)"}))
    fig.update_layout(xaxis_title="recency (time of last purchase)",
                      yaxis_title="repeat purchases", title=f"P(alive) at age {T:g}")
    return fig
