"""Plotly figures of a fitted purchase model against what customers did.

Each figure has a ``*_table`` twin that returns the plotted numbers as a DataFrame (what the
tests check, and what ``--format csv`` would print). The three are the standard diagnostics of
Fader, Hardie & Lee (2005): conditional expectations against the hold-out by calibration
frequency (their Figure 5), cumulative repeat transactions tracked week by week (Figure 4), and
P(alive) over frequency and recency. The fourth is for a manager: how customers' lifetime
values spread and how much of the total the top customers hold (`clv_distribution_figure`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cvm.clv._inputs import as_float, compress_rows
from cvm.errors import InputError

__all__ = ["calibration_holdout_table", "calibration_holdout_figure", "tracking_table",
           "tracking_figure", "probability_alive_table", "probability_alive_figure",
           "clv_bands_table", "clv_top_shares_table", "clv_distribution_figure"]


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


#: The top shares of customers whose share of total CLV `clv_top_shares_table` reports.
TOP_SHARES = (0.01, 0.05, 0.20)


def _clv_values(clv: Any) -> np.ndarray:
    values = as_float("clv", clv)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(f"clv: {int(bad.sum())} value(s) missing, infinite or negative; "
                         "expected each customer's lifetime value (>= 0)")
    return values


def _steps_125(low: float, high: float) -> list[float]:
    """The numbers 1, 2, 5 x 10^k from the largest one <= ``low`` to the smallest >= ``high``."""
    out: list[float] = []
    k = math.floor(math.log10(low))
    while not out or out[-1] < high:
        for m in (1, 2, 5):
            v = float(f"{m}e{k}")  # exact decimal: 5e-1 is 0.5, not 5 * 0.1
            if v <= low:
                out = [v]
            elif out:
                out.append(v)
            if out and out[-1] >= high:
                break
        k += 1
    return out


def _number(v: float) -> str:
    return f"{v:,.10g}"


def clv_bands_table(clv: Any, decades: int = 3) -> pd.DataFrame:
    """Customers and their total CLV per band of CLV, the bands on a 1-2-5 scale (each
    edge 2 or 2.5 times the one before: equal steps on a log axis).

    The top edge is the smallest 1-2-5 number at or above the largest CLV; the bands reach
    down ``decades`` powers of ten below it, or to the smallest positive CLV if that is
    higher. Bands hold low <= CLV < high (the last also its top edge); the first band,
    from 0, holds every CLV under the lowest edge (zero included) and is left out when
    empty. Columns: band, low, high, customers, customer_share, clv, clv_share.
    """
    values = _clv_values(clv)
    n, total = len(values), float(values.sum())
    positive = values[values > 0]
    if positive.size == 0:
        edges = [0.0, 0.0]
    else:
        top = _steps_125(positive.max(), positive.max())[-1]
        low = max(float(positive.min()), top / 10 ** decades)
        edges = [0.0, *_steps_125(low, top)]
    rows = []
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        last = i == len(edges) - 2
        inside = (values >= lo) & ((values <= hi) if last else (values < hi))
        if i == 0 and not inside.any() and not last:
            continue
        label = (f"under {_number(hi)}" if i == 0 and not last
                 else f"{_number(lo)} to {_number(hi)}")
        rows.append({"band": label, "low": lo, "high": hi, "customers": int(inside.sum()),
                     "customer_share": inside.sum() / n if n else math.nan,
                     "clv": float(values[inside].sum()),
                     "clv_share": values[inside].sum() / total if total else math.nan})
    return pd.DataFrame(rows, columns=["band", "low", "high", "customers", "customer_share",
                                       "clv", "clv_share"])


def clv_top_shares_table(clv: Any, shares: tuple[float, ...] = TOP_SHARES) -> pd.DataFrame:
    """The share of total CLV held by the top 1%, 5% and 20% of customers (``shares``).

    The top p of n customers are the ceil(p n) with the highest CLV (as the value tiers
    count them; ties do not change the sum). Columns: top, customer_share, customers, clv,
    clv_share.
    """
    values = np.sort(_clv_values(clv))[::-1]
    n, total = len(values), float(values.sum())
    rows = []
    for p in shares:
        k = math.ceil(Fraction(str(p)) * n)
        held = float(values[:k].sum())
        rows.append({"top": f"top {p * 100:g}%", "customer_share": p, "customers": k,
                     "clv": held, "clv_share": held / total if total else math.nan})
    return pd.DataFrame(rows, columns=["top", "customer_share", "customers", "clv",
                                       "clv_share"])


def clv_distribution_figure(clv: Any, currency: str = "", decades: int = 3,
                            title: str = "Customer lifetime value") -> go.Figure:
    """Above: the share of customers and the share of total CLV in each CLV band
    (`clv_bands_table`); below: the share of total CLV the top 1%, 5% and 20% of customers
    hold (`clv_top_shares_table`). The title gives the customers, total and median."""
    from plotly.subplots import make_subplots

    values = _clv_values(clv)
    bands = clv_bands_table(values, decades)
    top = clv_top_shares_table(values)
    unit = f" {currency}" if currency else ""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.62, 0.38], vertical_spacing=0.2,
                        subplot_titles=("Customers and CLV by CLV band",
                                        "Share of total CLV held by the top customers"))
    counts = np.column_stack([bands.customers, bands.clv]).tolist()
    fig.add_trace(go.Bar(
        name="share of customers", x=bands.band.tolist(), y=bands.customer_share.tolist(),
        customdata=counts, hovertemplate="CLV %{x}: %{customdata[0]:,} customers "
        "(%{y:.1%})<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(
        name="share of total CLV", x=bands.band.tolist(), y=bands.clv_share.tolist(),
        customdata=counts, hovertemplate="CLV %{x}: %{customdata[1]:,.0f}" + unit
        + " in total (%{y:.1%})<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(
        name="top customers", orientation="h", x=top.clv_share.tolist(), y=top.top.tolist(),
        text=[f"{s:.0%} of total CLV ({k:,} customer{'' if k == 1 else 's'})"
              for s, k in zip(top.clv_share, top.customers, strict=True)],
        textposition="outside", cliponaxis=False, showlegend=False,
        hovertemplate="%{y}: CLV %{customdata:,.0f}" + unit + "<extra></extra>",
        customdata=top.clv.tolist()), row=2, col=1)
    total = float(values.sum())
    median = float(np.median(values)) if values.size else math.nan
    fig.update_layout(
        title=f"{title}: {len(values):,} customers, {total:,.0f}{unit} in total, median "
              f"{median:,.2f}{unit}", barmode="group", height=720, margin={"t": 120})
    fig.update_xaxes(title_text=f"CLV{unit} (bands in 1-2-5 steps: a log scale)", row=1,
                     col=1)
    fig.update_yaxes(tickformat=".0%", title_text="share", row=1, col=1)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.35], tickvals=[0, 0.2, 0.4, 0.6, 0.8, 1],
                     row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=2, col=1)
    return fig
