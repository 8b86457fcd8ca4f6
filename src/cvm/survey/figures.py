"""Plotly figures of survey results: importance-performance map, NPS, says vs does."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

__all__ = ["importance_performance_figure", "nps_figure", "says_vs_does_figure"]


def importance_performance_figure(table: pd.DataFrame, label: str | None = None,
                                  title: str = "Importance-performance map") -> go.Figure:
    """Scatter of importance (x) against performance (y, 0-100) with the quadrant lines.

    ``table`` is the output of `cvm.survey.drivers.ipma` (label column ``construct``) or of
    `key_drivers` (label column ``driver``; flagged drivers are left out). The dashed lines
    are at the mean importance and mean performance; improve first what is important and
    performs below average (bottom right).
    """
    label = label or ("construct" if "construct" in table.columns else "driver")
    shown = table.dropna(subset=["importance", "performance"])
    x_mid = float(shown["importance"].mean())
    y_mid = float(shown["performance"].mean())
    fig = go.Figure(go.Scatter(
        x=shown["importance"], y=shown["performance"], mode="markers+text",
        text=shown[label], textposition="top center", name=label,
        hovertemplate="%{text}<br>importance %{x:.3f}<br>performance %{y:.1f}<extra></extra>"))
    fig.add_vline(x=x_mid, line_dash="dash", line_color="grey")
    fig.add_hline(y=y_mid, line_dash="dash", line_color="grey")
    fig.add_annotation(x=shown["importance"].max(), y=shown["performance"].min(),
                       text="concentrate here", showarrow=False, xanchor="right",
                       yanchor="bottom", font={"color": "firebrick"})
    fig.update_layout(title=title, xaxis_title="importance", yaxis_title="performance (0-100)",
                      template="plotly_white")
    return fig


def nps_figure(table: pd.DataFrame, title: str = "NPS") -> go.Figure:
    """NPS with its interval per group (bars), or per month (a line per group).

    ``table`` is the output of `nps_by`, `nps_trend` or `workspace_nps`; small groups
    (``small_sample``) are drawn paler.
    """
    err = {"type": "data", "symmetric": False}
    fig = go.Figure()
    if "month" in table.columns:
        parts = table.groupby("group", sort=True) if "group" in table.columns \
            else [("NPS", table)]
        for name, part in parts:
            fig.add_trace(go.Scatter(
                x=part["month"], y=part["nps"], mode="lines+markers", name=str(name),
                error_y=dict(err, array=part["ci_high"] - part["nps"],
                             arrayminus=part["nps"] - part["ci_low"])))
        fig.update_layout(xaxis_title="month")
    else:
        labels = table["group"].astype(str) if "group" in table.columns else ["all"]
        small = table.get("small_sample", pd.Series(False, index=table.index))
        fig.add_trace(go.Bar(
            x=list(labels), y=table["nps"], marker_opacity=[0.4 if s else 1.0 for s in small],
            error_y=dict(err, array=table["ci_high"] - table["nps"],
                         arrayminus=table["nps"] - table["ci_low"]),
            customdata=table["n"], hovertemplate="%{x}: NPS %{y:.1f} (n %{customdata})"
            "<extra></extra>"))
    fig.add_hline(y=0, line_color="grey")
    fig.update_layout(title=title, yaxis_title="NPS (-100 to 100), 95% interval",
                      yaxis_range=[-100, 100], template="plotly_white")
    return fig


def says_vs_does_figure(table: pd.DataFrame, title: str = "Says vs does") -> go.Figure:
    """One panel per behaviour: its rate or mean per group with the interval."""
    from plotly.subplots import make_subplots

    behaviours = list(dict.fromkeys(table["behaviour"]))
    fig = make_subplots(rows=1, cols=len(behaviours), subplot_titles=behaviours)
    for k, b in enumerate(behaviours, start=1):
        part = table[table["behaviour"] == b]
        fig.add_trace(go.Bar(
            x=part["group"], y=part["value"], name=b, showlegend=False,
            error_y={"type": "data", "symmetric": False,
                     "array": part["ci_high"] - part["value"],
                     "arrayminus": part["value"] - part["ci_low"]}), row=1, col=k)
    fig.update_layout(title=title, template="plotly_white")
    return fig
