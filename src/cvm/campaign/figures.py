"""Figures of campaign evaluation a manager reads: the Qini curve of an uplift model
against random targeting, and each period's mean of a treated and a comparison group
around a launch. Plotly figures (imported on demand: Plotly is heavy)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["did_figure", "qini_figure"]


def qini_figure(curve: pd.DataFrame, title: str = "Qini curve") -> go.Figure:
    """Incremental outcomes against the share of customers targeted, highest predicted
    uplift first, with the line of targeting at random (`UpliftModel.qini_`)."""
    fig = go.Figure([
        go.Scatter(x=curve["fraction"], y=curve["incremental"], mode="lines",
                   name="by predicted uplift"),
        go.Scatter(x=curve["fraction"], y=curve["random"], mode="lines",
                   name="at random", line={"dash": "dot"}),
    ])
    fig.update_layout(title=title, xaxis_tickformat=".0%",
                      xaxis_title="share of customers targeted",
                      yaxis_title="incremental outcomes (Qini)")
    return fig


def did_figure(periods: pd.DataFrame, title: str = "Before and after the launch"
               ) -> go.Figure:
    """Each period's mean of every arm and of the comparison group, one panel line per
    arm and outcome (`DidResult.periods`); the first period after the launch is marked."""
    fig = go.Figure()
    for (arm, outcome), part in periods.groupby(["arm", "outcome"], sort=False):
        label = f"{outcome}: {arm}"
        fig.add_trace(go.Scatter(x=part["period"].astype(str), y=part["mean"],
                                 mode="lines+markers", name=label))
        fig.add_trace(go.Scatter(x=part["period"].astype(str), y=part["control_mean"],
                                 mode="lines+markers", name=f"{outcome}: comparison",
                                 line={"dash": "dot"}))
    first_after = periods.loc[periods["after_launch"], "period"]
    if len(first_after):
        fig.add_vline(x=str(first_after.iloc[0]), line_dash="dash", line_color="grey")
    fig.update_layout(title=title, xaxis_title="period", yaxis_title="mean per unit",
                      xaxis_type="category")
    return fig
