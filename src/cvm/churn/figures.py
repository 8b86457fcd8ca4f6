"""Plotly figures of churn: gains and lift, calibration, survival curves, cohort heatmap.

Each function takes the numbers (arrays or the tables cvm computes) and returns a
``plotly.graph_objects.Figure``; nothing is shown or written.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cvm.churn.metrics import calibration_bins, gains_curve
from cvm.errors import InputError

__all__ = ["gains_figure", "calibration_figure", "survival_figure", "cohort_heatmap",
           "reasons_figure", "rates_figure"]


def _series(p) -> dict:
    return dict(p) if isinstance(p, Mapping) else {"model": p}


def gains_figure(y, p, points: int = 10, title: str = "Cumulative gains") -> go.Figure:
    """Share of churners captured against share of customers targeted, by probability,
    with the random-targeting diagonal; the lift of each point is in its hover text.
    ``p`` is one array of probabilities or a mapping of name to array (one line each)."""
    fig = go.Figure()
    for name, probs in _series(p).items():
        g = gains_curve(y, probs, points)
        fig.add_trace(go.Scatter(x=g["share_targeted"], y=g["share_of_churners"],
                                 mode="lines+markers", name=name, customdata=g["lift"],
                                 hovertemplate="targeted %{x:.0%}<br>captured %{y:.1%}"
                                               "<br>lift %{customdata:.2f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random",
                             line={"dash": "dash"}))
    fig.update_layout(title=title, xaxis_title="share of customers targeted",
                      yaxis_title="share of churners captured",
                      xaxis_tickformat=".0%", yaxis_tickformat=".0%")
    return fig


def calibration_figure(y, p, n_bins: int = 10,
                       title: str = "Calibration") -> go.Figure:
    """Observed churn rate against mean predicted probability per equal-width bin (the
    bins of the ECE), marker size by customers, with the diagonal of perfect calibration.
    ``p`` is one array or a mapping of name to array, as in `gains_figure`."""
    fig = go.Figure()
    for name, probs in _series(p).items():
        b = calibration_bins(y, probs, n_bins)
        size = 6 + 24 * np.sqrt(b["customers"] / b["customers"].max())
        fig.add_trace(go.Scatter(x=b["mean_probability"], y=b["churn_rate"],
                                 mode="lines+markers", name=name, marker={"size": size},
                                 customdata=b["customers"],
                                 hovertemplate="predicted %{x:.1%}<br>observed %{y:.1%}"
                                               "<br>%{customdata} customers<extra></extra>"))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect",
                             line={"dash": "dash"}))
    fig.update_layout(title=title, xaxis_title="mean predicted probability",
                      yaxis_title="observed churn rate", xaxis_range=[0, 1],
                      yaxis_range=[0, 1])
    return fig


def survival_figure(curves: pd.DataFrame, title: str = "Survival of tenure") -> go.Figure:
    """Kaplan-Meier step curves, one per group, from `cvm.churn.survival.kaplan_meier`'s
    ``curves`` (each starts at survival 1 at time 0)."""
    need = {"group", "time", "survival"}
    if not need <= set(curves.columns):
        raise InputError(f"curves need the columns {sorted(need)}; got {list(curves.columns)}")
    fig = go.Figure()
    for key, g in curves.groupby("group", sort=True):
        fig.add_trace(go.Scatter(x=[0.0, *g["time"]], y=[1.0, *g["survival"]],
                                 mode="lines", line_shape="hv", name=str(key)))
    fig.update_layout(title=title, xaxis_title="tenure", yaxis_title="share still customers",
                      yaxis_range=[0, 1.02], yaxis_tickformat=".0%")
    return fig


def cohort_heatmap(cohorts: pd.DataFrame, value: str = "rate",
                   title: str = "Retention by cohort") -> go.Figure:
    """Heatmap of a cohort table (`cvm.churn.cohorts`): one row per cohort, one column
    per period since start, coloured by ``value`` (rate, active or revenue)."""
    need = {"cohort", "k", value}
    if not need <= set(cohorts.columns):
        raise InputError(f"the cohort table needs the columns {sorted(need)}; got "
                         f"{list(cohorts.columns)}")
    grid = cohorts.pivot(index="cohort", columns="k", values=value).sort_index()
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(dtype=float), x=[int(k) for k in grid.columns],
        y=[str(c) for c in grid.index], colorscale="Blues",
        hovertemplate="cohort %{y}<br>period %{x}<br>" + value + " %{z}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="periods since start", yaxis_title="cohort",
                      yaxis_autorange="reversed")
    return fig


def reasons_figure(by_reason: pd.DataFrame, value: str = "churned",
                   title: str = "Churn by reason") -> go.Figure:
    """Stacked bars of churn per period by reason, from
    `cvm.churn.churned.churn_by_reason` (``value``: churned, share or revenue_lost)."""
    need = {"period_start", "reason", value}
    if not need <= set(by_reason.columns):
        raise InputError(f"the table needs the columns {sorted(need)}; got "
                         f"{list(by_reason.columns)}")
    fig = go.Figure()
    for key, g in by_reason.groupby("reason", sort=True):
        fig.add_trace(go.Bar(x=g["period_start"], y=g[value], name=str(key)))
    fig.update_layout(title=title, barmode="stack", xaxis_title="period", yaxis_title=value)
    return fig


def rates_figure(rates: pd.DataFrame, title: str = "Retention rate by period") -> go.Figure:
    """Retention rate per period, one line per basis and group, from
    `cvm.churn.retention.retention_rates`."""
    need = {"basis", "group", "period_start", "retention_rate"}
    if not need <= set(rates.columns):
        raise InputError(f"the table needs the columns {sorted(need)}; got "
                         f"{list(rates.columns)}")
    fig = go.Figure()
    for (basis, group), g in rates.groupby(["basis", "group"], sort=True):
        fig.add_trace(go.Scatter(x=g["period_start"], y=g["retention_rate"],
                                 mode="lines+markers", name=f"{group} ({basis})"))
    fig.update_layout(title=title, xaxis_title="period", yaxis_title="retention rate",
                      yaxis_tickformat=".0%")
    return fig
